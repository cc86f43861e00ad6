/*
 * check_dlq.c - integration suite of the DLQ processor against the fake
 * VOMO and its webhook sink: transient failures drain once the destination
 * recovers, validation failures wait for a person without retries, the
 * latest version is what gets delivered, records deleted in VOMO resolve as
 * gone, an open breaker pauses processing without burning attempts, the
 * operator's `dlq retry` (the real binary) is picked up, a stop mid-batch
 * loses nothing, and scans leave a dead-lettered version to the DLQ.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dlqproc.h"
#include "tenant.h"
#include "testutil.h"
#include "util.h"

#define SECRET "whsec-dlq-suite-0123456789"

/* ---- set-up ---- */

/* A webhook tenant on the fake's sink (signatures checked) for `resources`. */
static char *webhook_tenant(struct tu_env *env, const char *name, const char *resources)
{
    return tu_webhook_tenant_ini(env, name, resources, SECRET, SECRET, NULL);
}

/* The first n ids of a resource in the fake (id order). */
static void first_ids(struct tu_env *env, const char *resource, char ids[][32], size_t n)
{
    struct fake_record *recs;
    size_t have;
    ck_assert_int_eq(fake_records(env->fake, "acme", resource, &recs, &have), 0);
    ck_assert_uint_ge(have, n);
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], 32, "%s", recs[i].id);
    fake_records_free(recs, have);
}

/* The fake's current version of one record ("" when it has none). */
static void fake_version(struct tu_env *env, const char *resource, const char *id, char out[TS_LEN])
{
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env->fake, "acme", resource, &recs, &n), 0);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (strcmp(recs[i].id, id) == 0)
            snprintf(out, TS_LEN, "%s", recs[i].updated_at);
    fake_records_free(recs, n);
}

/* The sink answers `status` (or hangs when status is 0) for these records. */
static void sink_fails(struct tu_env *env, char ids[][32], size_t n, int status)
{
    for (size_t i = 0; i < n; i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "\"id\":\"%s\"", ids[i]);
        struct fake_fault f = {.path = "/_hooks/*",
                               .body_contains = needle,
                               .kind = status ? FAKE_FAULT_STATUS : FAKE_FAULT_HANG,
                               .status = status};
        ck_assert_int_gt(fake_add_fault(env->fake, &f), 0);
    }
}

/* ---- what the sink saw ---- */

struct seen {
    int total; /* deliveries of the record, any answer */
    int ok;    /* answered 2xx with a good signature */
    char last_ok_version[TS_LEN];
};

/* Deliveries of one record (resource, id) as the sink recorded them. */
static struct seen sink_seen(struct tu_env *env, const char *resource, const char *id)
{
    struct seen s = {0};
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &n), 0);
    for (size_t i = 0; i < n; i++) {
        cJSON *body = cJSON_Parse(d[i].body);
        ck_assert_ptr_nonnull(body);
        const char *res = cJSON_GetStringValue(cJSON_GetObjectItem(body, "resource"));
        const char *rid = cJSON_GetStringValue(cJSON_GetObjectItem(body, "id"));
        const char *ver = cJSON_GetStringValue(cJSON_GetObjectItem(body, "updated_at"));
        if (res && rid && strcmp(res, resource) == 0 && strcmp(rid, id) == 0) {
            s.total++;
            if (d[i].status / 100 == 2 && d[i].signature_ok) {
                s.ok++;
                snprintf(s.last_ok_version, TS_LEN, "%s", ver ? ver : "");
            }
        }
        cJSON_Delete(body);
    }
    fake_deliveries_free(d, n);
    return s;
}

/* GET requests the fake answered for one record. */
static int vomo_gets(struct tu_env *env, const char *resource, const char *id)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/%s/%s", resource, id);
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &r, &n), 0);
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += strcmp(r[i].method, "GET") == 0 && strcmp(r[i].path, path) == 0;
    fake_requests_free(r, n);
    return count;
}

/* ---- the state database ---- */

static int64_t rows_with(struct tu_env *env, const char *status)
{
    return tu_db_int(env, "SELECT count(*) FROM dlq WHERE status = ?1", status, NULL);
}

static int64_t row_attempts(struct tu_env *env, const char *id)
{
    return tu_db_int(env, "SELECT attempts FROM dlq WHERE record_id = ?1 ORDER BY id DESC LIMIT 1",
                     id, NULL);
}

static int64_t attempts_sum(struct tu_env *env)
{
    return tu_db_int(env, "SELECT coalesce(sum(attempts), 0) FROM dlq", NULL);
}

/* The newest dlq row of a record: status, resolution and id. */
static void row_state(struct tu_env *env, const char *resource, const char *id, char *status,
                      char *resolution, int64_t *dlq_id)
{
    static const char *const q = "SELECT %s FROM dlq WHERE tenant = 'acme' AND resource = ?1 "
                                 "AND record_id = ?2 ORDER BY id DESC LIMIT 1";
    char sql[256];
    snprintf(sql, sizeof(sql), q, "status");
    char *s = tu_db_text(env, sql, resource, id, NULL);
    snprintf(sql, sizeof(sql), q, "resolution");
    char *r = tu_db_text(env, sql, resource, id, NULL);
    snprintf(sql, sizeof(sql), q, "id");
    if (dlq_id)
        *dlq_id = tu_db_int(env, sql, resource, id, NULL);
    snprintf(status, 32, "%s", s ? s : "(none)");
    snprintf(resolution, 32, "%s", r ? r : "(none)");
    free(s);
    free(r);
}

/* The version the records table holds for a live record ("" when none). */
static void held_version(struct tu_env *env, const char *resource, const char *id, char out[TS_LEN])
{
    char *v = tu_db_text(env,
                         "SELECT updated_at FROM records WHERE tenant = 'acme' AND resource = ?1 "
                         "AND id = ?2 AND deleted_at IS NULL",
                         resource, id, NULL);
    snprintf(out, TS_LEN, "%s", v ? v : "");
    free(v);
}

/* ---- predicates for tu_run_until ---- */

