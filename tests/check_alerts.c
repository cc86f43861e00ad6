/*
 * check_alerts.c - integration suite of the built-in alerts and error
 * budgets: the real engine and evaluator against the in-process fake VOMO,
 * with the rules' windows shrunk to milliseconds through the policy's
 * parameters (the contract's defaults stay what alertrule_defaults()
 * says).  A 503 storm fires VomoServerErrors once (one row, one notifier
 * call, one signed POST of the [alerts] webhook) and resolves after the
 * recovery (one resolved POST), while one 503 stays silent; a
 * tenant whose pages VOMO garbles fires TenantFailing and not
 * VomoServerErrors; a resource whose requests hang fires PollingLag for
 * that resource only; an outage that burns the error budget pauses the
 * tenant's outbox (pause_on_exhausted = writes) until an operator resumes
 * it, across a restart too; the history of previous days makes an error
 * class that concentrates after the start fire ErrorClassSpike (and its
 * absence leaves a note instead), DLQ samples make a sudden growth fire
 * DlqGrowthAccelerating; firing episodes are replayed to notifiers at the next start; and
 * every transition is a log line with ALERT, SEVERITY and MESSAGE_ID.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "alertsink.h"
#include "metrics.h"
#include "obs.h"
#include "outbox_ops.h"
#include "outboxproc.h"
#include "history.h"
#include "store_alerts.h"
#include "store_history.h"
#include "store_outbox.h"
#include "testutil.h"
#include "util.h"

struct seen {
    int firing[AR_COUNT], resolved[AR_COUNT], replayed;
    char tenant[AR_COUNT][64], resource[AR_COUNT][32];
};

static void on_event(void *ctx, const struct alert_event *ev)
{
    struct seen *s = ctx;
    for (int r = 0; r < AR_COUNT; r++) {
        if (strcmp(ev->name, alertrule_name((enum alert_rule)r)) != 0)
            continue;
        if (ev->replay)
            s->replayed++;
        else if (strcmp(ev->state, "firing") == 0)
            s->firing[r]++;
        else
            s->resolved[r]++;
        snprintf(s->tenant[r], sizeof(s->tenant[r]), "%s", ev->tenant);
        snprintf(s->resource[r], sizeof(s->resource[r]), "%s", ev->resource);
    }
}

/* Milliseconds instead of minutes: buckets of 50 ms, a 5xx window of 1 s,
 * 2 s for failures, no pending time, 300 ms of keep_firing_for. */
static void fast(struct tu_engine *te, struct seen *s)
{
    struct alerts *a = te->e->alerts;
    alerts_set_resolution(a, 50, 60000);
    struct alert_params *p = alerts_params(a);
    p->server_window_ms = 1000;
    p->failing_window_ms = 2000;
    p->dlq_window_ms = 1000;
    for (int r = 0; r < AR_COUNT; r++)
        p->for_ms[r] = 0;
    p->keep_firing_for_ms = 300;
    struct slo_params *sp = alerts_slo_params(a);
    const int64_t w[SLO_W_COUNT] = {200, 400, 600, 1000, 1500, 1500};
    for (int i = 0; i < SLO_W_COUNT; i++)
        sp->window_ms[i] = w[i];
    if (s)
        alerts_add_notifier(a, on_event, s);
}

static int64_t rows(struct tu_env *env, const char *name, const char *state)
{
    return tu_db_int(env, "SELECT count(*) FROM alerts WHERE name = ?1 AND state LIKE ?2", name,
                     state, NULL);
}

struct wait_row {
    struct tu_env *env;
    const char *name, *state;
};

static bool has_row(void *arg)
{
    struct wait_row *w = arg;
    return rows(w->env, w->name, w->state) > 0;
}

static bool first_sync(void *arg)
{
    return tu_scans_at_least(arg, 1);
}

static void start(struct tu_env *env, struct tu_engine *te, struct seen *s, const char *overrides,
                  const char *tenants_ini)
{
    tu_config(env, overrides, tenants_ini);
    tu_engine_start(env, te);
    fast(te, s);
    ck_assert(tu_run_until(te, first_sync, te->e, 10000));
}

static const char *const FAST_EVAL = "alerts.interval = 25ms\n";

struct posts {
    struct tu_env *env;
    int firing, resolved;
};

