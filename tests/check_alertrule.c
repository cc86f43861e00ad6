/*
 * check_alertrule.c - the built-in alert rules and their state machine,
 * walked through hours and days of injected time: each rule fires on its
 * pattern and stays silent on the pattern it must not alert on (one 5xx in
 * an hour, every tenant failing, a steady DLQ, a stopped tenant, no
 * history), and an alert goes pending, firing, held against flapping and
 * resolved exactly once per episode.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertrule.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0 (1796000000000LL) /* some wall-clock instant */

static struct alert_params P;

static void setup(void)
{
    alertrule_defaults(&P);
}

static size_t count_rule(const struct alert_conds *c, enum alert_rule r, const char *tenant)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        k += c->v[i].rule == r && (!tenant || strcmp(c->v[i].tenant, tenant) == 0);
    return k;
}

START_TEST(server_errors_one_is_silence_five_fire)
{
    struct alert_tenant_in t[2] = {{.tenant = "acme"}, {.tenant = "beta"}};
    struct alert_conds c = {0};
    /* One 5xx every hour, for a day: never an alert. */
    for (int h = 0; h < 24; h++) {
        t[0].server_errors = 1;
        c.n = 0;
        alertrule_server_errors(&P, t, 2, &c);
        ck_assert_uint_eq(c.n, 0);
    }
    t[0].server_errors = 4;
    c.n = 0;
    alertrule_server_errors(&P, t, 2, &c);
    ck_assert_uint_eq(c.n, 0);
    /* Five for one tenant: that tenant's alert, not the overall one. */
    t[0].server_errors = 5;
    c.n = 0;
    alertrule_server_errors(&P, t, 2, &c);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_str_eq(c.v[0].tenant, "acme");
    /* Spread over two tenants: one overall alert. */
    t[0].server_errors = 3;
    t[1].server_errors = 3;
    c.n = 0;
    alertrule_server_errors(&P, t, 2, &c);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_str_eq(c.v[0].tenant, "");
    ck_assert_ptr_nonnull(strstr(c.v[0].summary, "2 tenants"));
    alert_conds_free(&c);
}
END_TEST

START_TEST(tenant_failing_only_when_others_are_normal)
{
    struct alert_tenant_in t[4] = {{.tenant = "bad", .ops = 100, .failures = 30},
                                   {.tenant = "a", .ops = 100, .failures = 0},
                                   {.tenant = "b", .ops = 100, .failures = 1},
                                   {.tenant = "c", .ops = 100, .failures = 50}};
    struct alert_conds c = {0};
    alertrule_tenant_failing(&P, t, 4, &c);
    /* bad (30%) and c (50%) are high; the others' median is 1% for bad
     * (0, 1, 50 -> 1) and 1% for c (30, 0, 1 -> 1): both fire. */
    ck_assert_uint_eq(count_rule(&c, AR_TENANT_FAILING, "bad"), 1);
    ck_assert_uint_eq(count_rule(&c, AR_TENANT_FAILING, "a"), 0);
    /* Everyone fails: nothing (that is VomoServerErrors or the breaker). */
    for (int i = 0; i < 4; i++)
        t[i].failures = 40;
    c.n = 0;
    alertrule_tenant_failing(&P, t, 4, &c);
    ck_assert_uint_eq(c.n, 0);
    /* Fewer than 10 failures is not enough, whatever the ratio. */
    struct alert_tenant_in small[2] = {{.tenant = "x", .ops = 9, .failures = 9},
                                       {.tenant = "y", .ops = 100, .failures = 0}};
    c.n = 0;
    alertrule_tenant_failing(&P, small, 2, &c);
    ck_assert_uint_eq(c.n, 0);
    /* Alone, a tenant has nobody to compare with. */
    c.n = 0;
    alertrule_tenant_failing(&P, t, 1, &c);
    ck_assert_uint_eq(c.n, 0);
    alert_conds_free(&c);
}
END_TEST