struct want {
    struct tu_env *env;
    struct tu_engine *te;
    const char *status; /* a dlq status, or a resource for slot_scans_reach */
    int64_t n;
};

static bool scans1(void *arg)
{
    struct want *w = arg;
    return tu_scans_at_least(w->te->e, 1);
}

static bool rows_reach(void *arg)
{
    struct want *w = arg;
    return rows_with(w->env, w->status) >= w->n;
}

/* There are pending rows, and every one has been tried at least n times. */
static bool all_attempts_reach(void *arg)
{
    struct want *w = arg;
    return tu_db_int(w->env, "SELECT count(*) FROM dlq WHERE status = 'pending'", NULL) > 0 &&
           tu_db_int(w->env, "SELECT min(attempts) FROM dlq WHERE status = 'pending'", NULL) >=
               w->n;
}

static bool dest_breaker_open(void *arg)
{
    struct want *w = arg;
    struct tenant *t = engine_tenant(w->te->e, "acme");
    return t && t->dest_breaker.state == BREAKER_OPEN;
}

static bool sink_requests_reach(void *arg)
{
    struct want *w = arg;
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(w->env->fake, &r, &n), 0);
    int64_t hung = 0;
    for (size_t i = 0; i < n; i++)
        hung += strncmp(r[i].path, "/_hooks/", 8) == 0 && strcmp(r[i].fault, "hang") == 0;
    fake_requests_free(r, n);
    return hung >= w->n;
}

static bool slot_scans_reach(void *arg)
{
    struct want *w = arg;
    return tu_slot_scans(w->te->e, "acme", w->status) >= w->n;
}

/* ---- tests ---- */

/*
 * Three records fail with 503 on the destination and are dead-lettered at
 * once (no in-cycle retries); the processor keeps retrying them while the
 * sink fails, and once it recovers they drain to resolved/delivered.
 */
START_TEST(transient_failures_drain_when_destination_recovers)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 12, 0, 0);
    tu_fake_start(&env);
    char ids[3][32];
    first_ids(&env, "users", ids, 3);
    sink_fails(&env, ids, 3, 503);
    char *ini = webhook_tenant(&env, "acme", "users");
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.interval = 100ms\ndlq.base_delay = 20ms\n"
              "dlq.max_delay = 100ms\ndlq.max_attempts = 50\nbreaker.failure_threshold = 1000\n"
              "poll.interval = 1h\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .n = 3};
    ck_assert(tu_run_until(&te, scans1, &w, 10000));
    ck_assert_int_eq(rows_with(&env, "pending"), 3);
    /* The processor tries them again while the sink still fails. */
    ck_assert(tu_run_until(&te, all_attempts_reach, &w, 10000));
    ck_assert_int_eq(rows_with(&env, "pending"), 3);
    ck_assert_int_ge(dlqproc_stats(te.e->dlq)->failed, 6);
    ck_assert_int_eq(dlqproc_stats(te.e->dlq)->resolved, 0);
    fake_clear_faults(env.fake);
    w = (struct want){.env = &env, .te = &te, .status = "resolved", .n = 3};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    ck_assert_int_eq(dlqproc_stats(te.e->dlq)->resolved, 3);
    tu_engine_stop(&te);
    for (int i = 0; i < 3; i++) {
        char status[32], resolution[32], want_v[TS_LEN], held[TS_LEN];
        row_state(&env, "users", ids[i], status, resolution, NULL);
        ck_assert_str_eq(status, "resolved");
        ck_assert_str_eq(resolution, "delivered");
        struct seen s = sink_seen(&env, "users", ids[i]);
        ck_assert_int_eq(s.ok, 1);
        ck_assert_int_ge(s.total, 3);
        fake_version(&env, "users", ids[i], want_v);
        ck_assert_str_eq(s.last_ok_version, want_v);
        held_version(&env, "users", ids[i], held);
        ck_assert_str_eq(held, want_v);
    }
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    ck_assert_int_eq(rows_with(&env, "pending") + rows_with(&env, "manual_review"), 0);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* 422 is validation: straight to manual_review, never retried by itself. */
START_TEST(validation_goes_to_manual_review_without_retries)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 0, 0);
    tu_fake_start(&env);
    char ids[2][32];
    first_ids(&env, "users", ids, 2);
    sink_fails(&env, ids, 2, 422);
    char *ini = webhook_tenant(&env, "acme", "users");
    tu_config(&env, "retry.max_attempts = 3\ndlq.interval = 50ms\ndlq.base_delay = 10ms\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "manual_review", .n = 2};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    int64_t ticks = dlqproc_stats(te.e->dlq)->ticks;
    /* Several processor ticks and scans later nothing was tried again. */
    tu_run_for(&te, 600);
    ck_assert_int_ge(dlqproc_stats(te.e->dlq)->ticks, ticks + 5);
    ck_assert_int_ge(tu_slot_scans(te.e, "acme", "users"), 2);
    tu_engine_stop(&te);
    ck_assert_int_eq(rows_with(&env, "manual_review"), 2);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(row_attempts(&env, ids[i]), 1);
        ck_assert_int_eq(
            tu_db_int(&env, "SELECT http_status FROM dlq WHERE record_id = ?1", ids[i], NULL), 422);
        char *cls =
            tu_db_text(&env, "SELECT error_class FROM dlq WHERE record_id = ?1", ids[i], NULL);
        ck_assert_str_eq(cls, "validation");
        free(cls);
        struct seen s = sink_seen(&env, "users", ids[i]);
        ck_assert_int_eq(s.total, 1); /* no in-cycle retry either */
        ck_assert_int_eq(s.ok, 0);
    }
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Changed in VOMO after it failed: the processor delivers the new version. */
START_TEST(latest_version_is_delivered)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 8, 0, 0);
    tu_fake_start(&env);
    char ids[1][32];
    first_ids(&env, "users", ids, 1);
    sink_fails(&env, ids, 1, 503);
    char *ini = webhook_tenant(&env, "acme", "users");
    /* No second scan: only the processor can deliver the new version. */
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.base_delay = 20ms\ndlq.max_attempts = 50\n"
              "poll.interval = 1h\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "pending", .n = 1};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    char *old_v = tu_db_text(&env, "SELECT record_updated_at FROM dlq", NULL);
    ck_assert_ptr_nonnull(old_v);
    ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "users", ids[0]), 0);
    char new_v[TS_LEN];
    fake_version(&env, "users", ids[0], new_v);
    ck_assert_str_gt(new_v, old_v);
    fake_clear_faults(env.fake);
    w.status = "resolved";
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    ck_assert_int_eq(tu_slot_scans(te.e, "acme", "users"), 1);
    tu_engine_stop(&te);
    char status[32], resolution[32], held[TS_LEN];
    row_state(&env, "users", ids[0], status, resolution, NULL);
    ck_assert_str_eq(resolution, "delivered");
    struct seen s = sink_seen(&env, "users", ids[0]);
    ck_assert_int_eq(s.ok, 1);
    ck_assert_str_eq(s.last_ok_version, new_v);
    held_version(&env, "users", ids[0], held);
    ck_assert_str_eq(held, new_v);
    free(old_v);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * Issue 10, item 5: a 404 on the re-fetch can be eventual consistency
 * (vomo-api.md).  It is asked again on the DLQ schedule, attempts counted;
 * a record that reappears is handled as usual, and one still missing when
 * the attempts are spent resolves as gone without being marked deleted:
 * only a reconciliation, which confirms, deletes.
 */
