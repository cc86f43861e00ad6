/*
 * check_alerts_input.c - the evaluator's reads (alerts_input.c, declared
 * in src/alerts_int.h): a struct alerts built by hand on a real state
 * database in a temporary directory (no loop, no timer, no fake started),
 * the process-wide history accumulator open with one-minute buckets, and
 * every instant injected.  The tenant table stays sorted and finds every
 * name; a window's sum takes exactly its buckets (the store's and the
 * buffered ones), not the one before nor a future one; the DLQ samples
 * stand for their instant up to five buckets back and no further, the
 * latest one winning; freshness is counted once per bucket, a stopped
 * resource counts as fresh and a stopped tenant not at all; windows of
 * the hourly table are read once and then again only in their turn; and
 * ErrorClassSpike's counts read the hours since the start and the days
 * with history.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../src/alerts_int.h"
#include "classify.h"
#include "engine.h"
#include "history.h"
#include "store.h"
#include "store_history.h"
#include "testutil.h"
#include "util.h"

#define MINUTE 60000LL
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
#define NOW0 1796097600000LL /* an hour boundary, wall ms */

struct fx {
    struct tu_env env;
    struct store *store;
    struct config cfg;
    struct tenant_cfg tc[2];
    struct engine e;
    struct alerts *a;
    struct alerts_slot_view views[8];
    size_t nviews;
};

static void fx_slots(void *ctx, alerts_view_fn fn, void *arg)
{
    struct fx *f = ctx;
    for (size_t i = 0; i < f->nviews; i++)
        fn(arg, &f->views[i]);
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    tu_env_init(&f->env, NULL);
    ck_assert_int_eq(store_open(f->env.db_path, &f->store), 0);
    int from, to;
    ck_assert_int_eq(store_migrate(f->store, &from, &to), 0);
    f->tc[0].name = (char *)"acme";
    f->tc[1].name = (char *)"beta";
    f->cfg.tenants = f->tc;
    f->cfg.ntenants = 2;
    f->cfg.poll_interval_ms = MINUTE;
    f->cfg.poll_jitter_ms = 0;
    f->e.cfg = &f->cfg;
    f->e.store = f->store;
    history_open(MINUTE);
    struct alerts *a = xcalloc(1, sizeof(*a));
    a->e = &f->e;
    a->slots = fx_slots;
    a->slots_ctx = f;
    alertrule_defaults(&a->params);
    slo_defaults(&a->slo);
    a->started_ms = NOW0 - 2 * HOUR;
    a->fresh_bucket = a->flushed_bucket = INT64_MIN;
    f->a = a;
}

static void fx_free(struct fx *f)
{
    free(f->a->tenants);
    free(f->a);
    history_close();
    store_close(f->store);
    tu_env_cleanup(&f->env);
}

/* Writes one row straight to the state db (both tables, as the flush does). */
static void put(struct fx *f, const char *series, const char *tenant, int64_t at, int64_t v,
                bool sample)
{
    struct history_entry e = {.at_ms = at, .value = v, .sample = sample};
    snprintf(e.series, sizeof(e.series), "%s", series);
    snprintf(e.tenant, sizeof(e.tenant), "%s", tenant);
    ck_assert_int_eq(store_history_write(f->store, &e, 1, HOUR), 0);
}

static struct alerts_tenant *T(struct fx *f, const char *name)
{
    struct alerts_tenant *t = alerts_tenant_find(f->a, name);
    ck_assert_msg(t != NULL, "no tenant %s", name);
    return t;
}

/* The buffered value of (series, tenant) summed over every bucket. */
static int64_t buffered(const char *series, const char *tenant)
{
    size_t n = 0;
    const struct history_entry *v = history_entries(history_global(), &n);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].series, series) == 0 && strcmp(v[i].tenant, tenant) == 0)
            sum += v[i].value;
    return sum;
}