START_TEST(class_spike_needs_history_and_a_fresh_start)
{
    struct alert_global_in g = {.started_ms = T0};
    struct alert_conds c = {0};
    char note[200];
    g.class_recent[EC_AUTH] = 20;
    /* No history yet: no alert, but a note. */
    alertrule_class_spike(&P, &g, T0 + 10 * MIN, &c);
    ck_assert_uint_eq(c.n, 0);
    alertrule_spike_note(&P, &g, T0 + 10 * MIN, note, sizeof(note));
    ck_assert_ptr_nonnull(strstr(note, "no history"));
    /* With a baseline of 2 per day: 20 > 3 x 2 fires. */
    g.baseline_days = 3;
    g.class_baseline[EC_AUTH] = 2;
    alertrule_class_spike(&P, &g, T0 + 10 * MIN, &c);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_ptr_nonnull(strstr(c.v[0].summary, "auth"));
    alertrule_spike_note(&P, &g, T0 + 10 * MIN, note, sizeof(note));
    ck_assert_str_eq(note, "");
    /* An hour after the start, the rule is over. */
    c.n = 0;
    alertrule_class_spike(&P, &g, T0 + HOUR + 1, &c);
    ck_assert_uint_eq(c.n, 0);
    /* Not 3x the usual rate, or fewer than 5: nothing. */
    g.class_baseline[EC_AUTH] = 7;
    alertrule_class_spike(&P, &g, T0 + MIN, &c);
    ck_assert_uint_eq(c.n, 0);
    g.class_baseline[EC_AUTH] = 0;
    g.class_recent[EC_AUTH] = 4;
    alertrule_class_spike(&P, &g, T0 + MIN, &c);
    ck_assert_uint_eq(c.n, 0);
    alert_conds_free(&c);
}
END_TEST

START_TEST(dlq_growth_steady_is_silence)
{
    struct alert_conds c = {0};
    /* 100 rows every 30 minutes, for a day: steady, never an alert. */
    for (int64_t k = 2; k < 48; k++) {
        struct alert_tenant_in t = {.tenant = "acme",
                                    .dlq_known = true,
                                    .dlq_now = k * 100,
                                    .dlq_mid = (k - 1) * 100,
                                    .dlq_old = (k - 2) * 100};
        alertrule_dlq_growth(&P, &t, &c);
    }
    ck_assert_uint_eq(c.n, 0);
    struct alert_tenant_in t = {
        .tenant = "acme", .dlq_known = true, .dlq_old = 100, .dlq_mid = 104, .dlq_now = 120};
    alertrule_dlq_growth(&P, &t, &c); /* 16 after 4: accelerating */
    ck_assert_uint_eq(c.n, 1);
    t.dlq_now = 112; /* 8 rows: below the minimum */
    c.n = 0;
    alertrule_dlq_growth(&P, &t, &c);
    ck_assert_uint_eq(c.n, 0);
    t.dlq_known = false;
    t.dlq_now = 1000;
    alertrule_dlq_growth(&P, &t, &c);
    ck_assert_uint_eq(c.n, 0);
    alert_conds_free(&c);
}
END_TEST

