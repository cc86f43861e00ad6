/*
 * check_outbox.c - writes to VOMO through the outbox, with the real daemon
 * code against the in-process vomo-fake: a lost response or a timeout
 * after sending never doubles a create (the search adopts it), safe ops
 * are simply sent again, a delete's 404 on a retry is done, 422 goes to
 * manual review with VOMO's field errors, 429 and 401 act on writes as on
 * reads, an open breaker holds writes without spending attempts, a kill -9
 * of the real binary at random moments leaves exactly one group, and 1,000
 * writes under 20% faults and 3 restarts are each applied exactly once.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "outbox_load.h"
#include "outbox_ops.h"
#include "outboxproc.h"
#include "store_outbox.h"
#include "testutil.h"

/* Queues a write the way `vomo-sync write` does; returns its id. */
static int64_t queue(struct store *s, const char *resource, const char *op, const char *id,
                     const char *payload)
{
    char why[256], key[OUTBOX_KEY_LEN], now[TS_LEN];
    ck_assert_msg(outbox_validate(resource, op, id, payload, why, sizeof(why), key) == 0, "%s",
                  why);
    ts_format(clock_wall_ms(), now);
    struct outbox_new n = {.tenant = "acme",
                           .resource = resource,
                           .op = op,
                           .target_id = id,
                           .payload = payload,
                           .record_key = key,
                           .actor = "test",
                           .now = now};
    int64_t row = 0;
    int existed = 0;
    ck_assert_int_eq(store_outbox_add(s, &n, &row, &existed), 0);
    return row;
}

static bool scanned(void *arg)
{
    struct tu_engine *te = arg;
    return tu_scans_at_least(te->e, 1);
}

static bool all_settled(void *arg)
{
    struct tu_env *env = arg;
    return tu_db_int(env,
                     "SELECT count(*) FROM outbox WHERE state IN ('pending', 'in_flight', "
                     "'unknown')",
                     NULL) == 0;
}

static int64_t row_int(struct tu_env *env, const char *col, int64_t id)
{
    char sql[128], idt[24];
    snprintf(sql, sizeof(sql), "SELECT %s FROM outbox WHERE id = CAST(?1 AS INTEGER)", col);
    snprintf(idt, sizeof(idt), "%lld", (long long)id);
    return tu_db_int(env, sql, idt, NULL);
}

static char *row_text(struct tu_env *env, const char *col, int64_t id)
{
    char sql[128], idt[24];
    snprintf(sql, sizeof(sql), "SELECT %s FROM outbox WHERE id = CAST(?1 AS INTEGER)", col);
    snprintf(idt, sizeof(idt), "%lld", (long long)id);
    char *v = tu_db_text(env, sql, idt, NULL);
    return v ? v : xstrdup("");
}

static void assert_row(struct tu_env *env, int64_t id, const char *state, const char *resolution)
{
    char *st = row_text(env, "state", id), *res = row_text(env, "resolution", id);
    ck_assert_msg(strcmp(st, state) == 0 && (!resolution || strcmp(res, resolution) == 0),
                  "outbox %lld is %s/%s, want %s/%s", (long long)id, st, res, state,
                  resolution ? resolution : "*");
    free(st);
    free(res);
}

/* Records of a fake resource whose string field `key` equals value. */
static int fake_count_where(struct tu_env *env, const char *resource, const char *key,
                            const char *value, char *first_id)
{
    struct fake_record *r;
    size_t n;
    ck_assert_int_eq(fake_records(env->fake, "acme", resource, &r, &n), 0);
    int hits = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_Parse(r[i].payload);
        const cJSON *v = cJSON_GetObjectItem(o, key);
        if (cJSON_IsString(v) && strcasecmp(v->valuestring, value) == 0) {
            if (hits++ == 0 && first_id)
                snprintf(first_id, 32, "%s", r[i].id);
        }
        cJSON_Delete(o);
    }
    fake_records_free(r, n);
    return hits;
}

/* The id of the k-th record of a fake resource (ids start at a seeded base). */
static void fake_id_at(struct tu_env *env, const char *resource, size_t k, char out[32])
{
    struct fake_record *r;
    size_t n;
    ck_assert_int_eq(fake_records(env->fake, "acme", resource, &r, &n), 0);
    ck_assert_uint_gt(n, k);
    snprintf(out, 32, "%s", r[k].id);
    fake_records_free(r, n);
}

