/*
 * check_sync.c - integration suite of the sync engine against the fake
 * VOMO: backfill, incremental scans, shuffled pages with changes mid-scan,
 * per-record isolation (malformed records, webhook rejections), checkpoint
 * modes, reconciliation, and a page that is not JSON.  Every test asserts
 * what ended up in the state database, what the fake was asked, and what
 * its webhook sink received.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "testutil.h"
#include "util.h"

static bool scans1(void *arg)
{
    return tu_scans_at_least(arg, 1);
}

static bool scans2(void *arg)
{
    return tu_scans_at_least(arg, 2);
}

static const char *const resources[] = {"users", "groups", "projects"};

START_TEST(backfill_two_tenants_equals_dataset)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 120, 17, 31);
    tu_tenant(&env, "beta", 45, 16, 2);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL), *b = tu_tenant_ini("beta", NULL);
    char *ini = xasprintf("%s%s", a, b);
    tu_config(&env, NULL, ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, scans1, te.e, 10000));
    tu_engine_stop(&te);
    const char *tenants[] = {"acme", "beta"};
    for (int t = 0; t < 2; t++)
        for (int r = 0; r < 3; r++)
            ck_assert_msg(tu_mirror_diff(&env, tenants[t], resources[r]) == 0, "%s/%s differs",
                          tenants[t], resources[r]);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records", NULL),
                     120 + 17 + 31 + 45 + 16 + 2);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    ck_assert_int_eq(
        tu_db_int(&env,
                  "SELECT count(*) FROM checkpoints WHERE last_scan_status = 'complete' "
                  "AND updated_after > '1970-01-01T00:00:00.000Z'",
                  NULL),
        6);
    free(a);
    free(b);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Requests after `since` whose query carries updated_after. */
static int incremental_requests(struct tu_env *env, const char *path, int *with_filter)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &reqs, &n), 0);
    int total = 0;
    *with_filter = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(reqs[i].path, path) == 0) {
            total++;
            if (strstr(reqs[i].query, "updated_after="))
                (*with_filter)++;
        }
    fake_requests_free(reqs, n);
    return total;
}

START_TEST(incremental_applies_only_changes)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 90, 5, 5);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, NULL, a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, scans1, te.e, 10000));
    fake_requests_clear(env.fake);
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 7), 7);
    ck_assert(tu_run_until(&te, scans2, te.e, 10000));
    tu_engine_stop(&te);
    int filtered = 0;
    int total = incremental_requests(&env, "/v1/users", &filtered);
    ck_assert_int_ge(total, 1);
    ck_assert_int_eq(filtered, total);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    /* The second scan applied exactly the seven changed records. */
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT applied FROM scans WHERE resource = 'users' "
                               "ORDER BY id LIMIT 1 OFFSET 1",
                               NULL),
                     7);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* A resource that ignores updated_after sends everything every time: the
 * skip rule keeps unchanged records from being applied again. */
START_TEST(ignored_filter_skips_unchanged_records)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.groups_ignore_updated_after = true;
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 5, 40, 5);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = groups");
    tu_config(&env, NULL, a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, scans1, te.e, 10000));
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "groups", 3), 3);
    ck_assert(tu_run_until(&te, scans2, te.e, 10000));
    tu_engine_stop(&te);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "groups"), 0);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT applied FROM scans WHERE resource = 'groups' ORDER BY id "
                               "LIMIT 1 OFFSET 1",
                               NULL),
                     3);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT skipped FROM scans WHERE resource = 'groups' ORDER BY id "
                               "LIMIT 1 OFFSET 1",
                               NULL),
                     37);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

static void db_exec(struct tu_env *env, const char *sql)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(env->db_path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* The skip rule's second test, end to end: a record VOMO serves at the
 * version the destination holds, but with other content than the
 * destination holds, is applied again by a reconciliation; the others
 * are skipped. */
START_TEST(same_version_other_content_is_applied)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 0, 0);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, NULL, a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, scans1, te.e, 10000));
    tu_engine_stop(&te);
    char *id = tu_db_text(&env, "SELECT id FROM records ORDER BY id LIMIT 1 OFFSET 7", NULL);
    ck_assert_ptr_nonnull(id);
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE records SET payload = '{}', hash = '%064d' WHERE id = '%s'",
             0, id);
    db_exec(&env, sql);
    db_exec(&env, "UPDATE checkpoints SET updated_after = '" TS_EPOCH "'");
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, scans1, te.e, 10000));
    tu_engine_stop(&te);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT applied FROM scans WHERE kind = 'full' ORDER BY id DESC LIMIT 1",
                  NULL),
        1);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT skipped FROM scans WHERE kind = 'full' ORDER BY id DESC LIMIT 1",
                  NULL),
        29);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records WHERE payload = '{}'", NULL), 0);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    free(id);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- helpers of the tests below ---- */