START_TEST(polling_lag_and_stopped_tenants)
{
    struct alert_global_in g = {
        .started_ms = T0, .poll_interval_ms = 15 * MIN, .poll_jitter_ms = 30000};
    struct alert_tenant_in t = {.tenant = "acme", .nslots = 2};
    t.slots[0] = (struct alert_slot_in){.resource = "users", .last_complete_ms = T0 + 10 * MIN};
    t.slots[1] = (struct alert_slot_in){.resource = "groups", .last_complete_ms = 0};
    struct alert_conds c = {0};
    alertrule_polling_lag(&g, &t, T0 + 30 * MIN, &c);
    ck_assert_uint_eq(c.n, 0);
    /* 2 x 15 min + 30 s after the start, groups never completed. */
    alertrule_polling_lag(&g, &t, T0 + 30 * MIN + 30001, &c);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_str_eq(c.v[0].resource, "groups");
    c.n = 0;
    alertrule_polling_lag(&g, &t, T0 + 41 * MIN, &c);
    ck_assert_uint_eq(c.n, 2);
    /* A stopped tenant has no lag, it has TenantStopped. */
    t.stopped = "auth_failed: token refused";
    c.n = 0;
    alertrule_polling_lag(&g, &t, T0 + 5 * HOUR, &c);
    alertrule_stopped(&t, &c);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_int_eq(c.v[0].rule, AR_TENANT_STOPPED);
    ck_assert_int_eq(c.v[0].severity, ALERT_CRITICAL);
    /* A resource refused with 403: lag silent for it, TenantStopped names it. */
    t.stopped = NULL;
    t.slots[1].stopped = true;
    t.slots[0].last_complete_ms = T0 + 5 * HOUR;
    c.n = 0;
    alertrule_polling_lag(&g, &t, T0 + 5 * HOUR, &c);
    alertrule_stopped(&t, &c);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_str_eq(c.v[0].resource, "groups");
    alert_conds_free(&c);
}
END_TEST

struct log {
    int firing, resolved;
    int64_t last_at;
};

static void on_tr(void *arg, struct alert_state *st, enum alert_transition tr)
{
    struct log *l = arg;
    (void)st;
    if (tr == ALERT_TR_FIRING)
        l->firing++;
    else
        l->resolved++;
}

static void one(struct alert_conds *c, bool on, enum alert_severity sev)
{
    c->n = 0;
    if (!on)
        return;
    if (c->cap == 0) {
        c->cap = 4;
        c->v = calloc(4, sizeof(*c->v));
    }
    memset(&c->v[0], 0, sizeof(c->v[0]));
    c->v[0].rule = AR_TENANT_FAILING;
    c->v[0].severity = sev;
    strcpy(c->v[0].tenant, "acme");
    c->n = 1;
}

START_TEST(state_machine_pending_firing_resolved)
{
    struct alert_sm sm = {0};
    struct alert_conds c = {0};
    struct log l = {0};
    /* for = 5 min: held for 4.5 min, then gone: never fires. */
    int64_t now = T0;
    for (; now < T0 + 270000; now += 30000) {
        one(&c, true, ALERT_WARNING);
        alertsm_step(&sm, &P, &c, now, on_tr, &l);
    }
    ck_assert_int_eq(l.firing, 0);
    one(&c, false, ALERT_WARNING);
    alertsm_step(&sm, &P, &c, now, on_tr, &l);
    ck_assert_uint_eq(sm.n, 0);
    /* Held for 6 min: fires once, at 5 min. */
    int64_t start = now += 30000;
    for (; now <= start + 6 * MIN; now += 30000) {
        one(&c, true, ALERT_WARNING);
        alertsm_step(&sm, &P, &c, now, on_tr, &l);
        if (now - start < 5 * MIN)
            ck_assert_int_eq(l.firing, 0);
    }
    ck_assert_int_eq(l.firing, 1);
    ck_assert_uint_eq(alertsm_firing(&sm, AR_TENANT_FAILING), 1);
    /* Flapping every 30 s for an hour: no new notification either way. */
    for (int i = 0; i < 120; i++, now += 30000) {
        one(&c, i % 2, ALERT_WARNING);
        alertsm_step(&sm, &P, &c, now, on_tr, &l);
    }
    ck_assert_int_eq(l.firing, 1);
    ck_assert_int_eq(l.resolved, 0);
    /* A higher severity ends the episode and starts one at that severity. */
    sm.v[0].id = 7;
    one(&c, true, ALERT_CRITICAL);
    alertsm_step(&sm, &P, &c, now, on_tr, &l);
    ck_assert_int_eq(l.resolved, 1);
    ck_assert_int_eq(l.firing, 2);
    ck_assert_int_eq(sm.v[0].severity, ALERT_CRITICAL);
    ck_assert_int_eq(sm.v[0].id, 0);
    ck_assert_int_eq(sm.v[0].fired_at, now);
    /* Lower again: still the critical episode. */
    one(&c, true, ALERT_WARNING);
    alertsm_step(&sm, &P, &c, now + 30000, on_tr, &l);
    ck_assert_int_eq(l.firing, 2);
    ck_assert_int_eq(sm.v[0].severity, ALERT_CRITICAL);
    /* Quiet: resolved after keep_firing_for (5 min), once. */
    int64_t quiet = now;
    for (now += 30000; now < quiet + 2 * HOUR; now += 30000) {
        one(&c, false, ALERT_WARNING);
        alertsm_step(&sm, &P, &c, now, on_tr, &l);
        if (now - quiet < 5 * MIN)
            ck_assert_int_eq(l.resolved, 1);
    }
    ck_assert_int_eq(l.resolved, 2);
    ck_assert_uint_eq(sm.n, 0);
    alertsm_free(&sm);
    alert_conds_free(&c);
}
END_TEST