static int requests_to(struct tu_env *env, const char *method, const char *path)
{
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &r, &n), 0);
    int hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += strcmp(r[i].method, method) == 0 && strcmp(r[i].path, path) == 0;
    fake_requests_free(r, n);
    return hits;
}

static void start(struct tu_env *env, struct tu_engine *te, const char *overrides,
                  const char *resources)
{
    char more[96];
    snprintf(more, sizeof(more), "resources = %s\n", resources);
    char *ini = tu_tenant_ini("acme", more);
    tu_config(env, overrides, ini);
    free(ini);
    tu_engine_start(env, te);
}

#define FAST "vomo.request_timeout = 500ms\nvomo.connect_timeout = 300ms\npoll.interval = 1h\n"

/* The create is applied but its response lost: the search adopts the group
 * VOMO made, and POST /groups is never sent a second time. */
static void lost_create(int kind)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 5, 2);
    tu_fake_start(&env);
    struct fake_fault ft = {
        .method = "POST", .path = "/v1/groups", .count = 1, .kind = (enum fake_fault_kind)kind};
    int rule = fake_add_fault(env.fake, &ft);
    struct tu_engine te;
    start(&env, &te, FAST, "groups");
    int64_t id = queue(te.store, "groups", "create", NULL,
                       "{\"name\":\"Outbox Choir\",\"description\":\"Sings on Fridays\"}");
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    const struct outboxproc_stats st = *outboxproc_stats(te.e->outbox);
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_fault_hits(env.fake, rule), 1);
    char gid[32] = "";
    ck_assert_int_eq(fake_count_where(&env, "groups", "name", "Outbox Choir", gid), 1);
    ck_assert_int_eq(requests_to(&env, "POST", "/v1/groups"), 1);
    assert_row(&env, id, "done", "adopted");
    char *remote = row_text(&env, "remote_id", id);
    ck_assert_str_eq(remote, gid);
    free(remote);
    ck_assert_int_eq(st.adopted, 1);
    ck_assert_int_ge(row_int(&env, "maybe_applied", id), 1);
    /* read-your-writes: the adopted group is in the mirror */
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM records WHERE tenant = 'acme' AND "
                               "resource = 'groups' AND id = ?1",
                               gid, NULL),
                     1);
    tu_env_cleanup(&env);
}

START_TEST(test_group_create_response_lost_is_adopted)
{
    lost_create(FAKE_FAULT_LOSE);
}
END_TEST

START_TEST(test_group_create_timeout_after_send_is_adopted)
{
    lost_create(FAKE_FAULT_STALL);
}
END_TEST

/* The search finds nothing (VOMO never got the create): sent again, once. */
START_TEST(test_group_create_reset_before_apply_is_sent_again)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 5, 2);
    tu_fake_start(&env);
    struct fake_fault ft = {
        .method = "POST", .path = "/v1/groups", .count = 1, .kind = FAKE_FAULT_RESET};
    ck_assert_int_gt(fake_add_fault(env.fake, &ft), 0);
    struct tu_engine te;
    start(&env, &te, FAST, "groups");
    int64_t id = queue(te.store, "groups", "create", NULL, "{\"name\":\"Outbox Band\"}");
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_count_where(&env, "groups", "name", "Outbox Band", NULL), 1);
    ck_assert_int_eq(requests_to(&env, "POST", "/v1/groups"), 2);
    assert_row(&env, id, "done", "sent");
    tu_env_cleanup(&env);
}
END_TEST

/* An upsert by email is safe: sent again after a lost response, one user. */
START_TEST(test_user_upsert_retried_after_lost_response)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 2, 2);
    tu_fake_start(&env);
    struct fake_fault ft = {
        .method = "POST", .path = "/v1/users", .count = 1, .kind = FAKE_FAULT_LOSE};
    ck_assert_int_gt(fake_add_fault(env.fake, &ft), 0);
    struct tu_engine te;
    start(&env, &te, FAST, "users");
    int64_t id = queue(te.store, "users", "upsert", NULL,
                       "{\"email\":\"outbox.ann@example.org\",\"first_name\":\"Ann\"}");
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_count_where(&env, "users", "email", "outbox.ann@example.org", NULL), 1);
    ck_assert_int_eq(requests_to(&env, "POST", "/v1/users"), 2);
    assert_row(&env, id, "done", "sent");
    tu_env_cleanup(&env);
}
END_TEST

