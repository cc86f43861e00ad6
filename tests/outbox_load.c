/*
 * outbox_load.c - the outbox load run of outbox_load.h.
 */
#include "outbox_load.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox_ops.h"
#include "store_outbox.h"

#define OL_USERS 400
#define OL_GROUPS 300
#define OL_UPDATED 100 /* groups updated twice each */
#define OL_PROJECTS 100
#define OL_WRITES (OL_USERS + OL_GROUPS + 2 * OL_UPDATED + OL_PROJECTS)

static void add(struct store *s, const char *res, const char *op, const char *id,
                const char *payload)
{
    char why[256], key[OUTBOX_KEY_LEN], now[TS_LEN];
    ck_assert_msg(outbox_validate(res, op, id, payload, why, sizeof(why), key) == 0, "%s", why);
    ts_format(clock_wall_ms(), now);
    struct outbox_new n = {.tenant = "acme",
                           .resource = res,
                           .op = op,
                           .target_id = id,
                           .payload = payload,
                           .record_key = key,
                           .actor = "load",
                           .now = now};
    int64_t row;
    int existed;
    ck_assert_int_eq(store_outbox_add(s, &n, &row, &existed), 0);
}

static void queue_all(struct store *s, const struct fake_record *groups)
{
    char body[160];
    ck_assert_int_eq(store_begin(s), 0);
    for (int i = 0; i < OL_USERS; i++) {
        snprintf(body, sizeof(body), "{\"email\":\"load%d@example.org\",\"first_name\":\"F%d\"}", i,
                 i);
        add(s, "users", "upsert", NULL, body);
    }
    for (int i = 0; i < OL_GROUPS; i++) {
        snprintf(body, sizeof(body), "{\"name\":\"Load Group %d\",\"description\":\"d%d\"}", i, i);
        add(s, "groups", "create", NULL, body);
    }
    for (int v = 1; v <= 2; v++)
        for (int i = 0; i < OL_UPDATED; i++) {
            snprintf(body, sizeof(body), "{\"name\":\"Updated %s v%d\"}", groups[i].id, v);
            add(s, "groups", "update", groups[i].id, body);
        }
    for (int i = 0; i < OL_PROJECTS; i++) {
        snprintf(body, sizeof(body), "{\"name\":\"Load Project %d\",\"active\":true}", i);
        add(s, "projects", "create", NULL, body);
    }
    ck_assert_int_eq(store_commit(s), 0);
}

static void add_faults(struct tu_env *env, double share)
{
    static const char *const methods[] = {"POST", "PUT"};
    if (share <= 0)
        return; /* a rule's probability 0 would mean "always" */
    /* Rules are tried in order, each rolling its own probability. */
    double lose = share * 0.4, fail = share * 0.3 / (1 - lose);
    double reset = share * 0.3 / (1 - lose - share * 0.3);
    for (size_t m = 0; m < 2; m++) {
        struct fake_fault r[] = {
            {.method = methods[m], .path = "/v1/*", .probability = lose, .kind = FAKE_FAULT_LOSE},
            {.method = methods[m],
             .path = "/v1/*",
             .probability = fail,
             .kind = FAKE_FAULT_STATUS,
             .status = 503},
            {.method = methods[m], .path = "/v1/*", .probability = reset, .kind = FAKE_FAULT_RESET},
        };
        for (size_t i = 0; i < 3; i++)
            ck_assert_int_gt(fake_add_fault(env->fake, &r[i]), 0);
    }
}

/* How many fake records have field == value. */
static int count_field(const struct fake_record *r, size_t n, const char *field, const char *value)
{
    int hits = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_Parse(r[i].payload);
        const cJSON *v = cJSON_GetObjectItem(o, field);
        hits += cJSON_IsString(v) && strcmp(v->valuestring, value) == 0;
        cJSON_Delete(o);
    }
    return hits;
}