START_TEST(deleted_record_resolves_as_gone)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 0, 0);
    tu_fake_start(&env);
    char ids[2][32];
    first_ids(&env, "users", ids, 2);
    char *ini = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "retry.max_attempts = 3\ndlq.interval = 50ms\npoll.interval = 1h\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te};
    ck_assert(tu_run_until(&te, scans1, &w, 10000));
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    /* The sqlite mirror rarely fails a record: dead-letter two by hand, as
     * a failed scan would: one deleted in VOMO since, the other not visible
     * there for one attempt (its three in-cycle GETs). */
    char now[TS_LEN], v0[TS_LEN], v1[TS_LEN];
    ts_format(clock_wall_ms(), now);
    fake_version(&env, "users", ids[0], v0);
    fake_version(&env, "users", ids[1], v1);
    ck_assert_int_eq(fake_delete_id(env.fake, "acme", "users", ids[0]), 0);
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%s", ids[1]);
    struct fake_fault nf = {
        .method = "GET", .path = path, .kind = FAKE_FAULT_STATUS, .status = 404, .count = 3};
    ck_assert_int_gt(fake_add_fault(env.fake, &nf), 0);
    for (int i = 0; i < 2; i++) {
        struct dlq_new n = {.tenant = "acme",
                            .resource = "users",
                            .record_id = ids[i],
                            .record_updated_at = i ? v1 : v0,
                            .status = "pending",
                            .error_class = "transient",
                            .http_status = 503,
                            .attempts = 1,
                            .next_attempt_at = now,
                            .last_error = "test",
                            .now = now};
        ck_assert_int_eq(store_dlq_add(te.store, &n, NULL), 0);
    }
    w.status = "resolved";
    w.n = 2;
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    ck_assert_int_eq(dlqproc_stats(te.e->dlq)->gone, 1);
    ck_assert_int_eq(dlqproc_stats(te.e->dlq)->superseded, 1);
    tu_engine_stop(&te);
    char status[32], resolution[32];
    int64_t gone_id = 0;
    row_state(&env, "users", ids[0], status, resolution, &gone_id);
    ck_assert_str_eq(status, "resolved");
    ck_assert_str_eq(resolution, "gone");
    /* dlq.max_attempts = 5: the row came with one, the processor made four
     * attempts of three GETs each, and the last one resolved it. */
    ck_assert_int_eq(vomo_gets(&env, "users", ids[0]), 4 * 3);
    char idbuf[24];
    snprintf(idbuf, sizeof(idbuf), "%lld", (long long)gone_id);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq_events WHERE dlq_id = CAST(?1 AS INTEGER) "
                               "AND action = 'attempt' AND error_class = 'not_found' AND "
                               "http_status = 404",
                               idbuf, NULL),
                     3);
    ck_assert_int_eq(row_attempts(&env, ids[0]), 4);
    /* Not marked deleted: that takes a reconciliation. */
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM records WHERE id = ?1 AND deleted_at IS NULL",
                               ids[0], NULL),
                     1);
    /* The other one came back after one 404 attempt and was already held. */
    row_state(&env, "users", ids[1], status, resolution, NULL);
    ck_assert_str_eq(resolution, "superseded");
    ck_assert_int_eq(row_attempts(&env, ids[1]), 2);
    ck_assert_int_eq(vomo_gets(&env, "users", ids[1]), 4);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * The processor's failures open the destination breaker; while it is open
 * the rows wait without attempts counted, and once the sink recovers the
 * breaker's probe lets them drain, with no scan traffic to help it along.
 */