START_TEST(tenant_table_stays_sorted_and_finds_every_name)
{
    struct fx f;
    fx_init(&f);
    struct alerts *a = f.a;
    ck_assert_ptr_null(alerts_tenant_find(a, "acme")); /* empty table */
    char name[16];
    /* Added in reverse order, past the first capacity (8) twice. */
    for (int i = 19; i >= 0; i--) {
        snprintf(name, sizeof(name), "t%02d", i);
        struct alerts_tenant *t = alerts_tenant_add(a, name);
        ck_assert_str_eq(t->name, name); /* the pointer after the sort is the new one */
    }
    ck_assert_int_eq(a->ntenants, 20);
    for (size_t i = 1; i < a->ntenants; i++)
        ck_assert_int_lt(strcmp(a->tenants[i - 1].name, a->tenants[i].name), 0);
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "t%02d", i);
        ck_assert_str_eq(T(&f, name)->name, name);
    }
    /* The first and the last name, and one between them that is absent. */
    ck_assert_ptr_eq(alerts_tenant_find(a, "t00"), &a->tenants[0]);
    ck_assert_ptr_eq(alerts_tenant_find(a, "t19"), &a->tenants[19]);
    ck_assert_ptr_null(alerts_tenant_find(a, "t05x"));
    ck_assert_ptr_null(alerts_tenant_find(a, ""));
    /* Adding a known name neither duplicates nor resets it. */
    T(&f, "t07")->dlq_mid = 77;
    ck_assert_ptr_eq(alerts_tenant_add(a, "t07"), T(&f, "t07"));
    ck_assert_int_eq(a->ntenants, 20);
    ck_assert_int_eq(T(&f, "t07")->dlq_mid, 77);
    fx_free(&f);
}
END_TEST

START_TEST(server_window_takes_exactly_its_buckets)
{
    struct fx f;
    fx_init(&f);
    int64_t now = NOW0 + 30000; /* mid-bucket */
    int64_t b = NOW0;           /* now's bucket */
    f.a->params.server_window_ms = 5 * MINUTE;
    put(&f, HS_VOMO_5XX, "acme", b - 5 * MINUTE, 100, false); /* just before the window */
    put(&f, HS_VOMO_5XX, "acme", b - 4 * MINUTE, 1, false);   /* the window's first bucket */
    put(&f, HS_VOMO_5XX, "acme", b, 2, false);                /* its last */
    put(&f, HS_VOMO_5XX, "beta", b - 2 * MINUTE, 4, false);
    put(&f, HS_VOMO_5XX, "ghost", b, 1000, false); /* not configured: nobody's */
    put(&f, HS_OPS, "acme", b, 500, false);        /* another series */
    history_add(history_global(), now, HS_VOMO_5XX, "acme", "users", 8); /* still buffered */
    history_add(history_global(), now + MINUTE, HS_VOMO_5XX, "acme", "users", 16); /* future */
    alerts_read_inputs(f.a, now);
    ck_assert_int_eq(T(&f, "acme")->in.server_errors, 1 + 2 + 8);
    ck_assert_int_eq(T(&f, "beta")->in.server_errors, 4);
    ck_assert_ptr_null(alerts_tenant_find(f.a, "ghost"));
    ck_assert_str_eq(T(&f, "acme")->in.tenant, "acme");
    /* A minute later the first bucket has left the window, and the
     * evaluation does not add to what the previous one found. */
    alerts_read_inputs(f.a, now + MINUTE);
    ck_assert_int_eq(T(&f, "acme")->in.server_errors, 2 + 8 + 16);
    ck_assert_int_eq(T(&f, "beta")->in.server_errors, 4);
    fx_free(&f);
}
END_TEST