/* A delete whose response was lost is sent again; its 404 means done. */
START_TEST(test_delete_retried_404_is_done)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 5, 2);
    tu_fake_start(&env);
    int before = fake_count(env.fake, "acme", "groups");
    char gid[32], path[64];
    fake_id_at(&env, "groups", 2, gid);
    snprintf(path, sizeof(path), "/v1/groups/%s", gid);
    struct fake_fault ft = {.method = "DELETE", .path = path, .count = 1, .kind = FAKE_FAULT_LOSE};
    ck_assert_int_gt(fake_add_fault(env.fake, &ft), 0);
    struct tu_engine te;
    start(&env, &te, FAST, "groups");
    ck_assert(tu_run_until(&te, scanned, &te, 5000));
    int64_t id = queue(te.store, "groups", "delete", gid, NULL);
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_count(env.fake, "acme", "groups"), before - 1);
    ck_assert_int_eq(requests_to(&env, "DELETE", path), 2);
    assert_row(&env, id, "done", "gone");
    /* the mirror knows at once */
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM records WHERE resource = 'groups' AND "
                               "id = ?1 AND deleted_at IS NOT NULL",
                               gid, NULL),
                     1);
    tu_env_cleanup(&env);
}
END_TEST

/* 422: manual review at once, VOMO's field errors in the dead letter. */
START_TEST(test_validation_goes_to_review_with_field_errors)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 2, 2);
    tu_fake_start(&env);
    struct fake_fault ft = {
        .method = "POST",
        .path = "/v1/projects",
        .kind = FAKE_FAULT_STATUS,
        .status = 422,
        .body = "{\"message\":\"The given data was invalid.\",\"errors\":{\"name\":[\"The name "
                "has already been taken.\"]}}"};
    ck_assert_int_gt(fake_add_fault(env.fake, &ft), 0);
    struct tu_engine te;
    start(&env, &te, FAST, "projects");
    int64_t id = queue(te.store, "projects", "create", NULL, "{\"name\":\"Dup\"}");
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    assert_row(&env, id, "manual_review", NULL);
    ck_assert_int_eq(row_int(&env, "attempts", id), 1);
    ck_assert_int_eq(requests_to(&env, "POST", "/v1/projects"), 1);
    char *err = tu_db_text(&env,
                           "SELECT last_error FROM dlq WHERE kind = 'write' AND status = "
                           "'manual_review' AND http_status = 422 AND error_class = 'validation'",
                           NULL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "name: The name has already been taken."));
    free(err);
    tu_env_cleanup(&env);
}
END_TEST

/* 409: the record is re-read and the write sent once more; a second 409
 * goes to manual review. */
START_TEST(test_conflict_rereads_and_retries_once)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 5, 2);
    tu_fake_start(&env);
    char g1[32], g2[32], p1[64], p2[64];
    fake_id_at(&env, "groups", 0, g1);
    fake_id_at(&env, "groups", 1, g2);
    snprintf(p1, sizeof(p1), "/v1/groups/%s", g1);
    snprintf(p2, sizeof(p2), "/v1/groups/%s", g2);
    struct fake_fault once = {.method = "PUT", .path = p1, .count = 1, .kind = FAKE_FAULT_STATUS,
                              .status = 409};
    struct fake_fault twice = {.method = "PUT", .path = p2, .count = 2,
                               .kind = FAKE_FAULT_STATUS, .status = 409};
    ck_assert_int_gt(fake_add_fault(env.fake, &once), 0);
    ck_assert_int_gt(fake_add_fault(env.fake, &twice), 0);
    struct tu_engine te;
    start(&env, &te, FAST, "groups");
    ck_assert(tu_run_until(&te, scanned, &te, 5000));
    fake_requests_clear(env.fake);
    int64_t a = queue(te.store, "groups", "update", g1, "{\"name\":\"Resolved\"}");
    int64_t b = queue(te.store, "groups", "update", g2, "{\"name\":\"Contested\"}");
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    assert_row(&env, a, "done", "sent");
    ck_assert_int_eq(requests_to(&env, "GET", p1), 1); /* the re-read */
    ck_assert_int_eq(requests_to(&env, "PUT", p1), 2);
    ck_assert_int_eq(fake_count_where(&env, "groups", "name", "Resolved", NULL), 1);
    assert_row(&env, b, "manual_review", NULL);
    ck_assert_int_eq(requests_to(&env, "PUT", p2), 2);
    ck_assert_int_eq(fake_count_where(&env, "groups", "name", "Contested", NULL), 0);
    tu_env_cleanup(&env);
}
END_TEST