START_TEST(open_breaker_pauses_without_burning_attempts)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 3, 0, 0);
    tu_fake_start(&env);
    char ids[3][32];
    first_ids(&env, "users", ids, 3);
    sink_fails(&env, ids, 3, 503);
    char *ini = webhook_tenant(&env, "acme", "users");
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.interval = 50ms\ndlq.base_delay = 10ms\n"
              "dlq.max_delay = 20ms\ndlq.max_attempts = 50\nbreaker.failure_threshold = 3\n"
              "breaker.open_timeout = 1500ms\npoll.interval = 1h\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "pending", .n = 3};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    ck_assert(tu_run_until(&te, dest_breaker_open, &w, 10000));
    int64_t attempts = attempts_sum(&env);
    int64_t skipped = dlqproc_stats(te.e->dlq)->skipped_breaker;
    int deliveries = sink_seen(&env, "users", ids[0]).total +
                     sink_seen(&env, "users", ids[1]).total +
                     sink_seen(&env, "users", ids[2]).total;
    tu_run_for(&te, 500);
    ck_assert(dest_breaker_open(&w));
    ck_assert_int_eq(attempts_sum(&env), attempts);
    ck_assert_int_ge(dlqproc_stats(te.e->dlq)->skipped_breaker, skipped + 5);
    ck_assert_int_eq(sink_seen(&env, "users", ids[0]).total +
                         sink_seen(&env, "users", ids[1]).total +
                         sink_seen(&env, "users", ids[2]).total,
                     deliveries);
    ck_assert_int_eq(rows_with(&env, "pending"), 3);
    fake_clear_faults(env.fake);
    w.status = "resolved";
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    ck_assert_int_eq(te.e->tenants->dest_breaker.state, BREAKER_CLOSED);
    tu_engine_stop(&te);
    /* Every row got exactly one more attempt's worth: the delivery itself. */
    for (int i = 0; i < 3; i++) {
        char status[32], resolution[32];
        row_state(&env, "users", ids[i], status, resolution, NULL);
        ck_assert_str_eq(resolution, "delivered");
        ck_assert_int_eq(sink_seen(&env, "users", ids[i]).ok, 1);
    }
    ck_assert_int_eq(attempts_sum(&env), attempts);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Runs the real binary with `args`; returns its exit status. */
static int run_cli(struct tu_env *env, const char *const *args)
{
    char out[400];
    snprintf(out, sizeof(out), "%s/cli.out", env->dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        const char *argv[16] = {VOMO_SYNC_BIN, "--config", env->config_path};
        size_t k = 3;
        for (size_t i = 0; args[i] && k < 15; i++)
            argv[k++] = args[i];
        argv[k] = NULL;
        execv(VOMO_SYNC_BIN, (char *const *)argv);
        _exit(127);
    }
    return tu_daemon_wait(pid, 10000);
}

/* `vomo-sync dlq retry ID` on a manual_review row: the processor delivers it. */
START_TEST(cli_retry_of_manual_review_row_delivers_it)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 6, 0, 0);
    tu_fake_start(&env);
    char ids[1][32];
    first_ids(&env, "users", ids, 1);
    sink_fails(&env, ids, 1, 422);
    char *ini = webhook_tenant(&env, "acme", "users");
    tu_config(&env, "dlq.interval = 50ms\npoll.interval = 1h\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "manual_review", .n = 1};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    tu_run_for(&te, 200);
    ck_assert_int_eq(rows_with(&env, "manual_review"), 1); /* it waits for a person */
    fake_clear_faults(env.fake);                           /* the person fixed the endpoint */
    char status[32], resolution[32], id_text[32];
    int64_t dlq_id = 0;
    row_state(&env, "users", ids[0], status, resolution, &dlq_id);
    snprintf(id_text, sizeof(id_text), "%lld", (long long)dlq_id);
    const char *const args[] = {"dlq", "retry", id_text, NULL};
    ck_assert_int_eq(run_cli(&env, args), 0);
    ck_assert_int_eq(rows_with(&env, "pending"), 1);
    w.status = "resolved";
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    tu_engine_stop(&te);
    row_state(&env, "users", ids[0], status, resolution, NULL);
    ck_assert_str_eq(resolution, "delivered");
    struct seen s = sink_seen(&env, "users", ids[0]);
    ck_assert_int_eq(s.ok, 1);
    ck_assert_int_eq(s.total, 2);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq_events WHERE dlq_id = ?1 AND action = "
                               "'retry'",
                               id_text, NULL),
                     1);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Stopped while the sink hangs mid-batch: rows stay pending, untouched. */
START_TEST(stop_mid_batch_loses_nothing)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 8, 0, 0);
    tu_fake_start(&env);
    char ids[3][32];
    first_ids(&env, "users", ids, 3);
    sink_fails(&env, ids, 3, 503);
    char *ini = webhook_tenant(&env, "acme", "users");
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.interval = 50ms\ndlq.base_delay = 300ms\n"
              "dlq.max_delay = 300ms\ndlq.max_attempts = 50\npoll.interval = 1h\n"
              "daemon.shutdown_timeout = 100ms\nwebhook.timeout = 30s\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "pending", .n = 3};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    ck_assert_int_eq(attempts_sum(&env), 3);
    fake_clear_faults(env.fake);
    sink_fails(&env, ids, 3, 0); /* hang */
    /* One batch at a time: at least one delivery hangs, then the stop. */
    w.n = 1;
    ck_assert(tu_run_until(&te, sink_requests_reach, &w, 10000));
    tu_run_for(&te, 100);
    tu_engine_stop(&te);
    ck_assert_int_eq(rows_with(&env, "pending"), 3);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 3);
    ck_assert_int_eq(attempts_sum(&env), 3);
    for (int i = 0; i < 3; i++) {
        char held[TS_LEN];
        held_version(&env, "users", ids[i], held);
        ck_assert_str_eq(held, "");
    }
    /* A new start delivers them. */
    fake_clear_faults(env.fake);
    tu_engine_start(&env, &te);
    w.status = "resolved";
    w.n = 3;
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    tu_engine_stop(&te);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/*
 * While a row is open at version V, scans that see V again (groups ignore
 * updated_after in this fake, so every scan lists every group) do not
 * re-send it; a newer version sent by a scan supersedes the old row.
 */