START_TEST(dlq_samples_reach_five_buckets_back_and_the_latest_wins)
{
    struct fx f;
    fx_init(&f);
    int64_t now = NOW0 + 10000, w = 30 * MINUTE;
    f.a->params.dlq_window_ms = w;
    /* No history at all: nothing is known. */
    alerts_read_inputs(f.a, now);
    ck_assert(!T(&f, "acme")->in.dlq_known);
    ck_assert_int_eq(T(&f, "acme")->in.dlq_mid, -1);
    ck_assert_int_eq(T(&f, "acme")->in.dlq_old, -1);
    ck_assert_int_eq(T(&f, "acme")->in.dlq_now, 0);
    /* The current size is sampled into the history (0 open rows). */
    size_t n = 0;
    const struct history_entry *v = history_entries(history_global(), &n);
    bool sampled = false;
    for (size_t i = 0; i < n; i++)
        sampled |= v[i].sample && strcmp(v[i].series, HS_DLQ_ROWS) == 0 &&
                   strcmp(v[i].tenant, "acme") == 0 && v[i].at_ms == NOW0;
    ck_assert(sampled);

    int64_t mid = NOW0 - w, old = NOW0 - 2 * w;
    put(&f, HS_DLQ_ROWS, "acme", mid - 2 * MINUTE, 99, true); /* older of two in reach */
    put(&f, HS_DLQ_ROWS, "acme", mid, 7, true);               /* the instant itself */
    put(&f, HS_DLQ_ROWS, "acme", old - 5 * MINUTE, 3, true);  /* the reach's last bucket */
    put(&f, HS_DLQ_ROWS, "beta", mid - 1 * MINUTE, 11, true);
    put(&f, HS_DLQ_ROWS, "beta", old - 6 * MINUTE, 5, true); /* one bucket too far */
    put(&f, HS_DLQ_ROWS, "beta", old + 1 * MINUTE, 6, true); /* after the instant */
    alerts_read_inputs(f.a, now);
    struct alerts_tenant *acme = T(&f, "acme"), *beta = T(&f, "beta");
    ck_assert(acme->in.dlq_known);
    ck_assert_int_eq(acme->in.dlq_mid, 7);
    ck_assert_int_eq(acme->in.dlq_old, 3);
    ck_assert(!beta->in.dlq_known);
    ck_assert_int_eq(beta->in.dlq_mid, 11);
    ck_assert_int_eq(beta->in.dlq_old, -1);
    fx_free(&f);
}
END_TEST