static struct slot *slot_of(struct engine *e, const char *tenant, const char *resource)
{
    struct tenant *t = engine_tenant(e, tenant);
    enum resource r;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(resource_parse(resource, &r), 0);
    return &t->slots[r];
}

struct scan_wait {
    struct slot *slot;
    int64_t n;
};

static bool slot_finished_n(void *arg)
{
    struct scan_wait *w = arg;
    return w->slot->scans_finished >= w->n;
}

static bool slot_scanning(void *arg)
{
    return ((struct slot *)arg)->scan != NULL;
}

/* Runs until the slot has finished n scans in all (asserted). */
static void run_scans(struct tu_engine *te, struct slot *slot, int64_t n)
{
    struct scan_wait w = {slot, n};
    ck_assert_msg(tu_run_until(te, slot_finished_n, &w, 15000), "slot did not finish %lld scans",
                  (long long)n);
}

static char *checkpoint_of(struct tu_env *env, const char *tenant, const char *resource)
{
    char *v =
        tu_db_text(env, "SELECT updated_after FROM checkpoints WHERE tenant = ?1 AND resource = ?2",
                   tenant, resource, NULL);
    return v ? v : xstrdup("1970-01-01T00:00:00.000Z");
}

/* Index of the record whose updated_at is the median of the dataset, so the
 * checkpoint of a complete scan would pass it. */
static size_t median_record(const struct fake_record *recs, size_t n)
{
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        size_t below = 0;
        for (size_t j = 0; j < n; j++)
            below += strcmp(recs[j].updated_at, recs[i].updated_at) < 0;
        if (below == n / 2) {
            best = i;
            break;
        }
    }
    return best;
}

/* A fault rule that makes the webhook sink answer `status` for one record. */
static void hook_fault(struct tu_env *env, const char *id, int status)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    struct fake_fault r = {
        .path = "/_hooks/*", .body_contains = needle, .kind = FAKE_FAULT_STATUS, .status = status};
    ck_assert_int_gt(fake_add_fault(env->fake, &r), 0);
}

/* Webhook tenant section pointing at the fake's sink, secret file written. */
static char *webhook_tenant(struct tu_env *env, const char *name, const char *more)
{
    char secret[64];
    snprintf(secret, sizeof(secret), "hook-secret-of-%s", name);
    return tu_webhook_tenant_ini(env, name, "users", secret, secret, more);
}

/* Deliveries to `tenant` whose body carries "id":"ID" (status 2xx only when
 * ok_only). */
static int deliveries_of(struct tu_env *env, const char *tenant, const char *id, bool ok_only)
{
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &n), 0);
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    int count = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].tenant, tenant) == 0 && strstr(d[i].body, needle) &&
            (!ok_only || (d[i].status >= 200 && d[i].status < 300)))
            count++;
    fake_deliveries_free(d, n);
    return count;
}

/* ---- shuffled pages, records changing mid-scan ---- */

/* Watches every scan's end: a scan that did not complete must leave its
 * checkpoint exactly where it was. */
struct ckpt_watch {
    char prev[3][TS_LEN];
    int incomplete, complete, failed, moved_without_complete;
};
static struct ckpt_watch *watch;

static void on_scan_watch(struct engine *e, struct slot *slot, const char *status)
{
    struct checkpoint cp;
    ck_assert_int_eq(
        store_checkpoint_get(e->store, slot->tenant->name, resource_name(slot->res), &cp), 0);
    char *prev = watch->prev[slot->res];
    if (strcmp(status, "complete") == 0)
        watch->complete++;
    else if (strcmp(status, "incomplete") == 0)
        watch->incomplete++;
    else
        watch->failed++;
    if (strcmp(status, "complete") != 0 && strcmp(cp.updated_after, prev) != 0)
        watch->moved_without_complete++;
    snprintf(prev, TS_LEN, "%s", cp.updated_after);
}

static int mirror_diff_all(struct tu_env *env, const char *tenant)
{
    int diff = 0;
    for (int r = 0; r < 3; r++)
        diff += tu_mirror_diff(env, tenant, resources[r]);
    return diff;
}