START_TEST(dlq_owns_its_records)
{
    struct tu_env env;
    struct fake_opts o;
    fake_opts_default(&o);
    o.groups_ignore_updated_after = true;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 0, 6, 0);
    tu_fake_start(&env);
    char ids[2][32];
    first_ids(&env, "groups", ids, 2);
    sink_fails(&env, ids, 1, 422);     /* ids[0]: manual_review */
    sink_fails(&env, ids + 1, 1, 503); /* ids[1]: pending, not due for an hour */
    char *ini = webhook_tenant(&env, "acme", "groups");
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.interval = 50ms\ndlq.base_delay = 1h\n"
              "dlq.max_delay = 1h\npoll.interval = 100ms\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "groups", .n = 4};
    ck_assert(tu_run_until(&te, slot_scans_reach, &w, 10000));
    ck_assert_int_eq(rows_with(&env, "manual_review"), 1);
    ck_assert_int_eq(rows_with(&env, "pending"), 1);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(sink_seen(&env, "groups", ids[i]).total, 1);
    /* The others were delivered once and are skipped since. */
    char others[6][32];
    first_ids(&env, "groups", others, 6);
    ck_assert_int_eq(sink_seen(&env, "groups", others[5]).total, 1);
    /* A newer version of both, the sink healthy: the next scan sends them. */
    int64_t old_ids[2];
    char status[32], resolution[32], new_v[2][TS_LEN];
    for (int i = 0; i < 2; i++) {
        row_state(&env, "groups", ids[i], status, resolution, &old_ids[i]);
        ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "groups", ids[i]), 0);
        fake_version(&env, "groups", ids[i], new_v[i]);
    }
    fake_clear_faults(env.fake);
    w = (struct want){.env = &env, .te = &te, .status = "resolved", .n = 2};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    tu_engine_stop(&te);
    for (int i = 0; i < 2; i++) {
        char id_text[32];
        snprintf(id_text, sizeof(id_text), "%lld", (long long)old_ids[i]);
        char *res = tu_db_text(&env, "SELECT resolution FROM dlq WHERE id = ?1", id_text, NULL);
        ck_assert_str_eq(res, "superseded");
        free(res);
        struct seen s = sink_seen(&env, "groups", ids[i]);
        ck_assert_int_eq(s.total, 2);
        ck_assert_int_eq(s.ok, 1);
        ck_assert_str_eq(s.last_ok_version, new_v[i]);
    }
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 2);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "groups"), 0);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

static bool beta_row_resolved(void *arg)
{
    struct tu_env *env = arg;
    return tu_db_int(env,
                     "SELECT count(*) FROM dlq WHERE tenant = 'beta' AND status = "
                     "'resolved'",
                     NULL) == 1;
}

/*
 * Rows of a tenant that cannot be served (here: one removed from the
 * configuration, whose rows wait for it or for a person), more of them than
 * a tick takes and all older than another tenant's: the other tenant's row
 * is still tried and resolved, not starved behind them.
 */
START_TEST(one_tenants_backlog_does_not_starve_another)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "beta", 3, 0, 0);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("beta", "resources = users");
    tu_config(&env, "dlq.batch_size = 2\ndlq.interval = 50ms\npoll.interval = 1h\n", ini);
    char beta_id[32], beta_version[TS_LEN];
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env.fake, "beta", "users", &recs, &n), 0);
    snprintf(beta_id, sizeof(beta_id), "%s", recs[0].id);
    /* At VOMO's current version the row owns the record: scans leave it to
     * the processor (a newer version would let a scan supersede it). */
    snprintf(beta_version, sizeof(beta_version), "%s", recs[0].updated_at);
    fake_records_free(recs, n);
    struct store *st;
    ck_assert_int_eq(store_open(env.db_path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
    for (int i = 0; i < 6; i++) {
        char id[16], due[64];
        snprintf(id, sizeof(id), "%d", i + 1);
        snprintf(due, sizeof(due), "2020-01-0%dT00:00:00.000Z", i + 1);
        struct dlq_new d = {.tenant = i < 5 ? "acme" : "beta",
                            .resource = "users",
                            .record_id = i < 5 ? id : beta_id,
                            .record_updated_at = i < 5 ? "2019-01-01T00:00:00.000Z" : beta_version,
                            .status = "pending",
                            .error_class = "transient",
                            .http_status = 503,
                            .attempts = 1,
                            .next_attempt_at = due,
                            .last_error = "test",
                            .now = "2020-01-01T00:00:00.000Z"};
        ck_assert_int_eq(store_dlq_add(st, &d, NULL), 0);
    }
    store_close(st);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, beta_row_resolved, &env, 5000));
    tu_engine_stop(&te);
    char *res = tu_db_text(&env, "SELECT resolution FROM dlq WHERE tenant = 'beta'", NULL);
    ck_assert_str_eq(res, "delivered");
    free(res);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE tenant = 'acme' AND status = "
                               "'pending' AND attempts = 1",
                               NULL),
                     5);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM records WHERE tenant = 'beta' AND id = ?1",
                               beta_id, NULL),
                     1);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- one delivery of a record in flight ---- */

struct race {
    struct tu_env *env;
    struct tu_engine *te;
    const char *id;
    char v2[TS_LEN], v3[TS_LEN];
};

static bool dlq_fetched(void *arg)
{
    struct race *r = arg;
    return vomo_gets(r->env, "users", r->id) >= 1;
}

/* Bumps the record until VOMO serves a version newer than v2 (the fake's
 * versions are whole seconds). */
static bool newer_version_served(void *arg)
{
    struct race *r = arg;
    ck_assert_int_eq(fake_mutate_id(r->env->fake, "acme", "users", r->id), 0);
    fake_version(r->env, "users", r->id, r->v3);
    return strcmp(r->v3, r->v2) > 0;
}

static bool both_delivered(void *arg)
{
    struct race *r = arg;
    struct slot *slot = &engine_tenant(r->te->e, "acme")->slots[RES_USERS];
    return sink_seen(r->env, "users", r->id).ok >= 2 && rows_with(r->env, "resolved") == 1 &&
           slot->scans_finished >= 2;
}

/*
 * The processor fetches version 2 of a dead letter and its POST is slowed
 * at the sink; meanwhile VOMO serves version 3 and a scan reads it.  The
 * scan's delivery waits for the processor's to end, so version 3 lands
 * last: what the receiver holds is what records says.
 */