START_TEST(adopted_episode_resolves_without_firing_again)
{
    struct alert_sm sm = {0};
    struct alert_conds c = {0};
    struct log l = {0};
    alertsm_adopt(&sm, AR_TENANT_FAILING, "acme", "", ALERT_WARNING, "from before", T0 - HOUR, T0,
                  42);
    /* The condition still holds after the restart: no new firing. */
    one(&c, true, ALERT_WARNING);
    for (int64_t now = T0; now < T0 + 10 * MIN; now += 30000)
        alertsm_step(&sm, &P, &c, now, on_tr, &l);
    ck_assert_int_eq(l.firing, 0);
    ck_assert_int_eq(sm.v[0].id, 42);
    one(&c, false, ALERT_WARNING);
    for (int64_t now = T0 + 10 * MIN; now < T0 + 30 * MIN; now += 30000)
        alertsm_step(&sm, &P, &c, now, on_tr, &l);
    ck_assert_int_eq(l.resolved, 1);
    alertsm_free(&sm);
    alert_conds_free(&c);
}
END_TEST

START_TEST(eval_collects_every_rule)
{
    struct slo_result slo = {.level = 2};
    snprintf(slo.why, sizeof(slo.why), "300%% of the error budget consumed");
    struct alert_global_in g = {.started_ms = T0, .poll_interval_ms = MIN};
    struct alert_tenant_in t[2] = {{.tenant = "acme", .server_errors = 7, .slo = &slo},
                                   {.tenant = "beta"}};
    struct alert_conds c = {0};
    alertrule_eval(&P, &g, t, 2, T0 + MIN, &c);
    ck_assert_uint_eq(count_rule(&c, AR_VOMO_SERVER_ERRORS, "acme"), 1);
    ck_assert_uint_eq(count_rule(&c, AR_ERROR_BUDGET_BURN, "acme"), 1);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_str_eq(alertrule_name(AR_ERROR_BUDGET_BURN), "ErrorBudgetBurn");
    ck_assert_uint_eq(strlen(alertrule_message_id(AR_POLLING_LAG)), 32);
    ck_assert_str_ne(alertrule_message_id(AR_POLLING_LAG), alertrule_message_id(AR_DLQ_GROWTH));
    alert_conds_free(&c);
}
END_TEST

static Suite *alertrule_suite(void)
{
    Suite *s = suite_create("alertrule");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, server_errors_one_is_silence_five_fire);
    tcase_add_test(tc, tenant_failing_only_when_others_are_normal);
    tcase_add_test(tc, class_spike_needs_history_and_a_fresh_start);
    tcase_add_test(tc, dlq_growth_steady_is_silence);
    tcase_add_test(tc, polling_lag_and_stopped_tenants);
    tcase_add_test(tc, state_machine_pending_firing_resolved);
    tcase_add_test(tc, adopted_episode_resolves_without_firing_again);
    tcase_add_test(tc, eval_collects_every_rule);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alertrule_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