static void expect(struct ol_result *out, const struct fake_record *r, size_t n, const char *field,
                   const char *value, int want)
{
    int got = count_field(r, n, field, value);
    if (got == want)
        return;
    if (out->wrong++ == 0)
        snprintf(out->detail, sizeof(out->detail), "%s '%s' found %d times, want %d", field, value,
                 got, want);
}

static void compare(struct tu_env *env, const struct fake_record *g0, struct ol_result *out)
{
    struct fake_record *u, *g, *p;
    size_t nu, ng, np;
    char v[96];
    ck_assert_int_eq(fake_records(env->fake, "acme", "users", &u, &nu), 0);
    ck_assert_int_eq(fake_records(env->fake, "acme", "groups", &g, &ng), 0);
    ck_assert_int_eq(fake_records(env->fake, "acme", "projects", &p, &np), 0);
    for (int i = 0; i < OL_USERS; i++) {
        snprintf(v, sizeof(v), "load%d@example.org", i);
        expect(out, u, nu, "email", v, 1);
    }
    for (int i = 0; i < OL_GROUPS; i++) {
        snprintf(v, sizeof(v), "Load Group %d", i);
        expect(out, g, ng, "name", v, 1);
    }
    for (int i = 0; i < OL_UPDATED; i++) {
        snprintf(v, sizeof(v), "Updated %s v2", g0[i].id);
        expect(out, g, ng, "name", v, 1);
    }
    for (int i = 0; i < OL_PROJECTS; i++) {
        snprintf(v, sizeof(v), "Load Project %d", i);
        expect(out, p, np, "name", v, 1);
    }
    fake_records_free(u, nu);
    fake_records_free(g, ng);
    fake_records_free(p, np);
}

struct goal {
    struct tu_env *env;
    int64_t want;
};

static bool reached(void *arg)
{
    struct goal *g = arg;
    return tu_db_int(g->env, "SELECT count(*) FROM outbox WHERE state = 'done'", NULL) >= g->want;
}

static int64_t write_requests(struct tu_env *env)
{
    struct fake_request *r;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &r, &n), 0);
    int64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(r[i].method, "GET") != 0 || strstr(r[i].query, "name_like") != NULL;
    fake_requests_free(r, n);
    return k;
}

void ol_run(struct tu_env *env, int restarts, double fault_share, struct ol_result *out)
{
    memset(out, 0, sizeof(*out));
    out->writes = OL_WRITES;
    tu_tenant(env, "acme", 10, OL_UPDATED + 20, 5);
    tu_fake_start(env);
    struct fake_record *g0;
    size_t ng0;
    ck_assert_int_eq(fake_records(env->fake, "acme", "groups", &g0, &ng0), 0);
    char *ini = tu_tenant_ini("acme", "resources = users, groups, projects\n");
    tu_config(env,
              "daemon.shutdown_timeout = 100ms\nvomo.request_timeout = 500ms\n"
              "vomo.connect_timeout = 300ms\npoll.interval = 1h\ndlq.max_attempts = 15\n"
              "dlq.base_delay = 20ms\ndlq.max_delay = 100ms\n",
              ini);
    free(ini);
    struct tu_engine te;
    tu_engine_start(env, &te);
    add_faults(env, fault_share);
    int64_t t0 = clock_mono_ms();
    queue_all(te.store, g0);
    for (int k = 1; k <= restarts; k++) {
        struct goal g = {env, (int64_t)OL_WRITES * k / (restarts + 1)};
        tu_run_until(&te, reached, &g, 120000);
        tu_engine_stop(&te);
        tu_engine_start(env, &te);
    }
    struct goal all = {env, OL_WRITES};
    tu_run_until(&te, reached, &all, 240000);
    out->seconds = (double)(clock_mono_ms() - t0) / 1000.0;
    tu_engine_stop(&te);
    out->done = (int)tu_db_int(env, "SELECT count(*) FROM outbox WHERE state = 'done'", NULL);
    out->requests = write_requests(env);
    fake_clear_faults(env->fake);
    compare(env, g0, out);
    fake_records_free(g0, ng0);
}