START_TEST(dlq_delivery_never_lands_after_a_newer_scan_delivery)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 8, 0, 0);
    tu_fake_start(&env);
    char ids[1][32];
    first_ids(&env, "users", ids, 1);
    sink_fails(&env, ids, 1, 503);
    char *ini = webhook_tenant(&env, "acme", "users");
    /* One scan at start; the dead letter is due only when the test says. */
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.interval = 50ms\ndlq.base_delay = 1h\n"
              "dlq.max_delay = 6h\npoll.interval = 1h\nwebhook.timeout = 10s\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "pending", .n = 1};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    fake_clear_faults(env.fake);
    struct race r = {.env = &env, .te = &te, .id = ids[0]};
    ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "users", ids[0]), 0);
    fake_version(&env, "users", ids[0], r.v2);
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", ids[0]);
    struct fake_fault slow = {.path = "/_hooks/*",
                              .body_contains = needle,
                              .count = 1,
                              .kind = FAKE_FAULT_DELAY,
                              .delay_ms = 2500};
    ck_assert_int_gt(fake_add_fault(env.fake, &slow), 0);
    int64_t row_id;
    char status[32], resolution[32];
    row_state(&env, "users", ids[0], status, resolution, &row_id);
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    ck_assert_int_eq(store_dlq_requeue(te.store, row_id, "test", now), 0);
    ck_assert(tu_run_until(&te, dlq_fetched, &r, 5000)); /* version 2 is on its way */
    ck_assert(tu_run_until(&te, newer_version_served, &r, 3000));
    slot_schedule(&engine_tenant(te.e, "acme")->slots[RES_USERS], 0);
    ck_assert(tu_run_until(&te, both_delivered, &r, 15000));
    tu_engine_stop(&te);
    struct seen seen = sink_seen(&env, "users", ids[0]);
    char held[TS_LEN];
    held_version(&env, "users", ids[0], held);
    ck_assert_str_eq(held, r.v3);
    ck_assert_str_eq(seen.last_ok_version, held);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

static bool second_list_answered(void *arg)
{
    struct race *r = arg;
    struct fake_request *q;
    size_t n;
    ck_assert_int_eq(fake_requests(r->env->fake, &q, &n), 0);
    int lists = 0;
    for (size_t i = 0; i < n; i++)
        lists += strcmp(q[i].method, "GET") == 0 && strcmp(q[i].path, "/v1/users") == 0;
    fake_requests_free(q, n);
    return lists >= 2;
}

static bool row_closed_and_scanned(void *arg)
{
    struct race *r = arg;
    struct slot *slot = &engine_tenant(r->te->e, "acme")->slots[RES_USERS];
    return rows_with(r->env, "pending") == 0 && slot->scans_finished >= 2 &&
           vomo_gets(r->env, "users", r->id) >= 1 && dlqproc_stats(r->te->e->dlq)->ticks > 0 &&
           sink_seen(r->env, "users", r->id).ok >= 1;
}

/*
 * The other way round: a scan's delivery of the record is in flight (slow
 * at the sink) when its dead letter comes due.  The processor fetches the
 * same version, waits for the scan's delivery, then finds the destination
 * holds it: one delivery, the row resolved, nothing sent twice.
 */
START_TEST(dlq_waits_for_a_scan_delivery_in_flight)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 8, 0, 0);
    tu_fake_start(&env);
    char ids[1][32];
    first_ids(&env, "users", ids, 1);
    sink_fails(&env, ids, 1, 503);
    char *ini = webhook_tenant(&env, "acme", "users");
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.interval = 50ms\ndlq.base_delay = 1h\n"
              "dlq.max_delay = 6h\npoll.interval = 1h\nwebhook.timeout = 10s\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "pending", .n = 1};
    ck_assert(tu_run_until(&te, rows_reach, &w, 10000));
    fake_clear_faults(env.fake);
    fake_deliveries_clear(env.fake);
    struct race r = {.env = &env, .te = &te, .id = ids[0]};
    ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "users", ids[0]), 0);
    fake_version(&env, "users", ids[0], r.v2);
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", ids[0]);
    struct fake_fault slow = {.path = "/_hooks/*",
                              .body_contains = needle,
                              .count = 1,
                              .kind = FAKE_FAULT_DELAY,
                              .delay_ms = 2000};
    ck_assert_int_gt(fake_add_fault(env.fake, &slow), 0);
    slot_schedule(&engine_tenant(te.e, "acme")->slots[RES_USERS], 0);
    ck_assert(tu_run_until(&te, second_list_answered, &r, 5000)); /* its POST is on its way */
    int64_t row_id;
    char status[32], resolution[32];
    row_state(&env, "users", ids[0], status, resolution, &row_id);
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    ck_assert_int_eq(store_dlq_requeue(te.store, row_id, "test", now), 0);
    ck_assert(tu_run_until(&te, row_closed_and_scanned, &r, 15000));
    tu_run_for(&te, 200);
    tu_engine_stop(&te);
    struct seen seen = sink_seen(&env, "users", ids[0]);
    ck_assert_int_eq(seen.total, 1);
    ck_assert_str_eq(seen.last_ok_version, r.v2);
    row_state(&env, "users", ids[0], status, resolution, NULL);
    ck_assert_str_eq(status, "resolved");
    ck_assert_str_eq(resolution, "superseded");
    char held[TS_LEN];
    held_version(&env, "users", ids[0], held);
    ck_assert_str_eq(held, r.v2);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Arrival times (fake's wall clock, ms) of the sink's deliveries of one
 * record, in order; returns how many (at most max). */
static size_t sink_times(struct tu_env *env, const char *id, int64_t *times, size_t max)
{
    struct fake_delivery *d;
    size_t n, k = 0;
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &n), 0);
    for (size_t i = 0; i < n && k < max; i++)
        if (strstr(d[i].body, needle))
            times[k++] = d[i].time_ms;
    fake_deliveries_free(d, n);
    return k;
}

/*
 * Issue 10, "tests that could not fail": a dead letter that keeps failing
 * is tried again on the growing schedule (base, 3 x base, 9 x base, each
 * within the 0.8..1.2 jitter) and after dlq.max_attempts attempts goes to
 * manual_review and is not tried again.  A processor that always passed
 * attempts = 1 would wait base every time and never escalate.
 */