START_TEST(shuffled_pages_with_changes_mid_scan_converge)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.shuffle = true;
    o.string_ids = true;
    o.next_style = FAKE_NEXT_STRING;
    o.latency_ms = 3;
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 150, 20, 8);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, NULL, a);
    struct ckpt_watch w;
    memset(&w, 0, sizeof(w));
    for (int r = 0; r < 3; r++)
        snprintf(w.prev[r], TS_LEN, "1970-01-01T00:00:00.000Z");
    watch = &w;
    struct tu_engine te;
    tu_engine_start(&env, &te);
    te.e->on_scan_done = on_scan_watch;
    struct slot *users = slot_of(te.e, "acme", "users");
    /* Three scans each see records change while their pages are read. */
    for (int round = 1; round <= 3; round++) {
        ck_assert(tu_run_until(&te, slot_scanning, users, 5000));
        ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 5), 5);
        ck_assert_int_eq(fake_mutate(env.fake, "acme", "groups", 2), 2);
        run_scans(&te, users, round);
    }
    /* Then the mirror converges within a bounded number of scans. */
    bool converged = false;
    for (int n = 4; n <= 12 && !converged; n++) {
        ck_assert(tu_run_until(&te, scans1, te.e, 5000));
        run_scans(&te, users, n);
        ck_assert(tu_scans_at_least(te.e, 1));
        converged = mirror_diff_all(&env, "acme") == 0;
    }
    tu_engine_stop(&te);
    watch = NULL;
    ck_assert_msg(converged, "mirror still differs: users %d groups %d projects %d",
                  tu_mirror_diff(&env, "acme", "users"), tu_mirror_diff(&env, "acme", "groups"),
                  tu_mirror_diff(&env, "acme", "projects"));
    ck_assert_int_eq(w.failed, 0);
    ck_assert_int_eq(w.moved_without_complete, 0);
    /* Fully shuffled, 150 users (ten pages) almost never complete in three
     * passes (each record is missed with p = (135/150)^30 = 0.04), so the
     * checkpoint stays at the epoch and every users scan is a full one. */
    ck_assert_int_gt(w.incomplete, 0);
    ck_assert_int_gt(w.complete, 0);
    ck_assert_int_gt(
        tu_db_int(&env, "SELECT count(*) FROM scans WHERE status = 'incomplete'", NULL), 0);
    /* The single-page resource always completes: its checkpoint moved. */
    char *cp = checkpoint_of(&env, "acme", "projects");
    ck_assert_str_gt(cp, "1970-01-01T00:00:00.000Z");
    free(cp);
    /* A resource whose last scan was incomplete kept the previous scan's checkpoint. */
    ck_assert_int_eq(
        tu_db_int(&env,
                  "SELECT count(*) FROM checkpoints c WHERE last_scan_status = "
                  "'incomplete' AND updated_after > (SELECT coalesce(max(finished_at), "
                  "'1970-01-01T00:00:00.000Z') FROM scans s WHERE s.tenant = c.tenant "
                  "AND s.resource = c.resource AND s.status = 'complete')",
                  NULL),
        0);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * With a non-zero safety_margin, a scan's checkpoint stays that far behind
 * VOMO's clock (its Date header) at the start of the scan, even when the
 * records it reads were changed during the scan, in the same second as its
 * start: they are then the newest the scan saw, and without the cap the
 * checkpoint would move up to them, past changes still being written.
 */
START_TEST(checkpoint_stays_safety_margin_behind_server_time)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 30;
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 45, 1, 1);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "poll.safety_margin = 5s\npoll.interval = 1h\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *users = slot_of(te.e, "acme", "users");
    ck_assert(tu_run_until(&te, slot_scanning, users, 5000));
    int64_t start = clock_wall_ms();
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 45), 45);
    run_scans(&te, users, 1);
    tu_engine_stop(&te);

    /* The scan read records changed after it started... */
    char *newest = tu_db_text(
        &env, "SELECT max(updated_at) FROM records WHERE tenant = 'acme' AND resource = 'users'",
        NULL);
    int64_t newest_ms, cp_ms;
    ck_assert_ptr_nonnull(newest);
    ck_assert_int_eq(ts_parse(newest, &newest_ms), 0);
    ck_assert_int_ge(newest_ms, start / 1000 * 1000);
    /* ...yet the checkpoint stays safety_margin behind the server's time at
     * the scan's start (a second for the Date header's resolution, a second
     * for the scan's first answer to arrive). */
    char *cp = checkpoint_of(&env, "acme", "users");
    ck_assert_int_eq(ts_parse(cp, &cp_ms), 0);
    ck_assert_msg(cp_ms <= start - 5000 + 2000, "checkpoint %s, newest record %s", cp, newest);
    ck_assert_int_ge(cp_ms, start - 5000 - 2000);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM scans WHERE status = 'complete'", NULL),
                     1);
    free(cp);
    free(newest);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- per-record isolation ---- */