START_TEST(freshness_once_per_bucket_stopped_resources_fresh_stopped_tenants_skipped)
{
    struct fx f;
    fx_init(&f);
    struct tenant_cfg tc[3] = {
        {.name = (char *)"acme"}, {.name = (char *)"beta"}, {.name = (char *)"gamma"}};
    f.cfg.tenants = tc;
    f.cfg.ntenants = 3;
    int64_t now = NOW0 + 5000; /* bound: 2 x 60 s + 0 jitter */
    struct history *h = history_global();
    history_scan_complete(h, "acme", "users", now - 2 * MINUTE);     /* exactly at the bound */
    history_scan_complete(h, "beta", "users", now - 2 * MINUTE - 1); /* 1 ms past it */
    history_scan_complete(h, "gamma", "users", now - 10 * MINUTE);
    f.views[0] = (struct alerts_slot_view){.tenant = "acme", .resource = "users"};
    f.views[1] = (struct alerts_slot_view){
        .tenant = "acme", .resource = "groups", .resource_stopped = true}; /* never scanned */
    f.views[2] = (struct alerts_slot_view){.tenant = "beta", .resource = "users"};
    f.views[3] = (struct alerts_slot_view){
        .tenant = "gamma", .resource = "users", .tenant_stopped = "auth_failed: 401"};
    f.views[4] = (struct alerts_slot_view){.tenant = "nobody", .resource = "users"};
    f.nviews = 5;
    alerts_read_inputs(f.a, now);
    alerts_read_inputs(f.a, now + 30000); /* the same bucket: not counted again */
    ck_assert_int_eq(buffered(HS_MINUTES, "acme"), 1);
    ck_assert_int_eq(buffered(HS_FRESH, "acme"), 1);
    ck_assert_int_eq(buffered(HS_MINUTES, "beta"), 1);
    ck_assert_int_eq(buffered(HS_FRESH, "beta"), 0);
    ck_assert_int_eq(buffered(HS_MINUTES, "gamma"), 0);
    ck_assert_int_eq(buffered(HS_FRESH, "gamma"), 0);
    /* What the slots said reached the rules' inputs. */
    struct alerts_tenant *acme = T(&f, "acme"), *gamma = T(&f, "gamma");
    ck_assert_int_eq(acme->in.nslots, 2);
    ck_assert_str_eq(acme->in.slots[0].resource, "users");
    ck_assert_int_eq(acme->in.slots[0].last_complete_ms, now - 2 * MINUTE);
    ck_assert(acme->in.slots[1].stopped);
    ck_assert_int_eq(acme->in.slots[1].last_complete_ms, 0);
    ck_assert_ptr_null(acme->in.stopped);
    ck_assert_str_eq(gamma->in.stopped, "auth_failed: 401");
    ck_assert_ptr_null(alerts_tenant_find(f.a, "nobody"));
    /* The next bucket counts again; gamma resumed and beta caught up. */
    f.views[3].tenant_stopped = NULL;
    history_scan_complete(h, "beta", "users", now + MINUTE);
    history_scan_complete(h, "gamma", "users", now + MINUTE);
    alerts_read_inputs(f.a, now + MINUTE);
    ck_assert_int_eq(buffered(HS_MINUTES, "acme"), 2);
    ck_assert_int_eq(buffered(HS_FRESH, "acme"), 1); /* its last scan is 3 min old now */
    ck_assert_int_eq(buffered(HS_FRESH, "beta"), 1);
    ck_assert_int_eq(buffered(HS_MINUTES, "gamma"), 1);
    ck_assert_int_eq(buffered(HS_FRESH, "gamma"), 1);
    ck_assert_ptr_null(T(&f, "gamma")->in.stopped);
    fx_free(&f);
}
END_TEST

START_TEST(more_views_than_resources_are_cut)
{
    struct fx f;
    fx_init(&f);
    for (int i = 0; i < RES_COUNT + 2; i++)
        f.views[i] = (struct alerts_slot_view){.tenant = "acme", .resource = "users"};
    f.nviews = RES_COUNT + 2;
    alerts_read_inputs(f.a, NOW0);
    ck_assert_int_eq(T(&f, "acme")->in.nslots, RES_COUNT);
    /* Each evaluation starts again from none. */
    alerts_read_inputs(f.a, NOW0 + MINUTE);
    ck_assert_int_eq(T(&f, "acme")->in.nslots, RES_COUNT);
    fx_free(&f);
}
END_TEST

START_TEST(hourly_windows_read_once_then_in_their_turn)
{
    struct fx f;
    fx_init(&f);
    int64_t now = NOW0 + 30000;
    ck_assert_int_eq(f.a->slo.window_ms[SLO_W_6H], 6 * HOUR); /* the hourly table's */
    ck_assert_int_eq(f.a->slo.window_ms[SLO_W_1H], HOUR);     /* the minute table's */
    put(&f, HS_OPS, "acme", NOW0 - 2 * HOUR, 10, false);
    put(&f, HS_OPS, "acme", NOW0 - 30 * MINUTE, 1, false);
    put(&f, HS_OPS, "acme", NOW0 - 7 * HOUR, 1000, false); /* before the 6 h window */
    alerts_read_inputs(f.a, now);
    ck_assert_int_eq(T(&f, "acme")->counts.ops[SLO_W_1H], 1);
    ck_assert_int_eq(T(&f, "acme")->counts.ops[SLO_W_6H], 11);
    /* New rows: the minute window sees them at once, the 6 h window keeps
     * its sums until its turn (slot 3 + 2 x SLO_W_6H) comes round. */
    put(&f, HS_OPS, "acme", NOW0 - 3 * HOUR, 5, false);
    put(&f, HS_OPS, "acme", NOW0 - 10 * MINUTE, 2, false);
    const int slot = 3 + 2 * SLO_W_6H;
    int evals = 0;
    while ((int)(f.a->hourly_turn % ALERTS_HOURLY_SLOTS) != slot) {
        alerts_read_inputs(f.a, now);
        evals++;
        ck_assert_int_eq(T(&f, "acme")->counts.ops[SLO_W_1H], 3);
        ck_assert_int_eq(T(&f, "acme")->counts.ops[SLO_W_6H], 11);
        ck_assert_int_lt(evals, ALERTS_HOURLY_SLOTS + 1);
    }
    alerts_read_inputs(f.a, now);
    ck_assert_int_eq(T(&f, "acme")->counts.ops[SLO_W_6H], 18);
    ck_assert_int_eq(T(&f, "acme")->counts.ops[SLO_W_1H], 3);
    fx_free(&f);
}
END_TEST