START_TEST(failing_row_backs_off_on_the_growing_schedule_then_escalates)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 6, 0, 0);
    tu_fake_start(&env);
    char ids[1][32];
    first_ids(&env, "users", ids, 1);
    sink_fails(&env, ids, 1, 503);
    char *ini = webhook_tenant(&env, "acme", "users");
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.interval = 10ms\ndlq.base_delay = 150ms\n"
              "dlq.max_delay = 10s\ndlq.max_attempts = 4\nbreaker.failure_threshold = 1000\n"
              "poll.interval = 1h\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te, .status = "manual_review", .n = 1};
    ck_assert(tu_run_until(&te, rows_reach, &w, 15000));
    /* Escalated for good: nothing more is sent for it. */
    tu_run_for(&te, 500);
    tu_engine_stop(&te);
    int64_t t[8];
    size_t k = sink_times(&env, ids[0], t, 8);
    ck_assert_uint_eq(k, 4); /* the scan's attempt, then three by the processor */
    ck_assert_int_eq(row_attempts(&env, ids[0]), 4);
    ck_assert_int_eq(rows_with(&env, "manual_review"), 1);
    const int64_t nominal[] = {150, 450, 1350};
    for (int i = 0; i < 3; i++) {
        int64_t gap = t[i + 1] - t[i];
        /* Never early; late only by ticks and a loaded machine. */
        ck_assert_msg(gap >= nominal[i] * 8 / 10 && gap <= nominal[i] * 12 / 10 + 400,
                      "gap %d is %lld ms, want %lld +/- 20%%", i + 1, (long long)gap,
                      (long long)nominal[i]);
    }
    /* The history says the same: created, two failed attempts, escalated. */
    char *history = tu_db_text(
        &env, "SELECT group_concat(action) FROM (SELECT action FROM dlq_events ORDER BY id)", NULL);
    ck_assert_str_eq(history, "created,attempt,attempt,escalated");
    free(history);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

static bool groups_row_resolved(void *arg)
{
    struct want *w = arg;
    return tu_db_int(w->env,
                     "SELECT count(*) FROM dlq WHERE resource = 'groups' AND status = 'resolved'",
                     NULL) == 1;
}

/* GET requests of /v1/RESOURCE/{id} the fake answered 403. */
static int forbidden_gets(struct tu_env *env, const char *resource)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "/v1/%s/", resource);
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &r, &n), 0);
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += strncmp(r[i].path, prefix, strlen(prefix)) == 0 && r[i].status == 403;
    fake_requests_free(r, n);
    return count;
}

/*
 * Issue 10, item 6: a 403 on a re-fetch sent every row of the resource to
 * manual review, though they heal once the token gets its scope.  Rows of
 * a forbidden resource now wait without spending attempts, one of them
 * probing every breaker.open_timeout; other resources go on.
 */
START_TEST(forbidden_resource_waits_without_spending_attempts)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 5, 0);
    tu_fake_start(&env);
    char users[2][32], groups[1][32];
    first_ids(&env, "users", users, 2);
    first_ids(&env, "groups", groups, 1);
    char *ini = tu_tenant_ini("acme", "resources = users, groups");
    tu_config(&env,
              "retry.max_attempts = 1\ndlq.interval = 20ms\npoll.interval = 1h\n"
              "breaker.open_timeout = 300ms\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct want w = {.env = &env, .te = &te};
    ck_assert(tu_run_until(&te, scans1, &w, 10000));
    struct fake_fault ff = {
        .method = "GET", .path = "/v1/users/*", .kind = FAKE_FAULT_STATUS, .status = 403};
    ck_assert_int_gt(fake_add_fault(env.fake, &ff), 0);
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    for (int i = 0; i < 3; i++) {
        const char *res = i < 2 ? "users" : "groups";
        const char *id = i < 2 ? users[i] : groups[0];
        char v[TS_LEN];
        fake_version(&env, res, id, v);
        struct dlq_new n = {.tenant = "acme",
                            .resource = res,
                            .record_id = id,
                            .record_updated_at = v,
                            .status = "pending",
                            .error_class = "transient",
                            .http_status = 503,
                            .attempts = 1,
                            .next_attempt_at = now,
                            .last_error = "test",
                            .now = now};
        ck_assert_int_eq(store_dlq_add(te.store, &n, NULL), 0);
    }
    ck_assert(tu_run_until(&te, groups_row_resolved, &w, 5000));
    int64_t t0 = clock_mono_ms();
    tu_run_for(&te, 1000);
    int64_t waited = clock_mono_ms() - t0;
    ck_assert_int_eq(rows_with(&env, "manual_review"), 0);
    ck_assert_int_eq(rows_with(&env, "pending"), 2);
    ck_assert_int_eq(attempts_sum(&env), 3); /* nothing spent */
    /* Probed, one row every open_timeout, not once a tick (50 ticks). */
    int probes = forbidden_gets(&env, "users");
    ck_assert_int_ge(probes, 2);
    ck_assert_int_le(probes, waited / 300 + 2);
    /* The scope is granted in VOMO (the token file does not change). */
    fake_clear_faults(env.fake);
    w.status = "resolved";
    w.n = 3;
    ck_assert(tu_run_until(&te, rows_reach, &w, 5000));
    tu_engine_stop(&te);
    ck_assert_int_eq(attempts_sum(&env), 3);
    for (int i = 0; i < 2; i++) {
        char status[32], resolution[32];
        row_state(&env, "users", users[i], status, resolution, NULL);
        ck_assert_str_eq(resolution, "superseded");
    }
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- deletions ---- */

struct deletions {
    int n, ok;
    char key[160];   /* the Idempotency-Key of the last one */
    bool keys_equal; /* every one carried the same key */
    bool data_null;  /* every one carried "data":null */
};

/* Deletions of one record the sink received. */
static struct deletions sink_deletions(struct tu_env *env, const char *id)
{
    struct deletions out = {.keys_equal = true, .data_null = true};
    char needle[96];
    snprintf(needle, sizeof(needle), "\"action\":\"delete\",\"id\":\"%s\"", id);
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (!strstr(d[i].body, needle))
            continue;
        if (out.n && strcmp(out.key, d[i].idempotency_key) != 0)
            out.keys_equal = false;
        out.data_null = out.data_null && strstr(d[i].body, "\"data\":null");
        snprintf(out.key, sizeof(out.key), "%s", d[i].idempotency_key);
        out.n++;
        out.ok += d[i].status / 100 == 2;
    }
    fake_deliveries_free(d, n);
    return out;
}