START_TEST(malformed_records_are_isolated)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 5, 5);
    tu_fake_start(&env);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env.fake, "acme", "users", &recs, &n), 0);
    ck_assert_uint_eq(n, 40);
    /* One of each kind, spread over pages 1 to 3. */
    const size_t victims[] = {3, 10, 17, 25};
    const int kinds[] = {FAKE_CORRUPT_NO_UPDATED_AT, FAKE_CORRUPT_NO_ID,
                         FAKE_CORRUPT_BAD_UPDATED_AT, FAKE_CORRUPT_ID_OBJECT};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(fake_corrupt(env.fake, "acme", "users", recs[victims[i]].id, kinds[i]), 0);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, NULL, a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    /* Several scans: a malformed record seen again is not dead-lettered again. */
    run_scans(&te, slot_of(te.e, "acme", "users"), 3);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 4);
    /* ... nor touched again: one event each, its creation. */
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq_events", NULL), 4);
    /* A person discards one: the same bytes seen again do not bring it back. */
    ck_assert_int_eq(store_dlq_close(te.store, 1, "discarded", "discarded", "known bad", "tester",
                                     "2026-01-01T00:00:00.000Z"),
                     0);
    run_scans(&te, slot_of(te.e, "acme", "users"), 5);
    tu_engine_stop(&te);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 4);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq WHERE status = 'discarded'", NULL),
                     1);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq_events", NULL), 5);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE status IN ('manual_review', "
                               "'discarded') AND error_class = 'bad_data' AND tenant = 'acme' "
                               "AND resource = 'users' AND payload IS NOT NULL",
                               NULL),
                     4);
    for (int i = 0; i < 4; i++) {
        const char *id = recs[victims[i]].id;
        /* Each payload is the record as received: its email carries the id. */
        char *like = xasprintf("%%.%s@example.org%%", id);
        ck_assert_msg(
            tu_db_int(&env, "SELECT count(*) FROM dlq WHERE payload LIKE ?1", like, NULL) == 1,
            "no dead letter holds record %s", id);
        free(like);
        ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records WHERE id = ?1", id, NULL),
                         0);
    }
    /* The kinds that still carry an id are filed under it. */
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq WHERE record_id IN (?1, ?2)",
                               recs[3].id, recs[17].id, NULL),
                     2);
    /* Everything else of those pages is applied. */
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records WHERE resource = 'users'", NULL),
                     36);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 4);
    fake_records_free(recs, n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* Checks one delivered body against the contract. */
static void check_body(const char *body, const struct fake_record *rec)
{
    cJSON *j = cJSON_Parse(body);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "tenant")), "acme");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "resource")), "users");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "action")), "upsert");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")), rec->id);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "updated_at")), rec->updated_at);
    cJSON *data = cJSON_GetObjectItem(j, "data");
    ck_assert(cJSON_IsObject(data));
    char *want = xasprintf("%s", rec->payload);
    char *got = cJSON_PrintUnformatted(data);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    cJSON_Delete(j);
}