/* The alert webhook's POSTs about VomoServerErrors, by state. */
static bool count_posts(void *arg)
{
    struct posts *p = arg;
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(p->env->fake, &d, &n), 0);
    p->firing = p->resolved = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(d[i].tenant, "alerts") != 0 || !strstr(d[i].body, "\"VomoServerErrors\""))
            continue;
        ck_assert(d[i].signature_ok);
        p->firing += strstr(d[i].body, "\"state\":\"firing\"") != NULL;
        p->resolved += strstr(d[i].body, "\"state\":\"resolved\"") != NULL;
    }
    fake_deliveries_free(d, n);
    return p->firing >= 1 && p->resolved >= 1;
}

START_TEST(server_error_storm_fires_once_and_resolves)
{
    struct tu_env env;
    struct tu_engine te;
    struct seen s = {0};
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 20, 5, 5);
    tu_fake_start(&env);
    ck_assert_int_eq(fake_set_webhook_secret(env.fake, "alerts", "alert-secret"), 0);
    char *ini = tu_tenant_ini("acme", NULL);
    start(&env, &te, &s, FAST_EVAL, ini);
    free(ini);
    /* The [alerts] webhook target, as the daemon wires it. */
    struct alertsink sink;
    struct alertsink_opts o;
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/_hooks/alerts", env.port);
    alertsink_opts_default(&o);
    o.webhook_url = url;
    o.webhook_secret = "alert-secret";
    ck_assert_int_eq(alertsink_init(&sink, &te.loop, &o), 0);
    alerts_add_notifier(te.e->alerts, alertsink_notify, &sink);
    /* One 503 is silence. */
    ck_assert_int_gt(fake_add_fault(env.fake, &(struct fake_fault){.path = "/v1/*",
                                                                   .count = 1,
                                                                   .kind = FAKE_FAULT_STATUS,
                                                                   .status = 503}),
                     0);
    tu_run_for(&te, 1500);
    ck_assert_int_eq(rows(&env, "VomoServerErrors", "%"), 0);
    /* A storm: twelve 503s in a row. */
    ck_assert_int_gt(fake_add_fault(env.fake, &(struct fake_fault){.path = "/v1/*",
                                                                   .count = 12,
                                                                   .kind = FAKE_FAULT_STATUS,
                                                                   .status = 503}),
                     0);
    struct wait_row w = {&env, "VomoServerErrors", "firing"};
    ck_assert(tu_run_until(&te, has_row, &w, 5000));
    ck_assert_str_eq(s.tenant[AR_VOMO_SERVER_ERRORS], "acme");
    /* The faults are used up: after the window and keep_firing_for, one
     * resolution of the same row. */
    w.state = "resolved";
    ck_assert(tu_run_until(&te, has_row, &w, 5000));
    tu_run_for(&te, 500);
    ck_assert_int_eq(rows(&env, "VomoServerErrors", "%"), 1);
    ck_assert_int_eq(s.firing[AR_VOMO_SERVER_ERRORS], 1);
    ck_assert_int_eq(s.resolved[AR_VOMO_SERVER_ERRORS], 1);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM alerts_firing WHERE name = 'VomoServerErrors'", NULL),
        0);
    /* The counts reached the history. */
    ck_assert_int_ge(
        tu_db_int(&env, "SELECT sum(value) FROM history WHERE series = 'vomo_5xx'", NULL), 13);
    ck_assert_int_gt(
        tu_db_int(&env, "SELECT count(*) FROM history_hourly WHERE series = 'ops'", NULL), 0);
    /* One signed POST for the firing, one for the resolve. */
    struct posts p = {&env, 0, 0};
    ck_assert(tu_run_until(&te, count_posts, &p, 5000));
    tu_run_for(&te, 300);
    (void)count_posts(&p);
    ck_assert_int_eq(p.firing, 1);
    ck_assert_int_eq(p.resolved, 1);
    alertsink_close(&sink, NULL);
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(one_bad_tenant_fires_tenant_failing_only)
{
    struct tu_env env;
    struct tu_engine te;
    struct seen s = {0};
    tu_env_init(&env, NULL);
    tu_tenant(&env, "bad", 30, 5, 5);
    tu_tenant(&env, "good1", 10, 5, 5);
    tu_tenant(&env, "good2", 10, 5, 5);
    tu_fake_start(&env);
    /* VOMO answers bad's lists with pages that are not JSON (bad_data,
     * which never trips the shared breaker); the others are fine. */
    ck_assert_int_gt(fake_add_fault(env.fake, &(struct fake_fault){.path = "/v1/*",
                                                                   .tenant = "bad",
                                                                   .kind = FAKE_FAULT_MALFORMED}),
                     0);
    char *bad = tu_tenant_ini("bad", NULL);
    char *g1 = tu_tenant_ini("good1", NULL), *g2 = tu_tenant_ini("good2", NULL);
    char *ini = xasprintf("%s%s%s", bad, g1, g2);
    tu_config(&env, FAST_EVAL, ini);
    free(bad);
    free(g1);
    free(g2);
    free(ini);
    tu_engine_start(&env, &te);
    fast(&te, &s);
    struct wait_row w = {&env, "TenantFailing", "firing"};
    ck_assert(tu_run_until(&te, has_row, &w, 8000));
    ck_assert_str_eq(s.tenant[AR_TENANT_FAILING], "bad");
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM alerts WHERE name = 'TenantFailing' "
                               "AND tenant <> 'bad'",
                               NULL),
                     0);
    tu_run_for(&te, 500);
    ck_assert_int_eq(rows(&env, "VomoServerErrors", "%"), 0);
    ck_assert_int_eq(s.firing[AR_VOMO_SERVER_ERRORS], 0);
    /* The failures are bad's requests: operations_total says so. */
    struct metric_family *ops = obs_family("vomo_sync_operations_total");
    ck_assert(metrics_value(ops, METRIC_L("bad", "request", "error")) >= 10);
    ck_assert(metrics_value(ops, METRIC_L("good1", "request", "ok")) >= 3);
    ck_assert(metrics_value(ops, METRIC_L("good1", "request", "error")) == 0);
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(stalled_resource_fires_polling_lag)
{
    struct tu_env env;
    struct tu_engine te;
    struct seen s = {0};
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 5, 5);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    start(&env, &te, &s, FAST_EVAL, ini);
    free(ini);
    /* groups hangs from now on: its scans never complete. */
    ck_assert_int_gt(fake_add_fault(env.fake, &(struct fake_fault){.path = "/v1/groups*",
                                                                   .kind = FAKE_FAULT_HANG}),
                     0);
    struct wait_row w = {&env, "PollingLag", "firing"};
    ck_assert(tu_run_until(&te, has_row, &w, 5000));
    ck_assert_str_eq(s.resource[AR_POLLING_LAG], "groups");
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM alerts WHERE name = 'PollingLag' "
                               "AND resource <> 'groups'",
                               NULL),
                     0);
    struct metric_family *f = obs_family("vomo_sync_alerts_firing");
    ck_assert(metrics_value(f, METRIC_L("PollingLag")) == 1);
    /* The evaluator's summary reaches the status line. */
    char line[512];
    engine_summary(te.e, line, sizeof(line));
    ck_assert_ptr_nonnull(strstr(line, "alert(s) firing"));
    ck_assert_uint_ge(alerts_firing_count(te.e->alerts), 1);
    fake_clear_faults(env.fake);
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
}
END_TEST