START_TEST(spike_reads_since_start_and_days_with_history)
{
    struct fx f;
    fx_init(&f);
    int64_t now = NOW0 + 30000;
    f.a->started_ms = NOW0 - 10 * MINUTE;
    f.a->params.spike_days = 3;
    put(&f, "error_transient", "acme", NOW0 - 5 * MINUTE, 4, false);
    put(&f, "error_transient", "acme", NOW0 - 20 * MINUTE, 50, false); /* before the start */
    put(&f, "error_auth", "beta", NOW0, 1, false);
    history_add(history_global(), now, "error_transient", "acme", "users", 3);
    /* Yesterday has history in the same hours; two days ago has none; three
     * days ago has minutes but no errors. */
    put(&f, HS_MINUTES, "acme", NOW0 - DAY - 5 * MINUTE, 1, false);
    put(&f, "error_transient", "acme", NOW0 - DAY - 5 * MINUTE, 6, false);
    put(&f, "error_transient", "acme", NOW0 - 2 * DAY - 5 * MINUTE, 600, false); /* no minutes */
    put(&f, HS_MINUTES, "acme", NOW0 - 3 * DAY, 1, false);
    alerts_read_inputs(f.a, now);
    const struct alert_global_in *g = &f.a->global;
    ck_assert_int_eq(g->class_recent[EC_TRANSIENT], 4 + 3);
    ck_assert_int_eq(g->class_recent[EC_AUTH], 1);
    ck_assert_int_eq(g->class_recent[EC_NOT_FOUND], 0);
    ck_assert_int_eq(g->baseline_days, 2);
    ck_assert(g->class_baseline[EC_TRANSIENT] == 3.0); /* (6 + 0) / 2 days */
    ck_assert_int_eq(g->started_ms, f.a->started_ms);
    ck_assert_int_eq(g->poll_interval_ms, MINUTE);
    /* Past spike_after_start nothing is read and nothing stays. */
    alerts_read_inputs(f.a, f.a->started_ms + f.a->params.spike_after_start_ms + 1);
    ck_assert_int_eq(g->class_recent[EC_TRANSIENT], 0);
    ck_assert_int_eq(g->class_recent[EC_AUTH], 0);
    ck_assert_int_eq(g->baseline_days, 0);
    ck_assert(g->class_baseline[EC_TRANSIENT] == 0.0);
    fx_free(&f);
}
END_TEST

static Suite *alerts_input_suite(void)
{
    Suite *s = suite_create("alerts_input");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tenant_table_stays_sorted_and_finds_every_name);
    tcase_add_test(tc, server_window_takes_exactly_its_buckets);
    tcase_add_test(tc, dlq_samples_reach_five_buckets_back_and_the_latest_wins);
    tcase_add_test(tc, freshness_once_per_bucket_stopped_resources_fresh_stopped_tenants_skipped);
    tcase_add_test(tc, more_views_than_resources_are_cut);
    tcase_add_test(tc, hourly_windows_read_once_then_in_their_turn);
    tcase_add_test(tc, spike_reads_since_start_and_days_with_history);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alerts_input_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