START_TEST(webhook_rejection_is_isolated)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 0, 0);
    tu_fake_start(&env);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env.fake, "acme", "users", &recs, &n), 0);
    const char *victim = recs[7].id;
    hook_fault(&env, victim, 422);
    char *a = webhook_tenant(&env, "acme", NULL);
    tu_config(&env, NULL, a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    run_scans(&te, slot_of(te.e, "acme", "users"), 2);
    tu_engine_stop(&te);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 1);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE record_id = ?1 AND status = "
                               "'manual_review' AND error_class = 'validation' AND http_status = "
                               "422 AND payload IS NOT NULL",
                               victim, NULL),
                     1);
    /* Rejected once, and not re-sent by the second scan: the DLQ owns it. */
    ck_assert_int_eq(deliveries_of(&env, "acme", victim, false), 1);
    ck_assert_int_eq(deliveries_of(&env, "acme", victim, true), 0);
    struct fake_delivery *d;
    size_t nd;
    ck_assert_int_eq(fake_deliveries(env.fake, &d, &nd), 0);
    for (size_t i = 0; i < n; i++) {
        if (i == 7)
            continue;
        char needle[64], key[128];
        snprintf(needle, sizeof(needle), "\"id\":\"%s\"", recs[i].id);
        snprintf(key, sizeof(key), "acme:users:%s:%s", recs[i].id, recs[i].updated_at);
        int ok = 0;
        for (size_t k = 0; k < nd; k++) {
            if (!strstr(d[k].body, needle))
                continue;
            ck_assert_int_eq(d[k].status / 100, 2);
            ck_assert(d[k].signature_ok);
            ck_assert_str_eq(d[k].idempotency_key, key);
            check_body(d[k].body, &recs[i]);
            ok++;
        }
        ck_assert_msg(ok == 1, "record %s delivered %d times", recs[i].id, ok);
    }
    fake_deliveries_free(d, nd);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 1);
    fake_records_free(recs, n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- checkpoint modes ---- */

static bool hold_attempts_at_least(struct tu_env *env, const char *id, int n)
{
    return tu_db_int(env, "SELECT attempts FROM holds WHERE record_id = ?1", id, NULL) >= n;
}

START_TEST(hold_mode_keeps_checkpoint_before_failed_record)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 0, 0);
    tu_fake_start(&env);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env.fake, "acme", "users", &recs, &n), 0);
    const struct fake_record *v = &recs[median_record(recs, n)];
    hook_fault(&env, v->id, 503);
    char *a = webhook_tenant(&env, "acme", "checkpoint_mode = hold");
    tu_config(&env, "retry.max_attempts = 2\ndlq.max_attempts = 3\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *users = slot_of(te.e, "acme", "users");
    for (int scan = 1; scan <= 2; scan++) {
        run_scans(&te, users, scan);
        ck_assert_int_eq(
            tu_db_int(&env, "SELECT attempts FROM holds WHERE record_id = ?1", v->id, NULL), scan);
        char *cp = checkpoint_of(&env, "acme", "users");
        ck_assert_msg(strcmp(cp, v->updated_at) <= 0, "checkpoint %s passed held %s", cp,
                      v->updated_at);
        free(cp);
        ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
        /* Each scan tried it again (two attempts per scan). */
        ck_assert_int_eq(deliveries_of(&env, "acme", v->id, false), 2 * scan);
    }
    ck_assert(hold_attempts_at_least(&env, v->id, 2));
    /* The third failing scan dead-letters it; the checkpoint may then pass it. */
    run_scans(&te, users, 3);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM holds", NULL), 0);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE record_id = ?1 AND status IN "
                               "('pending', 'manual_review')",
                               v->id, NULL),
                     1);
    run_scans(&te, users, 4);
    tu_engine_stop(&te);
    char *cp = checkpoint_of(&env, "acme", "users");
    ck_assert_msg(strcmp(cp, v->updated_at) > 0, "checkpoint %s still before %s", cp,
                  v->updated_at);
    free(cp);
    ck_assert_int_eq(deliveries_of(&env, "acme", v->id, false), 6);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 1);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 1);
    fake_records_free(recs, n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(dlq_mode_passes_failed_record)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 0, 0);
    tu_fake_start(&env);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env.fake, "acme", "users", &recs, &n), 0);
    const struct fake_record *v = &recs[median_record(recs, n)];
    hook_fault(&env, v->id, 503);
    char *a = webhook_tenant(&env, "acme", "checkpoint_mode = dlq");
    tu_config(&env, "retry.max_attempts = 2\ndlq.base_delay = 1h\ndlq.max_delay = 2h\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *users = slot_of(te.e, "acme", "users");
    run_scans(&te, users, 1);
    char *cp = checkpoint_of(&env, "acme", "users");
    ck_assert_msg(strcmp(cp, v->updated_at) > 0, "checkpoint %s did not pass %s", cp,
                  v->updated_at);
    free(cp);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE record_id = ?1 AND status = "
                               "'pending' AND attempts = 1 AND http_status = 503 AND "
                               "record_updated_at = ?2 AND next_attempt_at IS NOT NULL",
                               v->id, v->updated_at, NULL),
                     1);
    run_scans(&te, users, 2);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 1);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM holds", NULL), 0);
    ck_assert_int_eq(deliveries_of(&env, "acme", v->id, false), 2);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 1);
    /* A newer version is a change like any other: once it is delivered, the
     * older dead letter is resolved as superseded. */
    fake_clear_faults(env.fake);
    ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "users", v->id), 0);
    run_scans(&te, users, 4);
    tu_engine_stop(&te);
    ck_assert_int_eq(deliveries_of(&env, "acme", v->id, true), 1);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE record_id = ?1 AND status = "
                               "'resolved' AND resolution = 'superseded'",
                               v->id, NULL),
                     1);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    fake_records_free(recs, n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- reconciliation ---- */

struct progress_wait {
    struct slot *slot;
    int pages;
};

static bool scan_has_pages(void *arg)
{
    struct progress_wait *w = arg;
    if (!w->slot->scan)
        return false;
    int done, last;
    int64_t records, started;
    scan_progress(w->slot->scan, &done, &last, &records, &started);
    return done >= w->pages;
}

static bool deleted_rows_2(void *arg)
{
    return tu_db_int(arg, "SELECT count(*) FROM records WHERE deleted_at IS NOT NULL", NULL) >= 2;
}

START_TEST(reconcile_marks_deletions_only_after_complete_full_scan)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 40;
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 100, 0, 0);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    /* One page at a time: after the first page of the second scan, six
     * more take 240 ms, time enough to fault them even on a loaded machine
     * (with four in flight, all could be answered before the fault). */
    tu_config(&env,
              "poll.reconcile_interval = 1ms\nretry.max_attempts = 1\nvomo.max_concurrency = 1\n",
              a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *users = slot_of(te.e, "acme", "users");
    run_scans(&te, users, 1);
    ck_assert_int_eq(users->scans_complete, 1);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    const char *gone[] = {"", "", ""};
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env.fake, "acme", "users", &recs, &n), 0);
    gone[0] = recs[0].id;
    gone[1] = recs[50].id;
    gone[2] = recs[99].id;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fake_delete_id(env.fake, "acme", "users", gone[i]), 0);
    /* The next full scan fails on a later page: it must delete nothing. */
    struct progress_wait pw = {users, 1};
    ck_assert(tu_run_until(&te, scan_has_pages, &pw, 5000));
    struct fake_fault f = {.path = "/v1/users", .kind = FAKE_FAULT_STATUS, .status = 503};
    int rule = fake_add_fault(env.fake, &f);
    ck_assert_int_gt(rule, 0);
    run_scans(&te, users, 2);
    ck_assert_int_eq(users->scans_failed, 1);
    ck_assert_int_gt(fake_fault_hits(env.fake, rule), 0);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM records WHERE deleted_at IS NOT NULL", NULL), 0);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM scans WHERE kind = 'full' AND status = "
                               "'failed' AND deleted = 0",
                               NULL),
                     1);
    /* Once VOMO answers again, a complete full scan finds the deletions. */
    fake_clear_faults(env.fake);
    ck_assert(tu_run_until(&te, deleted_rows_2, &env, 10000));
    int64_t done = users->scans_finished;
    run_scans(&te, users, done + 1);
    tu_engine_stop(&te);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM records WHERE deleted_at IS NOT NULL", NULL), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tu_db_int(&env,
                                   "SELECT count(*) FROM records WHERE id = ?1 AND deleted_at IS "
                                   "NOT NULL",
                                   gone[i], NULL),
                         1);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT sum(deleted) FROM scans WHERE status = 'complete'", NULL), 3);
    fake_records_free(recs, n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(reconcile_tells_webhook_of_deletions)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "hook", 30, 0, 0);
    tu_fake_start(&env);
    char *a = webhook_tenant(&env, "hook", NULL);
    tu_config(&env, "poll.reconcile_interval = 1ms\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *users = slot_of(te.e, "hook", "users");
    run_scans(&te, users, 1);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env.fake, "hook", "users", &recs, &n), 0);
    const char *gone[] = {recs[4].id, recs[20].id};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(fake_delete_id(env.fake, "hook", "users", gone[i]), 0);
    ck_assert(tu_run_until(&te, deleted_rows_2, &env, 10000));
    tu_engine_stop(&te);
    struct fake_delivery *d;
    size_t nd;
    ck_assert_int_eq(fake_deliveries(env.fake, &d, &nd), 0);
    int deletes = 0;
    for (size_t k = 0; k < nd; k++) {
        if (!strstr(d[k].body, "\"action\":\"delete\""))
            continue;
        deletes++;
        cJSON *j = cJSON_Parse(d[k].body);
        ck_assert_ptr_nonnull(j);
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));
        ck_assert_ptr_nonnull(id);
        ck_assert(strcmp(id, gone[0]) == 0 || strcmp(id, gone[1]) == 0);
        ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "data")));
        ck_assert(strstr(d[k].body, "\"data\":null") != NULL);
        ck_assert(d[k].signature_ok);
        char *at = tu_db_text(&env, "SELECT deleted_at FROM records WHERE id = ?1", id, NULL);
        ck_assert_ptr_nonnull(at);
        ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "updated_at")), at);
        char key[128];
        snprintf(key, sizeof(key), "hook:users:%s:%s", id, at);
        ck_assert_str_eq(d[k].idempotency_key, key);
        free(at);
        cJSON_Delete(j);
    }
    ck_assert_int_eq(deletes, 2);
    fake_deliveries_free(d, nd);
    ck_assert_int_eq(tu_mirror_diff(&env, "hook", "users"), 0);
    fake_records_free(recs, n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- a page that is not JSON ---- */

START_TEST(malformed_page_is_retried_whole)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 50, 0, 0);
    tu_fake_start(&env);
    struct fake_fault f = {.path = "/v1/users", .kind = FAKE_FAULT_MALFORMED, .count = 1};
    int rule = fake_add_fault(env.fake, &f);
    ck_assert_int_gt(rule, 0);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, NULL, a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    run_scans(&te, slot_of(te.e, "acme", "users"), 1);
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_fault_hits(env.fake, rule), 1);
    struct fake_request *reqs;
    size_t nr;
    ck_assert_int_eq(fake_requests(env.fake, &reqs, &nr), 0);
    const char *bad_query = NULL;
    for (size_t i = 0; i < nr; i++)
        if (strcmp(reqs[i].fault, "malformed") == 0)
            bad_query = reqs[i].query;
    ck_assert_ptr_nonnull(bad_query);
    int again = 0, total = 0;
    for (size_t i = 0; i < nr; i++)
        if (strcmp(reqs[i].path, "/v1/users") == 0 && strcmp(reqs[i].query, bad_query) == 0) {
            total++;
            again += reqs[i].status == 200 && reqs[i].fault[0] == '\0';
        }
    ck_assert_int_eq(total, 2);
    ck_assert_int_eq(again, 1);
    fake_requests_free(reqs, nr);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records", NULL), 50);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT applied FROM scans WHERE status = 'complete' ORDER BY id LIMIT 1",
                  NULL),
        50);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

