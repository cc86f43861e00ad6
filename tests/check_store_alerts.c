/*
 * check_store_alerts.c - the store's side of the built-in alerts
 * (store_alerts.c) against a real, migrated SQLite state database in a
 * fresh temporary directory per test: an alert episode fired, resolved
 * (once: a repeat or an unknown id changes nothing) and listed, through the
 * module's getter and the `alerts_firing` view `vomo-sync status` reads;
 * the evaluator's error-budget rows replaced as a whole; alert notes; and
 * resume requests.  Every assertion reads the rows back.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_alerts.h"
#include "testutil.h"
#include "util.h"

#define T0 ((int64_t)1764000000000) /* 2025-11-24T16:00:00.000Z */
#define MIN_MS ((int64_t)60000)

static char dir[64];
static char path[128];
static struct store *st;

static void setup(void)
{
    store_set_log_errors(0);
    snprintf(dir, sizeof(dir), "/tmp/check_store_alerts.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    ck_assert_int_eq(store_open(path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
}

static void teardown(void)
{
    store_close(st);
    st = NULL;
    tu_rm_tree(dir);
}

/* The first column of the first row of sql (bound to id when id > 0). */
static int64_t q_int(const char *sql, int64_t id)
{
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    if (id > 0)
        sqlite3_bind_int64(s, 1, id);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* The same as text copied to out, "NULL" for NULL. */
static const char *q_text(const char *sql, int64_t id, char *out, size_t size)
{
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    if (id > 0)
        sqlite3_bind_int64(s, 1, id);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    const unsigned char *v = sqlite3_column_text(s, 0);
    snprintf(out, size, "%s", v ? (const char *)v : "NULL");
    sqlite3_finalize(s);
    return out;
}

static const char *ts(int64_t ms, char out[TS_LEN])
{
    ts_format(ms, out);
    return out;
}

/* What store_alert_each handed over, copied. */
struct seen {
    int n;
    int64_t id[16];
    char name[16][48], tenant[16][32], resource[16][32], severity[16][16], state[16][16],
        summary[16][64];
    int64_t started[16], resolved[16];
};

static void on_alert(void *arg, const struct store_alert *a)
{
    struct seen *s = arg;
    ck_assert_int_lt(s->n, 16);
    int i = s->n++;
    s->id[i] = a->id;
    snprintf(s->name[i], sizeof(s->name[i]), "%s", a->name);
    snprintf(s->tenant[i], sizeof(s->tenant[i]), "%s", a->tenant);
    snprintf(s->resource[i], sizeof(s->resource[i]), "%s", a->resource);
    snprintf(s->severity[i], sizeof(s->severity[i]), "%s", a->severity);
    snprintf(s->state[i], sizeof(s->state[i]), "%s", a->state);
    snprintf(s->summary[i], sizeof(s->summary[i]), "%s", a->summary);
    s->started[i] = a->started_at;
    s->resolved[i] = a->resolved_at;
}

static int64_t fire(const char *name, const char *tenant, int64_t at)
{
    int64_t id = -1;
    ck_assert_int_eq(store_alert_fire(st, name, tenant, "", "warning", at, "summary", &id), 0);
    ck_assert_int_gt(id, 0);
    return id;
}

/* A fired episode is one firing row with every field as given, its
 * last_notified_at the start, no resolved_at, and shows in the view. */
START_TEST(test_fire)
{
    char buf[128], t[TS_LEN];
    int64_t id = -1;
    ck_assert_int_eq(store_alert_fire(st, "TenantFailing", "acme", "members", "critical", T0,
                                      "acme: 5 failed calls in 10m", &id),
                     0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM alerts", 0), 1);
    ck_assert_int_eq(q_int("SELECT max(id) FROM alerts", 0), id);
    ck_assert_str_eq(q_text("SELECT name FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
                     "TenantFailing");
    ck_assert_str_eq(q_text("SELECT tenant FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
                     "acme");
    ck_assert_str_eq(q_text("SELECT resource FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
                     "members");
    ck_assert_str_eq(q_text("SELECT severity FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
                     "critical");
    ck_assert_str_eq(q_text("SELECT state FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
                     "firing");
    ck_assert_str_eq(q_text("SELECT summary FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
                     "acme: 5 failed calls in 10m");
    ck_assert_str_eq(q_text("SELECT started_at FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
                     ts(T0, t));
    ck_assert_str_eq(
        q_text("SELECT last_notified_at FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
        ts(T0, t));
    ck_assert_str_eq(q_text("SELECT resolved_at FROM alerts WHERE id = ?1", id, buf, sizeof(buf)),
                     "NULL");
    ck_assert_int_eq(q_int("SELECT count(*) FROM alerts_firing WHERE id = ?1", id), 1);
    ck_assert_str_eq(
        q_text("SELECT severity FROM alerts_firing WHERE id = ?1", id, buf, sizeof(buf)),
        "critical");

    /* A second fire is a second episode (the caller keeps one per key). */
    int64_t id2 = fire("TenantFailing", "acme", T0 + MIN_MS);
    ck_assert_int_gt(id2, id);
    ck_assert_int_eq(q_int("SELECT count(*) FROM alerts_firing", 0), 2);
}
END_TEST

/* A value the schema refuses fails with a message, and no row is left. */
START_TEST(test_fire_refused)
{
    int64_t id = -7;
    ck_assert_int_lt(store_alert_fire(st, "X", "", "", "page-me", T0, "s", &id), 0);
    ck_assert_int_eq(id, -7);
    ck_assert_ptr_nonnull(strstr(store_errmsg(st), "recording an alert"));
    ck_assert_int_eq(q_int("SELECT count(*) FROM alerts", 0), 0);
}
END_TEST

/* Resolving sets state, resolved_at and last_notified_at once: a repeat
 * keeps the first resolution, an unknown id changes no row, and the view
 * drops the episode. */
START_TEST(test_resolve)
{
    char buf[128], t[TS_LEN];
    int64_t a = fire("VomoServerErrors", "", T0);
    int64_t b = fire("TenantFailing", "acme", T0 + 1);
    ck_assert_int_eq(store_alert_resolve(st, a, T0 + 5 * MIN_MS), 0);
    ck_assert_str_eq(q_text("SELECT state FROM alerts WHERE id = ?1", a, buf, sizeof(buf)),
                     "resolved");
    ck_assert_str_eq(q_text("SELECT resolved_at FROM alerts WHERE id = ?1", a, buf, sizeof(buf)),
                     ts(T0 + 5 * MIN_MS, t));
    ck_assert_str_eq(
        q_text("SELECT last_notified_at FROM alerts WHERE id = ?1", a, buf, sizeof(buf)),
        ts(T0 + 5 * MIN_MS, t));
    ck_assert_str_eq(q_text("SELECT started_at FROM alerts WHERE id = ?1", a, buf, sizeof(buf)),
                     ts(T0, t));
    ck_assert_int_eq(q_int("SELECT count(*) FROM alerts_firing", 0), 1);
    ck_assert_int_eq(q_int("SELECT id FROM alerts_firing", 0), b);
    ck_assert_str_eq(q_text("SELECT state FROM alerts WHERE id = ?1", b, buf, sizeof(buf)),
                     "firing");

    /* Again, later: a no-op. */
    ck_assert_int_eq(store_alert_resolve(st, a, T0 + 9 * MIN_MS), 0);
    ck_assert_str_eq(q_text("SELECT resolved_at FROM alerts WHERE id = ?1", a, buf, sizeof(buf)),
                     ts(T0 + 5 * MIN_MS, t));
    ck_assert_int_eq(sqlite3_changes(store_db(st)), 0);

    /* An id that was never given out: success, nothing changed. */
    ck_assert_int_eq(store_alert_resolve(st, b + 1000, T0 + 9 * MIN_MS), 0);
    ck_assert_int_eq(sqlite3_changes(store_db(st)), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM alerts WHERE state = 'firing'", 0), 1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM alerts", 0), 2);
}
END_TEST

/* Firing only: oldest first (id breaks ties), resolved ones left out, the
 * strings and times as stored; the view agrees. */
START_TEST(test_each_firing)
{
    int64_t late = fire("B", "t2", T0 + 2 * MIN_MS);
    int64_t early = fire("A", "t1", T0);
    int64_t tie = fire("C", "", T0);
    int64_t gone = fire("D", "", T0 - MIN_MS);
    ck_assert_int_eq(store_alert_resolve(st, gone, T0 + 3 * MIN_MS), 0);

    struct seen s = {0};
    ck_assert_int_eq(store_alert_each(st, false, 0, 0, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_int_eq(s.id[0], early);
    ck_assert_int_eq(s.id[1], tie);
    ck_assert_int_eq(s.id[2], late);
    ck_assert_str_eq(s.name[0], "A");
    ck_assert_str_eq(s.tenant[0], "t1");
    ck_assert_str_eq(s.resource[0], "");
    ck_assert_str_eq(s.severity[0], "warning");
    ck_assert_str_eq(s.state[0], "firing");
    ck_assert_str_eq(s.summary[0], "summary");
    ck_assert_int_eq(s.started[0], T0);
    ck_assert_int_eq(s.resolved[0], 0);
    ck_assert_int_eq(s.started[2], T0 + 2 * MIN_MS);
    ck_assert_int_eq(q_int("SELECT id FROM alerts_firing LIMIT 1", 0), early);
    ck_assert_int_eq(q_int("SELECT count(*) FROM alerts_firing", 0), 3);

    /* Nothing firing: no callback. */
    ck_assert_int_eq(store_alert_resolve(st, early, T0 + 4 * MIN_MS), 0);
    ck_assert_int_eq(store_alert_resolve(st, tie, T0 + 4 * MIN_MS), 0);
    ck_assert_int_eq(store_alert_resolve(st, late, T0 + 4 * MIN_MS), 0);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(store_alert_each(st, false, 0, 0, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 0);
}
END_TEST

/* With all: firing episodes however old plus episodes started at or after
 * since, newest first, at most limit. */
START_TEST(test_each_all)
{
    int64_t old_firing = fire("Old", "", T0 - 60 * MIN_MS);
    int64_t old_resolved = fire("OldResolved", "", T0 - 50 * MIN_MS);
    ck_assert_int_eq(store_alert_resolve(st, old_resolved, T0 - 40 * MIN_MS), 0);
    int64_t at_since = fire("AtSince", "", T0);
    ck_assert_int_eq(store_alert_resolve(st, at_since, T0 + MIN_MS), 0);
    int64_t newest = fire("Newest", "", T0 + 2 * MIN_MS);

    struct seen s = {0};
    ck_assert_int_eq(store_alert_each(st, true, T0, 10, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_int_eq(s.id[0], newest);
    ck_assert_int_eq(s.id[1], at_since);
    ck_assert_str_eq(s.state[1], "resolved");
    ck_assert_int_eq(s.resolved[1], T0 + MIN_MS);
    ck_assert_int_eq(s.id[2], old_firing);

    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(store_alert_each(st, true, T0, 2, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.id[0], newest);
    ck_assert_int_eq(s.id[1], at_since);

    /* A since before everything lists every episode. */
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(store_alert_each(st, true, 0, 10, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 4);
    ck_assert_int_eq(s.id[3], old_firing);
}
END_TEST

struct paused {
    int n;
    char tenant[8][32];
    int64_t at[8];
};

static void on_paused(void *arg, const char *tenant, int64_t at_ms)
{
    struct paused *p = arg;
    ck_assert_int_lt(p->n, 8);
    snprintf(p->tenant[p->n], sizeof(p->tenant[0]), "%s", tenant);
    p->at[p->n++] = at_ms;
}

/* Each put replaces the whole table; an unknown freshness is NULL; only
 * writes_paused rows are listed as paused, with the time of the put. */
START_TEST(test_slo_status)
{
    char buf[64], t[TS_LEN];
    struct store_slo_status rows[2] = {
        {.tenant = "acme",
         .target = 0.995,
         .operations = 1000,
         .errors = 7,
         .consumed = 1.4,
         .remaining_ratio = -0.4,
         .burn_5m = 1,
         .burn_30m = 2,
         .burn_1h = 3,
         .burn_6h = 4,
         .burn_3d = 5,
         .freshness = -1,
         .action = "writes_paused"},
        {.tenant = "globex",
         .target = 0.99,
         .operations = 50,
         .errors = 0,
         .freshness = 0.75,
         .action = "none"},
    };
    ck_assert_int_eq(store_slo_status_put(st, rows, 2, T0), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM slo_status", 0), 2);
    ck_assert_int_eq(q_int("SELECT errors FROM slo_status WHERE tenant = 'acme'", 0), 7);
    ck_assert_int_eq(q_int("SELECT operations FROM slo_status WHERE tenant = 'acme'", 0), 1000);
    ck_assert_int_eq(q_int("SELECT burn_5m * 1000 + burn_30m * 100 + burn_1h * 10 + burn_6h "
                           "+ burn_3d * 10000 FROM slo_status WHERE tenant = 'acme'",
                           0),
                     51234);
    ck_assert_int_eq(q_int("SELECT round(consumed * 10) FROM slo_status WHERE tenant = 'acme'", 0),
                     14);
    ck_assert_int_eq(q_int("SELECT round(target * 1000) FROM slo_status WHERE tenant = 'acme'", 0),
                     995);
    ck_assert_int_eq(q_int("SELECT freshness IS NULL FROM slo_status WHERE tenant = 'acme'", 0), 1);
    ck_assert_int_eq(
        q_int("SELECT round(freshness * 100) FROM slo_status WHERE tenant = 'globex'", 0), 75);
    ck_assert_str_eq(
        q_text("SELECT updated_at FROM slo_status WHERE tenant = 'globex'", 0, buf, sizeof(buf)),
        ts(T0, t));

    struct paused p = {0};
    ck_assert_int_eq(store_slo_paused_each(st, on_paused, &p), 0);
    ck_assert_int_eq(p.n, 1);
    ck_assert_str_eq(p.tenant[0], "acme");
    ck_assert_int_eq(p.at[0], T0);

    /* The next tick knows only globex, now paused: acme's row is gone. */
    rows[1].action = "writes_paused";
    ck_assert_int_eq(store_slo_status_put(st, &rows[1], 1, T0 + MIN_MS), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM slo_status", 0), 1);
    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(store_slo_paused_each(st, on_paused, &p), 0);
    ck_assert_int_eq(p.n, 1);
    ck_assert_str_eq(p.tenant[0], "globex");
    ck_assert_int_eq(p.at[0], T0 + MIN_MS);

    /* No tenants: an empty table, and no transaction left open. */
    ck_assert_int_eq(store_slo_status_put(st, NULL, 0, T0 + 2 * MIN_MS), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM slo_status", 0), 0);
    ck_assert_int_eq(sqlite3_get_autocommit(store_db(st)), 1);
}
END_TEST

/* A row the schema refuses rolls the whole put back: the previous tick's
 * rows stay. */
START_TEST(test_slo_status_refused)
{
    struct store_slo_status ok = {.tenant = "acme", .target = 0.995, .action = "none"};
    ck_assert_int_eq(store_slo_status_put(st, &ok, 1, T0), 0);
    struct store_slo_status bad[2] = {
        {.tenant = "globex", .target = 0.99, .action = "none"},
        {.tenant = "initech", .target = 0.99, .action = NULL}, /* action NOT NULL */
    };
    ck_assert_int_lt(store_slo_status_put(st, bad, 2, T0 + MIN_MS), 0);
    ck_assert_ptr_nonnull(strstr(store_errmsg(st), "recording the error budget"));
    ck_assert_int_eq(sqlite3_get_autocommit(store_db(st)), 1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM slo_status", 0), 1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM slo_status WHERE tenant = 'acme'", 0), 1);
}
END_TEST

/* A note is stored, replaced, and removed by NULL or "" (removing an absent
 * note is fine). */
START_TEST(test_alert_note)
{
    char buf[128], t[TS_LEN];
    ck_assert_int_eq(store_alert_note(st, "ErrorClassSpike", "no history yet", T0), 0);
    ck_assert_str_eq(
        q_text("SELECT note FROM alert_notes WHERE name = 'ErrorClassSpike'", 0, buf, sizeof(buf)),
        "no history yet");
    ck_assert_str_eq(q_text("SELECT updated_at FROM alert_notes WHERE name = 'ErrorClassSpike'", 0,
                            buf, sizeof(buf)),
                     ts(T0, t));
    ck_assert_int_eq(store_alert_note(st, "ErrorClassSpike", "2 hours of history", T0 + MIN_MS), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM alert_notes", 0), 1);
    ck_assert_str_eq(
        q_text("SELECT note FROM alert_notes WHERE name = 'ErrorClassSpike'", 0, buf, sizeof(buf)),
        "2 hours of history");
    ck_assert_int_eq(store_alert_note(st, "Other", "x", T0), 0);
    ck_assert_int_eq(store_alert_note(st, "ErrorClassSpike", "", T0 + 2 * MIN_MS), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM alert_notes WHERE name = 'ErrorClassSpike'", 0),
                     0);
    ck_assert_int_eq(store_alert_note(st, "Other", NULL, T0 + 2 * MIN_MS), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM alert_notes", 0), 0);
    ck_assert_int_eq(store_alert_note(st, "Other", NULL, T0 + 3 * MIN_MS), 0);
}
END_TEST

/* A tenant never resumed reads 0; a request is stored with who asked, and
 * a later one replaces it. */
START_TEST(test_resume)
{
    char buf[64];
    int64_t at = -1;
    ck_assert_int_eq(store_slo_resume_at(st, "acme", &at), 0);
    ck_assert_int_eq(at, 0);
    ck_assert_int_eq(store_slo_resume_request(st, "acme", "alice", T0), 0);
    ck_assert_int_eq(store_slo_resume_at(st, "acme", &at), 0);
    ck_assert_int_eq(at, T0);
    ck_assert_str_eq(
        q_text("SELECT requested_by FROM slo_resumes WHERE tenant = 'acme'", 0, buf, sizeof(buf)),
        "alice");
    ck_assert_int_eq(store_slo_resume_request(st, "acme", "bob", T0 + MIN_MS), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM slo_resumes", 0), 1);
    ck_assert_int_eq(store_slo_resume_at(st, "acme", &at), 0);
    ck_assert_int_eq(at, T0 + MIN_MS);
    ck_assert_str_eq(
        q_text("SELECT requested_by FROM slo_resumes WHERE tenant = 'acme'", 0, buf, sizeof(buf)),
        "bob");
    at = -1;
    ck_assert_int_eq(store_slo_resume_at(st, "globex", &at), 0);
    ck_assert_int_eq(at, 0);
}
END_TEST

/* Episodes, notes and resumes outlive the process: a reopened database
 * lists what the last one left. */
START_TEST(test_reopen)
{
    int64_t id = fire("TenantFailing", "acme", T0);
    ck_assert_int_eq(store_slo_resume_request(st, "acme", "alice", T0), 0);
    store_close(st);
    ck_assert_int_eq(store_open(path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
    struct seen s = {0};
    ck_assert_int_eq(store_alert_each(st, false, 0, 0, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(s.id[0], id);
    ck_assert_int_eq(s.started[0], T0);
    int64_t at = 0;
    ck_assert_int_eq(store_slo_resume_at(st, "acme", &at), 0);
    ck_assert_int_eq(at, T0);
}
END_TEST

static Suite *store_alerts_suite(void)
{
    Suite *s = suite_create("store_alerts");
    TCase *tc = tcase_create("store_alerts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_fire);
    tcase_add_test(tc, test_fire_refused);
    tcase_add_test(tc, test_resolve);
    tcase_add_test(tc, test_each_firing);
    tcase_add_test(tc, test_each_all);
    tcase_add_test(tc, test_slo_status);
    tcase_add_test(tc, test_slo_status_refused);
    tcase_add_test(tc, test_alert_note);
    tcase_add_test(tc, test_resume);
    tcase_add_test(tc, test_reopen);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_alerts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