/* 429 on a write makes the whole token wait Retry-After, writes included. */
START_TEST(test_rate_limit_holds_writes_per_token)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 2, 2);
    tu_fake_start(&env);
    struct fake_fault ft = {.method = "POST",
                            .path = "/v1/users",
                            .count = 1,
                            .kind = FAKE_FAULT_STATUS,
                            .status = 429,
                            .retry_after = "1"};
    ck_assert_int_gt(fake_add_fault(env.fake, &ft), 0);
    struct tu_engine te;
    start(&env, &te, FAST "vomo.max_concurrency = 1\n", "users");
    ck_assert(tu_run_until(&te, scanned, &te, 5000));
    fake_requests_clear(env.fake);
    for (int i = 0; i < 3; i++) {
        char body[96];
        snprintf(body, sizeof(body), "{\"email\":\"rl%d@example.org\"}", i);
        queue(te.store, "users", "upsert", NULL, body);
    }
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env.fake, &r, &n), 0);
    int64_t limited_at = -1, next_at = -1;
    for (size_t i = 0; i < n; i++) {
        if (r[i].status == 429 && limited_at < 0)
            limited_at = r[i].time_ms;
        else if (limited_at >= 0 && next_at < 0)
            next_at = r[i].time_ms;
    }
    fake_requests_free(r, n);
    ck_assert_int_ge(limited_at, 0);
    ck_assert_msg(next_at - limited_at >= 900, "next request %lld ms after the 429",
                  (long long)(next_at - limited_at));
    for (int i = 0; i < 3; i++) {
        char email[64];
        snprintf(email, sizeof(email), "rl%d@example.org", i);
        ck_assert_int_eq(fake_count_where(&env, "users", "email", email, NULL), 1);
    }
    tu_env_cleanup(&env);
}
END_TEST

static bool tenant_stopped(void *arg)
{
    struct tu_engine *te = arg;
    return engine_tenant(te->e, "acme")->status == TENANT_AUTH_FAILED;
}

/* A 401 on a write stops the tenant's writes and reads alike; a new token
 * lets the write go, not counted as a failed attempt. */
START_TEST(test_auth_failure_stops_writes_and_reads)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 2, 2);
    tu_fake_start(&env);
    struct tu_engine te;
    start(&env, &te, FAST, "users");
    ck_assert(tu_run_until(&te, scanned, &te, 5000));
    ck_assert_int_eq(fake_revoke(env.fake, "acme", true), 0);
    fake_requests_clear(env.fake);
    int64_t a = queue(te.store, "users", "upsert", NULL, "{\"email\":\"auth1@example.org\"}");
    queue(te.store, "users", "upsert", NULL, "{\"email\":\"auth2@example.org\"}");
    ck_assert(tu_run_until(&te, tenant_stopped, &te, 5000));
    slot_schedule(&engine_tenant(te.e, "acme")->slots[RES_USERS], 0); /* a read would go now */
    tu_run_for(&te, 400);
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env.fake, &r, &n), 0);
    fake_requests_free(r, n);
    ck_assert_int_le((int)n, 2); /* at most the writes in flight when the 401 came */
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM outbox WHERE state = 'pending' AND "
                               "attempts = 0",
                               NULL),
                     2);
    ck_assert_int_eq(fake_revoke(env.fake, "acme", false), 0);
    tu_fake_set_token(&env, "acme", "token-acme-renewed");
    tu_write(&env, "acme.token", "token-acme-renewed");
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    assert_row(&env, a, "done", "sent");
    ck_assert_int_eq(row_int(&env, "attempts", a), 1);
    tu_env_cleanup(&env);
}
END_TEST

static bool breaker_open(void *arg)
{
    struct tu_engine *te = arg;
    return te->e->vomo_breaker.state == BREAKER_OPEN;
}

/* Behind an open breaker writes wait, spending no attempt; they go once
 * VOMO answers again. */
START_TEST(test_open_breaker_holds_writes_without_attempts)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 2, 2);
    tu_fake_start(&env);
    struct fake_fault ft = {.method = "GET", .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(env.fake, &ft), 0);
    struct tu_engine te;
    start(&env, &te,
          FAST "breaker.failure_threshold = 3\nbreaker.open_timeout = 1500ms\n"
               "retry.max_attempts = 4\n",
          "users");
    ck_assert(tu_run_until(&te, breaker_open, &te, 5000));
    for (int i = 0; i < 4; i++) {
        char body[96];
        snprintf(body, sizeof(body), "{\"email\":\"br%d@example.org\"}", i);
        queue(te.store, "users", "upsert", NULL, body);
    }
    tu_run_for(&te, 700);
    ck_assert_int_eq(requests_to(&env, "POST", "/v1/users"), 0);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM outbox WHERE state = 'pending' AND "
                               "attempts = 0",
                               NULL),
                     4);
    ck_assert_int_gt(outboxproc_stats(te.e->outbox)->skipped_breaker, 0);
    fake_clear_faults(env.fake);
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM outbox WHERE state = 'done' AND "
                               "attempts = 1",
                               NULL),
                     4);
    tu_env_cleanup(&env);
}
END_TEST