struct complete_wait {
    struct slot *slot;
    int64_t n;
};

static bool slot_completed_n(void *arg)
{
    struct complete_wait *w = arg;
    return w->slot->scans_complete >= w->n;
}

/*
 * A full disk (simulated with max_page_count): pages cannot be saved, the
 * scans fail, the checkpoint does not move, the daemon keeps running; once
 * there is room again the next scan saves everything.
 */
START_TEST(full_disk_keeps_the_checkpoint_and_recovers)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 200, 0, 0);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "poll.interval = 100ms\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    sqlite3 *db = store_db(te.store);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1", NULL, NULL, NULL), SQLITE_OK);
    struct slot *slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 2);
    ck_assert_int_eq(slot->scans_failed, slot->scans_finished);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records", NULL), 0);
    char *ck = checkpoint_of(&env, "acme", "users");
    ck_assert_str_eq(ck, "1970-01-01T00:00:00.000Z");
    free(ck);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA max_page_count = 1073741823", NULL, NULL, NULL),
                     SQLITE_OK);
    int64_t complete = slot->scans_complete;
    ck_assert_int_eq(complete, 0);
    struct complete_wait w = {slot, 1};
    ck_assert(tu_run_until(&te, slot_completed_n, &w, 10000));
    tu_engine_stop(&te);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    ck = checkpoint_of(&env, "acme", "users");
    ck_assert_str_ne(ck, "1970-01-01T00:00:00.000Z");
    free(ck);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * A stop while a scan is in flight lets the requests on the wire finish
 * and then ends at once: it does not wait out daemon.shutdown_timeout.
 */