static int64_t queue_write(struct tu_engine *te)
{
    char why[256], key[OUTBOX_KEY_LEN], now[TS_LEN];
    const char *payload = "{\"name\":\"ops\"}";
    ck_assert_msg(outbox_validate("groups", "create", NULL, payload, why, sizeof(why), key) == 0,
                  "%s", why);
    ts_format(clock_wall_ms(), now);
    struct outbox_new n = {.tenant = "acme",
                           .resource = "groups",
                           .op = "create",
                           .payload = payload,
                           .record_key = key,
                           .actor = "test",
                           .now = now};
    int64_t row = 0;
    int existed = 0;
    ck_assert_int_eq(store_outbox_add(te->store, &n, &row, &existed), 0);
    return row;
}

static bool paused(void *arg)
{
    struct tu_engine *te = arg;
    return outboxproc_writes_paused(te->e->outbox, "acme");
}

static bool unpaused(void *arg)
{
    return !paused(arg);
}

START_TEST(budget_outage_pauses_writes_until_resumed)
{
    struct tu_env env;
    struct tu_engine te;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 5, 5);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    start(&env, &te, NULL,
          "alerts.interval = 25ms\nslo.pause_on_exhausted = writes\nslo.min_operations = 5\n", ini);
    free(ini);
    ck_assert(!paused(&te));
    /* The outage: every read fails (500 surfaces after a few attempts). */
    ck_assert_int_gt(fake_add_fault(env.fake, &(struct fake_fault){.method = "GET",
                                                                   .path = "/v1/*",
                                                                   .kind = FAKE_FAULT_STATUS,
                                                                   .status = 500}),
                     0);
    ck_assert(tu_run_until(&te, paused, &te, 8000));
    /* A write queued now waits: no POST reaches VOMO. */
    fake_requests_clear(env.fake);
    int64_t id = queue_write(&te);
    outboxproc_tick(te.e->outbox);
    tu_run_for(&te, 400);
    char idtext[32];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
    ck_assert_int_eq(tu_db_int(&env, "SELECT attempts FROM outbox WHERE id = ?1", idtext, NULL), 0);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM slo_status WHERE tenant = 'acme' "
                               "AND action = 'writes_paused' AND consumed > 2",
                               NULL),
                     1);
    struct wait_row w = {&env, "ErrorBudgetBurn", "firing"};
    ck_assert(has_row(&w));
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM alerts WHERE name = 'ErrorBudgetBurn' "
                               "AND severity = 'critical'",
                               NULL),
                     1);
    /* An operator resumes the tenant (what `vomo-sync resume` writes). */
    ck_assert_int_eq(store_slo_resume_request(te.store, "acme", "test", clock_wall_ms()), 0);
    ck_assert(tu_run_until(&te, unpaused, &te, 3000));
    /* Still failing, but resumed: it stays unpaused for now. */
    tu_run_for(&te, 300);
    ck_assert(!paused(&te));
    fake_clear_faults(env.fake);
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(pause_survives_a_restart)
{
    struct tu_env env;
    struct tu_engine te;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 5, 5);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    const char *ov = "alerts.interval = 25ms\nslo.pause_on_exhausted = writes\n"
                     "slo.min_operations = 5\n";
    start(&env, &te, NULL, ov, ini);
    ck_assert_int_gt(fake_add_fault(env.fake, &(struct fake_fault){.method = "GET",
                                                                   .path = "/v1/*",
                                                                   .kind = FAKE_FAULT_STATUS,
                                                                   .status = 500}),
                     0);
    ck_assert(tu_run_until(&te, paused, &te, 8000));
    tu_engine_stop(&te);
    /* The next run starts paused, before its first evaluation ... */
    tu_config(&env, "alerts.interval = 1h\nslo.pause_on_exhausted = writes\n", ini);
    tu_engine_start(&env, &te);
    ck_assert(paused(&te));
    /* ... and a resume asked for now lifts it. */
    ck_assert_int_eq(store_slo_resume_request(te.store, "acme", "test", clock_wall_ms()), 0);
    alerts_evaluate(te.e->alerts, clock_wall_ms());
    ck_assert(!paused(&te));
    free(ini);
    fake_clear_faults(env.fake);
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(budget_recovery_lifts_the_pause)
{
    struct tu_env env;
    struct tu_engine te;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 5, 5);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    start(&env, &te, NULL,
          "alerts.interval = 25ms\nslo.pause_on_exhausted = writes\nslo.min_operations = 5\n", ini);
    free(ini);
    ck_assert_int_gt(fake_add_fault(env.fake, &(struct fake_fault){.method = "GET",
                                                                   .path = "/v1/*",
                                                                   .kind = FAKE_FAULT_STATUS,
                                                                   .status = 500}),
                     0);
    ck_assert(tu_run_until(&te, paused, &te, 8000));
    fake_clear_faults(env.fake);
    /* The failures leave the 1.5 s window: the burn falls below 100%. */
    ck_assert(tu_run_until(&te, unpaused, &te, 8000));
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(firing_episodes_are_replayed_at_start)
{
    struct tu_env env;
    struct tu_engine te;
    struct seen s = {0};
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 5, 5);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    tu_config(&env, NULL, ini);
    free(ini);
    /* An episode a previous run left firing. */
    struct store *st;
    ck_assert_int_eq(store_open(env.db_path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
    int64_t id;
    ck_assert_int_eq(store_alert_fire(st, "PollingLag", "acme", "users", "warning",
                                      clock_wall_ms() - 60000, "from before", &id),
                     0);
    store_close(st);
    /* The engine as tu_engine_start makes it, with a notifier added
     * before engine_start, where the daemon adds alertsink's. */
    memset(&te, 0, sizeof(te));
    struct cfg_errors errs;
    struct config *cfg = NULL;
    ck_assert_int_eq(cfg_load(env.config_path, 0, &cfg, &errs), 0);
    cfg_errors_free(&errs);
    struct tu_logcap cap;
    tu_log_capture_start(&cap);
    ck_assert_int_eq(store_open(env.db_path, &te.store), 0);
    ck_assert_int_eq(uv_loop_init(&te.loop), 0);
    ck_assert_int_eq(engine_new(&te.loop, cfg, te.store, &te.e), 0);
    te.e->progress = false;
    alerts_add_notifier(te.e->alerts, on_event, &s);
    ck_assert_int_eq(engine_start(te.e), 0);
    ck_assert_int_eq(s.replayed, 1);
    ck_assert_int_eq(s.firing[AR_POLLING_LAG], 0);
    const char *log = tu_log_capture_text(&cap);
    ck_assert_ptr_nonnull(strstr(log, "still firing"));
    ck_assert_ptr_nonnull(strstr(log, "\"alert\":\"PollingLag\""));
    ck_assert_ptr_nonnull(strstr(log, "\"message_id\":\"3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e05\""));
    fast(&te, NULL);
    ck_assert_uint_eq(alerts_firing_count(te.e->alerts), 1);
    /* The lag is gone (scans complete): one resolution of the same row. */
    struct wait_row w = {&env, "PollingLag", "resolved"};
    ck_assert(tu_run_until(&te, has_row, &w, 8000));
    ck_assert_int_eq(rows(&env, "PollingLag", "%"), 1);
    ck_assert_int_eq(s.resolved[AR_POLLING_LAG], 1);
    ck_assert_ptr_nonnull(strstr(tu_log_capture_text(&cap), "alert PollingLag resolved"));
    tu_log_capture_end(&cap);
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
}
END_TEST

#define DAY_MS (24 * 3600 * 1000LL)

/* One history row written the way the evaluator writes them. */
static void put_row(struct tu_engine *te, const char *series, int64_t at, int64_t value,
                    bool sample)
{
    struct history_entry e = {.at_ms = at, .value = value, .sample = sample};
    snprintf(e.series, sizeof(e.series), "%s", series);
    snprintf(e.tenant, sizeof(e.tenant), "acme");
    ck_assert_int_eq(store_history_write(te->store, &e, 1, 3000), 0);
}

START_TEST(history_of_previous_days_feeds_spike_and_dlq_growth)
{
    struct tu_env env;
    struct tu_engine te;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 5, 5);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    start(&env, &te, NULL, "alerts.interval = 1h\n", ini);
    free(ini);
    int64_t now = clock_wall_ms(), b = now - now % 50;
    /* 10 transient failures since the start, and 12 dead letters now. */
    history_add(history_global(), now, "error_transient", "acme", "users", 10);
    sqlite3 *db = store_db(te.store);
    for (int i = 0; i < 12; i++) {
        char sql[300];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO dlq (tenant, resource, record_id, status, error_class, created_at, "
                 "updated_at) VALUES ('acme', 'users', 'x%d', 'manual_review', 'validation', "
                 "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
                 i);
        ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    /* No samples of the DLQ before, no previous day: neither fires, and
     * status says why the classes are not compared. */
    alerts_evaluate(te.e->alerts, now);
    ck_assert_int_eq(rows(&env, "ErrorClassSpike", "%"), 0);
    ck_assert_int_eq(rows(&env, "DlqGrowthAccelerating", "%"), 0);
    char *note =
        tu_db_text(&env, "SELECT note FROM alert_notes WHERE name = 'ErrorClassSpike'", NULL);
    ck_assert_ptr_nonnull(note);
    ck_assert_ptr_nonnull(strstr(note, "no history"));
    free(note);
    /* Yesterday at this hour: the daemon ran and saw one transient
     * failure; a second and a window ago the DLQ was empty. */
    put_row(&te, "minutes", b - DAY_MS, 1, false);
    put_row(&te, "error_transient", b - DAY_MS, 1, false);
    put_row(&te, "dlq_rows", b - 1000, 0, true);
    put_row(&te, "dlq_rows", b - 2000, 0, true);
    alerts_evaluate(te.e->alerts, now);
    ck_assert_int_eq(rows(&env, "ErrorClassSpike", "firing"), 1);
    char *sum = tu_db_text(&env, "SELECT summary FROM alerts WHERE name = 'ErrorClassSpike'", NULL);
    ck_assert_ptr_nonnull(strstr(sum, "transient"));
    free(sum);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM alerts WHERE name = "
                               "'DlqGrowthAccelerating' AND tenant = 'acme'",
                               NULL),
                     1);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM alert_notes WHERE name = 'ErrorClassSpike'", NULL),
        0);
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *alerts_suite(void)
{
    Suite *s = suite_create("alerts");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, server_error_storm_fires_once_and_resolves);
    tcase_add_test(tc, one_bad_tenant_fires_tenant_failing_only);
    tcase_add_test(tc, stalled_resource_fires_polling_lag);
    tcase_add_test(tc, budget_outage_pauses_writes_until_resumed);
    tcase_add_test(tc, budget_recovery_lifts_the_pause);
    tcase_add_test(tc, pause_survives_a_restart);
    tcase_add_test(tc, history_of_previous_days_feeds_spike_and_dlq_growth);
    tcase_add_test(tc, firing_episodes_are_replayed_at_start);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alerts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