/* The writes-paused switch (for the error-budget policy) holds a tenant's
 * writes without spending attempts; reads go on. */
START_TEST(test_writes_paused_switch)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 2, 2);
    tu_fake_start(&env);
    struct tu_engine te;
    start(&env, &te, FAST, "users");
    outboxproc_pause_writes(te.e->outbox, "acme", true, "error budget exhausted");
    ck_assert(outboxproc_writes_paused(te.e->outbox, "acme"));
    int64_t id = queue(te.store, "users", "upsert", NULL, "{\"email\":\"paused@example.org\"}");
    ck_assert(tu_run_until(&te, scanned, &te, 5000)); /* reads go on */
    tu_run_for(&te, 500);
    ck_assert_int_eq(requests_to(&env, "POST", "/v1/users"), 0);
    assert_row(&env, id, "pending", NULL);
    ck_assert_int_eq(row_int(&env, "attempts", id), 0);
    outboxproc_pause_writes(te.e->outbox, "acme", false, "budget recovered");
    ck_assert(tu_run_until(&te, all_settled, &env, 5000));
    tu_engine_stop(&te);
    assert_row(&env, id, "done", "sent");
    tu_env_cleanup(&env);
}
END_TEST

/* One record's writes go in the order they were queued. */
START_TEST(test_one_records_writes_in_order)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 5, 2);
    tu_fake_start(&env);
    char gid[32], path[64];
    fake_id_at(&env, "groups", 1, gid);
    snprintf(path, sizeof(path), "/v1/groups/%s", gid);
    struct fake_fault ft = {
        .method = "PUT", .path = path, .count = 2, .kind = FAKE_FAULT_STATUS, .status = 503};
    ck_assert_int_gt(fake_add_fault(env.fake, &ft), 0);
    struct tu_engine te;
    start(&env, &te, FAST "retry.max_attempts = 1\n", "groups");
    queue(te.store, "groups", "update", gid, "{\"name\":\"First\"}");
    queue(te.store, "groups", "update", gid, "{\"name\":\"Second\"}");
    queue(te.store, "groups", "update", gid, "{\"name\":\"Third\"}");
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_count_where(&env, "groups", "name", "Third", NULL), 1);
    ck_assert_int_eq(fake_count_where(&env, "groups", "name", "First", NULL), 0);
    /* the PUTs reached VOMO in the order they were queued */
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env.fake, &r, &n), 0);
    int last = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].method, "PUT") != 0)
            continue;
        int which = strstr(r[i].body, "First") ? 1 : strstr(r[i].body, "Second") ? 2 : 3;
        ck_assert_int_ge(which, last);
        last = which;
    }
    fake_requests_free(r, n);
    ck_assert_int_eq(last, 3);
    tu_env_cleanup(&env);
}
END_TEST

/* A row a program INSERTed that makes no sense goes to manual review with
 * the reason; the daemon goes on with the others. */
START_TEST(test_inserted_rows_are_validated)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 2, 2);
    tu_fake_start(&env);
    struct tu_engine te;
    start(&env, &te, FAST, "groups");
    sqlite3 *db = store_db(te.store);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "INSERT INTO outbox (tenant, resource, op, payload) VALUES "
                                  "('acme', 'groups', 'create', '{\"name\": \"Inserted\"}'),"
                                  "('acme', 'groups', 'create', 'not json'),"
                                  "('acme', 'groups', 'explode', '{}'),"
                                  "('nobody', 'groups', 'create', '{\"name\": \"x\"}'),"
                                  "('acme', 'groups', 'update', NULL)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert(tu_run_until(&te, all_settled, &env, 15000));
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_count_where(&env, "groups", "name", "Inserted", NULL), 1);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM outbox WHERE state = 'manual_review'", NULL), 4);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE kind = 'write' AND "
                               "error_class = 'validation' AND last_error LIKE '%JSON%'",
                               NULL),
                     1);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM dlq WHERE kind = 'write' AND "
                               "last_error LIKE '%no tenant%'",
                               NULL),
                     1);
    tu_env_cleanup(&env);
}
END_TEST

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool settled_db(void *arg)
{
    return all_settled(arg);
}