START_TEST(stop_mid_scan_is_prompt)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 200;
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 300, 0, 0);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "daemon.shutdown_timeout = 20s\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *slot = slot_of(te.e, "acme", "users");
    ck_assert(tu_run_until(&te, slot_scanning, slot, 5000));
    tu_run_for(&te, 300);
    ck_assert_ptr_nonnull(slot->scan);
    int64_t t0 = clock_mono_ms();
    tu_engine_stop(&te);
    int64_t took = clock_mono_ms() - t0;
    ck_assert_msg(took < 3000, "stop took %lld ms", (long long)took);
    /* What was saved is consistent: no record ahead of a moved checkpoint. */
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM checkpoints WHERE updated_after > "
                               "'1970-01-01T00:00:00.000Z'",
                               NULL),
                     0);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * A 10 MB answer (over vomo.max_response_size) is a classified failure,
 * not a crash or a half-read page: the request is retried and the scan
 * completes with every record.
 */
START_TEST(oversized_page_is_refused_and_retried)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 0, 0);
    tu_fake_start(&env);
    size_t big = 10u * 1024 * 1024;
    char *body = xmalloc(big + 1);
    memset(body, ' ', big);
    memcpy(body, "{\"data\":[", 9);
    memcpy(body + big - 3, "]}\n", 3);
    body[big] = '\0';
    struct fake_fault f = {
        .path = "/v1/users", .kind = FAKE_FAULT_STATUS, .status = 200, .body = body, .count = 1};
    int rule = fake_add_fault(env.fake, &f);
    ck_assert_int_gt(rule, 0);
    free(body); /* the fake keeps its own copy */
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "vomo.max_response_size = 1MiB\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    run_scans(&te, slot_of(te.e, "acme", "users"), 1);
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_fault_hits(env.fake, rule), 1);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM scans WHERE status = 'complete'", NULL),
                     1);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * A database another process keeps locked (an operator's long write):
 * pages cannot be saved past the busy timeout, the scan fails without
 * moving the checkpoint, and once the lock is gone everything is saved.
 */
START_TEST(locked_database_keeps_the_checkpoint_and_recovers)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 60, 0, 0);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "poll.interval = 100ms\n", a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    store_set_busy_timeout(te.store, 50);
    sqlite3 *other;
    ck_assert_int_eq(sqlite3_open(env.db_path, &other), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    struct slot *slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 1);
    ck_assert_int_ge(slot->scans_failed, 1);
    ck_assert_int_eq(slot->scans_failed, slot->scans_finished);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records", NULL), 0);
    ck_assert_int_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    struct complete_wait w = {slot, 1};
    ck_assert(tu_run_until(&te, slot_completed_n, &w, 10000));
    tu_engine_stop(&te);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    char *ck = checkpoint_of(&env, "acme", "users");
    ck_assert_str_ne(ck, "1970-01-01T00:00:00.000Z");
    free(ck);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * A version a person discarded is settled: even full scans that list it
 * again do not send it again.  A newer version in VOMO is sent as usual.
 */