struct del_wait {
    struct tu_env *env;
    const char *id;
    const char *status;
};

static bool deletion_row(void *arg)
{
    struct del_wait *w = arg;
    return tu_db_int(w->env,
                     "SELECT count(*) FROM dlq WHERE record_id = ?1 AND action = 'delete' AND "
                     "status = ?2",
                     w->id, w->status, NULL) == 1;
}

static bool all_ten_held(void *arg)
{
    struct del_wait *w = arg;
    return tu_db_int(w->env, "SELECT count(*) FROM records", NULL) == 10;
}

/*
 * A reconciliation's deletion that the sink answers 503 is dead-lettered
 * (action delete, the deletion time stored in records.deleted_at); after a
 * restart the processor sends it again as a deletion, without reading the
 * record from VOMO, with the same Idempotency-Key.
 */
START_TEST(failed_deletion_is_dead_lettered_and_resent_with_its_key)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 0, 0);
    tu_fake_start(&env);
    char ids[1][32];
    first_ids(&env, "users", ids, 1);
    char *ini = webhook_tenant(&env, "acme", "users");
    tu_config(&env,
              "retry.max_attempts = 2\ndlq.base_delay = 1h\ndlq.max_delay = 6h\n"
              "poll.reconcile_interval = 500ms\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct del_wait w = {.env = &env, .id = ids[0], .status = "pending"};
    ck_assert(tu_run_until(&te, all_ten_held, &w, 10000));
    char needle[96];
    snprintf(needle, sizeof(needle), "\"action\":\"delete\",\"id\":\"%s\"", ids[0]);
    struct fake_fault down = {
        .path = "/_hooks/*", .body_contains = needle, .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(env.fake, &down), 0);
    ck_assert_int_eq(fake_delete_id(env.fake, "acme", "users", ids[0]), 0);
    ck_assert_msg(tu_run_until(&te, deletion_row, &w, 10000), "the deletion was not dead-lettered");
    tu_run_for(&te, 1200); /* later reconciliations leave it to the dead letter */
    tu_engine_stop(&te);
    struct deletions first = sink_deletions(&env, ids[0]);
    ck_assert_int_eq(first.n, 2); /* retry.max_attempts, then the DLQ */
    ck_assert_int_eq(first.ok, 0);
    ck_assert(first.keys_equal);
    char *deleted_at =
        tu_db_text(&env, "SELECT deleted_at FROM records WHERE id = ?1", ids[0], NULL);
    char *version =
        tu_db_text(&env, "SELECT record_updated_at FROM dlq WHERE record_id = ?1", ids[0], NULL);
    ck_assert_ptr_nonnull(deleted_at);
    ck_assert_str_eq(version, deleted_at);
    char want_key[160];
    snprintf(want_key, sizeof(want_key), "acme:users:%s:%s", ids[0], deleted_at);
    ck_assert_str_eq(first.key, want_key);

    /* Restart; the receiver is back; the dead letter comes due. */
    fake_clear_faults(env.fake);
    fake_deliveries_clear(env.fake);
    fake_requests_clear(env.fake);
    tu_config(&env, "dlq.interval = 50ms\ndlq.base_delay = 1h\ndlq.max_delay = 6h\n", ini);
    tu_engine_start(&env, &te);
    int64_t row_id = tu_db_int(&env, "SELECT id FROM dlq WHERE record_id = ?1", ids[0], NULL);
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    ck_assert_int_eq(store_dlq_requeue(te.store, row_id, "test", now), 0);
    w.status = "resolved";
    ck_assert(tu_run_until(&te, deletion_row, &w, 10000));
    tu_engine_stop(&te);
    struct deletions again = sink_deletions(&env, ids[0]);
    ck_assert_int_eq(again.n, 1);
    ck_assert_int_eq(again.ok, 1);
    ck_assert(again.data_null);
    ck_assert_str_eq(again.key, want_key);
    ck_assert_int_eq(vomo_gets(&env, "users", ids[0]), 0); /* a deletion, not a re-read upsert */
    char status[32], resolution[32];
    row_state(&env, "users", ids[0], status, resolution, NULL);
    ck_assert_str_eq(resolution, "delivered");
    char *still = tu_db_text(&env, "SELECT deleted_at FROM records WHERE id = ?1", ids[0], NULL);
    ck_assert_str_eq(still, deleted_at);
    free(still);
    free(deleted_at);
    free(version);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *dlq_suite(void)
{
    Suite *s = suite_create("dlq");
    TCase *tc = tcase_create("processor");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, transient_failures_drain_when_destination_recovers);
    tcase_add_test(tc, validation_goes_to_manual_review_without_retries);
    tcase_add_test(tc, latest_version_is_delivered);
    tcase_add_test(tc, deleted_record_resolves_as_gone);
    tcase_add_test(tc, open_breaker_pauses_without_burning_attempts);
    tcase_add_test(tc, cli_retry_of_manual_review_row_delivers_it);
    tcase_add_test(tc, stop_mid_batch_loses_nothing);
    tcase_add_test(tc, dlq_owns_its_records);
    tcase_add_test(tc, one_tenants_backlog_does_not_starve_another);
    tcase_add_test(tc, failing_row_backs_off_on_the_growing_schedule_then_escalates);
    tcase_add_test(tc, forbidden_resource_waits_without_spending_attempts);
    suite_add_tcase(s, tc);
    tc = tcase_create("ordering");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dlq_delivery_never_lands_after_a_newer_scan_delivery);
    tcase_add_test(tc, dlq_waits_for_a_scan_delivery_in_flight);
    suite_add_tcase(s, tc);
    tc = tcase_create("deletions");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, failed_deletion_is_dead_lettered_and_resent_with_its_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dlq_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