/* kill -9 of the real daemon at random moments while creates are in
 * flight: afterwards VOMO holds exactly one group per intent. */
START_TEST(test_kill_9_while_in_flight_never_doubles)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 150; /* the create is in flight for a while */
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 3, 3, 1);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", "resources = groups\n");
    tu_config(&env, FAST "dlq.base_delay = 20ms\n", ini);
    free(ini);
    struct store *s = NULL;
    ck_assert_int_eq(store_open(env.db_path, &s), 0);
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    srand((unsigned)time(NULL));
    const int rounds = 6;
    for (int i = 0; i < rounds; i++) {
        char body[96];
        snprintf(body, sizeof(body), "{\"name\":\"Kill Group %d\"}", i);
        queue(s, "groups", "create", NULL, body);
        pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
        sleep_ms(100 + rand() % 900);
        kill(pid, SIGKILL);
        ck_assert_int_eq(tu_daemon_wait(pid, 5000), 128 + SIGKILL);
    }
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    /* One more write: when it is done, this daemon runs (and can be told
     * to stop), whether or not the others settled before it started. */
    queue(s, "groups", "create", NULL, "{\"name\":\"Kill Group last\"}");
    bool ok = tu_wait(settled_db, &env, 30000);
    kill(pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 0);
    ck_assert_msg(ok, "writes not settled: %s", tu_daemon_log(&env));
    for (int i = 0; i < rounds; i++) {
        char name[64];
        snprintf(name, sizeof(name), "Kill Group %d", i);
        ck_assert_msg(fake_count_where(&env, "groups", "name", name, NULL) == 1,
                      "%s exists %d times", name,
                      fake_count_where(&env, "groups", "name", name, NULL));
    }
    ck_assert_int_eq(fake_count_where(&env, "groups", "name", "Kill Group last", NULL), 1);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM outbox WHERE state = 'done'", NULL),
                     rounds + 1);
    printf("kill -9: %lld of %d creates were in flight when killed, %lld adopted by the search\n",
           (long long)tu_db_int(&env, "SELECT count(*) FROM outbox WHERE maybe_applied = 1", NULL),
           rounds,
           (long long)tu_db_int(&env, "SELECT count(*) FROM outbox WHERE resolution = 'adopted'",
                                NULL));
    store_close(s);
    tu_env_cleanup(&env);
}
END_TEST

/* 1,000 writes under 20% faults and 3 restarts: every intent applied
 * exactly once (the fake's state equals the intended state), none lost,
 * none doubled. */
START_TEST(test_thousand_writes_under_faults_and_restarts)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    struct ol_result r;
    ol_run(&env, 3, 0.20, &r);
    printf("outbox load: %d writes, 20%% of write requests faulted, 3 restarts: %.1f s "
           "(%.0f writes/s), %.2f requests per write\n",
           r.writes, r.seconds, r.writes / r.seconds, (double)r.requests / r.writes);
    ck_assert_int_eq(r.done, r.writes);
    ck_assert_msg(r.wrong == 0, "%d intents wrong: %s", r.wrong, r.detail);
    tu_env_cleanup(&env);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("writes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_group_create_response_lost_is_adopted);
    tcase_add_test(tc, test_group_create_timeout_after_send_is_adopted);
    tcase_add_test(tc, test_group_create_reset_before_apply_is_sent_again);
    tcase_add_test(tc, test_user_upsert_retried_after_lost_response);
    tcase_add_test(tc, test_delete_retried_404_is_done);
    tcase_add_test(tc, test_validation_goes_to_review_with_field_errors);
    tcase_add_test(tc, test_conflict_rereads_and_retries_once);
    tcase_add_test(tc, test_rate_limit_holds_writes_per_token);
    tcase_add_test(tc, test_auth_failure_stops_writes_and_reads);
    tcase_add_test(tc, test_open_breaker_holds_writes_without_attempts);
    tcase_add_test(tc, test_one_records_writes_in_order);
    tcase_add_test(tc, test_writes_paused_switch);
    tcase_add_test(tc, test_inserted_rows_are_validated);
    suite_add_tcase(s, tc);
    TCase *crash = tcase_create("crash");
    tcase_set_timeout(crash, 400);
    tcase_add_test(crash, test_kill_9_while_in_flight_never_doubles);
    tcase_add_test(crash, test_thousand_writes_under_faults_and_restarts);
    suite_add_tcase(s, crash);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