START_TEST(discarded_version_is_not_sent_again)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 20, 0, 0);
    tu_fake_start(&env);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env.fake, "acme", "users", &recs, &n), 0);
    char victim[32];
    snprintf(victim, sizeof(victim), "%s", recs[3].id);
    fake_records_free(recs, n);
    hook_fault(&env, victim, 422);
    char *a = webhook_tenant(&env, "acme", NULL);
    tu_config(&env, "poll.reconcile_interval = 1ms\n", a); /* every scan is a full one */
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct slot *slot = slot_of(te.e, "acme", "users");
    run_scans(&te, slot, 1);
    ck_assert_int_eq(deliveries_of(&env, "acme", victim, false), 1);
    int64_t id = tu_db_int(&env, "SELECT id FROM dlq WHERE record_id = ?1", victim, NULL);
    ck_assert_int_gt(id, 0);
    ck_assert_int_eq(store_dlq_close(te.store, id, "discarded", "discarded", "receiver refuses it",
                                     "tester", "2026-01-01T00:00:00.000Z"),
                     0);
    run_scans(&te, slot, slot->scans_finished + 2);
    ck_assert_int_eq(deliveries_of(&env, "acme", victim, false), 1);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 1);
    fake_clear_faults(env.fake);
    ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "users", victim), 0);
    run_scans(&te, slot, slot->scans_finished + 1);
    tu_engine_stop(&te);
    ck_assert_int_eq(deliveries_of(&env, "acme", victim, true), 1);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, backfill_two_tenants_equals_dataset);
    tcase_add_test(tc, incremental_applies_only_changes);
    tcase_add_test(tc, ignored_filter_skips_unchanged_records);
    tcase_add_test(tc, same_version_other_content_is_applied);
    tcase_add_test(tc, shuffled_pages_with_changes_mid_scan_converge);
    tcase_add_test(tc, checkpoint_stays_safety_margin_behind_server_time);
    tcase_add_test(tc, malformed_records_are_isolated);
    tcase_add_test(tc, webhook_rejection_is_isolated);
    tcase_add_test(tc, hold_mode_keeps_checkpoint_before_failed_record);
    tcase_add_test(tc, dlq_mode_passes_failed_record);
    tcase_add_test(tc, reconcile_marks_deletions_only_after_complete_full_scan);
    tcase_add_test(tc, reconcile_tells_webhook_of_deletions);
    tcase_add_test(tc, malformed_page_is_retried_whole);
    tcase_add_test(tc, full_disk_keeps_the_checkpoint_and_recovers);
    tcase_add_test(tc, stop_mid_scan_is_prompt);
    tcase_add_test(tc, oversized_page_is_refused_and_retried);
    tcase_add_test(tc, locked_database_keeps_the_checkpoint_and_recovers);
    tcase_add_test(tc, discarded_version_is_not_sent_again);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sync_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
