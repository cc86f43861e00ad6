/*
 * check_obs.c - GET /metrics of the running engine, scraped over HTTP and
 * parsed back: the counters move by exactly what a scripted fake run
 * caused (requests and their statuses as the fake logged them, 503s,
 * records applied and failed, scans, dead letters, webhook deliveries and
 * their validation failure), labelled counters exist at 0 before anything
 * happened, a scrape during a backfill sees it in progress and counts its
 * pages as they go, and `promtool check metrics` finds nothing to say
 * about a scrape of a daemon that synced, failed and dead-lettered.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "obs.h"
#include "outboxproc.h"
#include "statusdoc.h"
#include "testutil.h"
#include "web.h"

struct rig {
    struct tu_env env;
    struct tu_engine te;
    struct web web;
    bool web_closed;
};

static void rig_start(struct rig *r)
{
    tu_engine_start(&r->env, &r->te);
    int fd;
    bool activated;
    char err[256];
    ck_assert_int_eq(web_bind("127.0.0.1:0", &fd, &activated, err, sizeof(err)), 0);
    ck_assert_int_eq(
        web_open(&r->web, &r->te.loop, r->te.e, "127.0.0.1:0", fd, false, err, sizeof(err)), 0);
    web_set_phase(&r->web, WEB_READY);
}

static void on_web_closed(struct web *w)
{
    struct rig *r = container_of(w, struct rig, web);
    r->web_closed = true;
}

static void rig_stop(struct rig *r)
{
    web_close(&r->web, on_web_closed);
    tu_engine_stop(&r->te);
    ck_assert(r->web_closed);
    tu_env_cleanup(&r->env);
}

struct scrape {
    bool done;
    long status;
    char *body;
};

static void on_scraped(const struct http_response *resp, void *arg)
{
    struct scrape *s = arg;
    s->status = resp->status;
    s->body = http_response_steal_body(resp, NULL);
    s->done = true;
}

static bool scraped(void *arg)
{
    return ((struct scrape *)arg)->done;
}

/* GET path with the engine's own client, the loop turning meanwhile. */
static char *get_path(struct rig *r, const char *path)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", web_port(&r->web), path);
    struct scrape s = {0};
    struct http_request req = {
        .method = "GET", .url = url, .timeout_ms = 5000, .done = on_scraped, .arg = &s};
    ck_assert_int_eq(http_submit(&r->te.e->http, &req), 0);
    ck_assert(tu_run_until(&r->te, scraped, &s, 10000));
    ck_assert_int_eq(s.status, 200);
    return s.body;
}

static char *scrape(struct rig *r)
{
    return get_path(r, "/metrics");
}

/*
 * The value of one series ("name{a=\"x\"}" exactly as written), or NAN when
 * absent.  Also checks the text's shape: every sample's family was
 * announced by HELP and TYPE lines before it.
 */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        ck_assert_msg(eol, "exposition does not end with a newline");
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = eol + 1;
    }
    return NAN;
}

static void check_shape(const char *text)
{
    char family[160] = "";
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        ck_assert_ptr_nonnull(eol);
        if (strncmp(line, "# HELP ", 7) == 0) {
            size_t k = strcspn(line + 7, " ");
            snprintf(family, sizeof(family), "%.*s", (int)k, line + 7);
        } else if (line[0] != '#') {
            ck_assert_msg(family[0] && strncmp(line, family, strlen(family)) == 0,
                          "sample outside its family: %.*s", (int)(eol - line), line);
        }
        line = eol + 1;
    }
}

static int fake_count_of(struct tu_env *env, const char *tenant, const char *path, int status)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &reqs, &n), 0);
    int c = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(reqs[i].tenant, tenant) == 0 && strcmp(reqs[i].path, path) == 0 &&
            reqs[i].status == status)
            c++;
    fake_requests_free(reqs, n);
    return c;
}

static bool scans1(void *arg)
{
    return tu_scans_at_least(arg, 1);
}

static bool dlq_has(void *arg)
{
    struct rig *r = arg;
    return tu_db_int(&r->env, "SELECT count(*) FROM dlq", NULL) >= 2;
}

#define SERIES(name, labels) name "{" labels "}"

/* acme: 40 users (one malformed), 5 groups, 5 projects, two 503s on the
 * users; beta: a webhook tenant whose sink refuses one delivery (422). */
static void scripted_run(struct rig *r)
{
    tu_env_init(&r->env, NULL);
    tu_tenant(&r->env, "acme", 40, 5, 5);
    tu_tenant(&r->env, "beta", 10, 0, 0);
    tu_fake_start(&r->env);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(r->env.fake, "acme", "users", &recs, &n), 0);
    ck_assert_int_eq(
        fake_corrupt(r->env.fake, "acme", "users", recs[7].id, FAKE_CORRUPT_NO_UPDATED_AT), 0);
    fake_records_free(recs, n);
    struct fake_fault f503 = {.path = "/v1/users",
                              .tenant = "acme",
                              .kind = FAKE_FAULT_STATUS,
                              .status = 503,
                              .count = 2};
    ck_assert_int_gt(fake_add_fault(r->env.fake, &f503), 0);
    struct fake_fault f422 = {
        .path = "/_hooks/beta", .kind = FAKE_FAULT_STATUS, .status = 422, .count = 1};
    ck_assert_int_gt(fake_add_fault(r->env.fake, &f422), 0);
    char *a = tu_tenant_ini("acme", NULL);
    char *b = tu_webhook_tenant_ini(&r->env, "beta", "users", "beta-secret", NULL, NULL);
    char *both = xasprintf("%s%s", a, b);
    tu_config(&r->env, "poll.interval = 1h", both);
    free(a);
    free(b);
    free(both);
    rig_start(r);
    ck_assert(tu_run_until(&r->te, scans1, r->te.e, 20000));
    ck_assert(tu_run_until(&r->te, dlq_has, r, 10000));
}

/* Every metric the shipped Grafana dashboard queries is in the scrape. */
static void check_dashboard(const char *scrape_text)
{
    char *json;
    size_t len;
    ck_assert_int_eq(
        read_whole_file(SOURCE_ROOT "/contrib/grafana/vomo-sync.json", 1 << 20, &json, &len), 0);
    cJSON *dash = cJSON_Parse(json);
    ck_assert_msg(dash, "contrib/grafana/vomo-sync.json is not JSON");
    int exprs = 0;
    const cJSON *panel;
    cJSON_ArrayForEach(panel, cJSON_GetObjectItem(dash, "panels"))
    {
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(panel, "targets"))
        {
            const char *e = cJSON_GetObjectItem(t, "expr")->valuestring;
            exprs++;
            for (const char *p = strstr(e, "vomo_sync_"); p; p = strstr(p + 1, "vomo_sync_")) {
                char name[128], type[160];
                size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
                snprintf(name, sizeof(name), "%.*s", (int)n, p);
                char *b = strstr(name, "_bucket");
                if (b && b[7] == '\0')
                    *b = '\0';
                snprintf(type, sizeof(type), "# TYPE %s ", name);
                ck_assert_msg(strstr(scrape_text, type), "the dashboard queries %s: not scraped",
                              name);
            }
        }
    }
    ck_assert_int_ge(exprs, 10);
    cJSON_Delete(dash);
    free(json);
}

START_TEST(counters_follow_a_scripted_run)
{
    struct rig r;
    scripted_run(&r);
    char *m = scrape(&r);
    check_shape(m);
    int ok_users = fake_count_of(&r.env, "acme", "/v1/users", 200);
    ck_assert_int_ge(ok_users, 3);
    double users_200 = value_of(m, SERIES("vomo_sync_vomo_requests_total",
                                          "tenant=\"acme\",resource=\"users\",code=\"200\""));
    ck_assert_msg(users_200 == ok_users, "%g requests counted, the fake answered %d", users_200,
                  ok_users);
    ck_assert(value_of(m, SERIES("vomo_sync_vomo_requests_total",
                                 "tenant=\"acme\",resource=\"users\",code=\"503\"")) == 2);
    ck_assert_int_eq(fake_count_of(&r.env, "acme", "/v1/users", 503), 2);
    ck_assert(value_of(m, SERIES("vomo_sync_vomo_requests_total",
                                 "tenant=\"acme\",resource=\"groups\",code=\"200\"")) ==
              fake_count_of(&r.env, "acme", "/v1/groups", 200));
    /* Pre-initialised: nothing was throttled, yet the series is there. */
    ck_assert(value_of(m, SERIES("vomo_sync_vomo_requests_total",
                                 "tenant=\"acme\",resource=\"groups\",code=\"429\"")) == 0);
    ck_assert(value_of(m, SERIES("vomo_sync_errors_total",
                                 "tenant=\"acme\",resource=\"projects\",class=\"auth\"")) == 0);
    /* Records: 39 applied, the malformed one failed and is for review. */
    ck_assert(value_of(m, SERIES("vomo_sync_records_total",
                                 "tenant=\"acme\",resource=\"users\",outcome=\"applied\"")) == 39);
    ck_assert(value_of(m, SERIES("vomo_sync_records_total",
                                 "tenant=\"acme\",resource=\"users\",outcome=\"failed\"")) == 1);
    ck_assert(value_of(m, SERIES("vomo_sync_records_total",
                                 "tenant=\"acme\",resource=\"groups\",outcome=\"applied\"")) == 5);
    ck_assert(
        value_of(m, SERIES("vomo_sync_dlq_rows", "tenant=\"acme\",status=\"manual_review\"")) == 1);
    ck_assert(value_of(m, SERIES("vomo_sync_dlq_rows", "tenant=\"acme\",status=\"pending\"")) == 0);
    /* One complete full scan per resource (the first scan reconciles). */
    ck_assert(value_of(m, SERIES("vomo_sync_scans_total", "tenant=\"acme\",resource=\"users\","
                                                          "kind=\"full\",status=\"complete\"")) ==
              1);
    ck_assert(value_of(m, SERIES("vomo_sync_scan_duration_seconds_count",
                                 "tenant=\"acme\",resource=\"users\"")) == 1);
    ck_assert(value_of(m, SERIES("vomo_sync_scan_pages_total",
                                 "tenant=\"acme\",resource=\"users\"")) == ok_users);
    ck_assert(value_of(m, SERIES("vomo_sync_last_scan_success_timestamp_seconds",
                                 "tenant=\"acme\",resource=\"users\"")) > 1.7e9);
    /* Latency: one observation per attempt. */
    double acme_reqs = fake_count_of(&r.env, "acme", "/v1/users", 200) + 2 +
                       fake_count_of(&r.env, "acme", "/v1/groups", 200) +
                       fake_count_of(&r.env, "acme", "/v1/projects", 200);
    ck_assert(value_of(m, SERIES("vomo_sync_vomo_request_duration_seconds_count",
                                 "tenant=\"acme\"")) == acme_reqs);
    ck_assert(value_of(m, SERIES("vomo_sync_vomo_request_duration_seconds_bucket",
                                 "tenant=\"acme\",le=\"+Inf\"")) == acme_reqs);
    /* The webhook tenant: one 422 (validation, dead-lettered), the rest 2xx. */
    ck_assert(value_of(m, SERIES("vomo_sync_webhook_deliveries_total",
                                 "tenant=\"beta\",code=\"422\"")) == 1);
    ck_assert(value_of(m, SERIES("vomo_sync_webhook_deliveries_total",
                                 "tenant=\"beta\",code=\"200\"")) == 9);
    ck_assert(value_of(m, SERIES("vomo_sync_errors_total",
                                 "tenant=\"beta\",resource=\"users\",class=\"validation\"")) == 1);
    ck_assert(value_of(m, SERIES("vomo_sync_breaker_state", "breaker=\"vomo\",state=\"closed\"")) ==
              1);
    ck_assert(value_of(m, SERIES("vomo_sync_breaker_state", "breaker=\"vomo\",state=\"open\"")) ==
              0);
    ck_assert(value_of(m, SERIES("vomo_sync_breaker_state",
                                 "breaker=\"destination:beta\",state=\"closed\"")) == 1);
    ck_assert(value_of(m, SERIES("vomo_sync_tenant_state", "tenant=\"acme\",state=\"ok\"")) == 1);
    ck_assert(value_of(m, SERIES("vomo_sync_build_info", "version=\"" VOMO_SYNC_VERSION "\"")) ==
              1);
    ck_assert(value_of(m, "vomo_sync_poll_interval_seconds") == 3600);
    ck_assert(value_of(m, "vomo_sync_process_start_time_seconds") > 1.7e9);
    ck_assert(value_of(m, SERIES("vomo_sync_checkpoint_lag_seconds",
                                 "tenant=\"acme\",resource=\"users\"")) >= 0);
    ck_assert(value_of(m, SERIES("vomo_sync_dlq_oldest_pending_age_seconds", "tenant=\"acme\"")) ==
              0);
    ck_assert(value_of(m, SERIES("vomo_sync_retry_budget_tokens", "tenant=\"acme\"")) > 0);
    ck_assert(
        value_of(m, SERIES("vomo_sync_scans_running", "tenant=\"acme\",resource=\"users\"")) == 0);
    check_dashboard(m);
    /* A second scrape sees the same counters: reading moves nothing. */
    char *again = scrape(&r);
    ck_assert(value_of(again, SERIES("vomo_sync_vomo_requests_total",
                                     "tenant=\"acme\",resource=\"users\",code=\"503\"")) == 2);
    free(again);
    free(m);
    rig_stop(&r);
}
END_TEST

struct backfill {
    struct rig *r;
    bool seen_running;
    double last_pages;
    int scrapes;
    bool monotonic;
};

static bool backfill_step(void *arg)
{
    struct backfill *b = arg;
    return tu_scans_at_least(b->r->te.e, 1);
}

START_TEST(scrape_during_a_backfill)
{
    struct rig r;
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 20;
    tu_env_init(&r.env, &o);
    tu_tenant(&r.env, "acme", 1500, 0, 0); /* 100 pages of 15 */
    tu_fake_start(&r.env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&r.env, "poll.interval = 1h\nvomo.max_concurrency = 2", a);
    free(a);
    rig_start(&r);
    struct backfill b = {.r = &r, .monotonic = true};
    while (!backfill_step(&b) && b.scrapes < 400) {
        char *m = scrape(&r);
        b.scrapes++;
        double running =
            value_of(m, SERIES("vomo_sync_scans_running", "tenant=\"acme\",resource=\"users\""));
        double pages =
            value_of(m, SERIES("vomo_sync_scan_pages_total", "tenant=\"acme\",resource=\"users\""));
        if (running == 1 && !b.seen_running) {
            b.seen_running = true;
            /* /status shows the same scan in progress, with its pages. */
            char *st = get_path(&r, "/status");
            cJSON *doc = cJSON_Parse(st);
            const cJSON *scan = cJSON_GetArrayItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "live"), "scans"), 0);
            ck_assert_msg(scan, "no scan in progress in /status: %s", st);
            ck_assert_str_eq(cJSON_GetObjectItem(scan, "resource")->valuestring, "users");
            ck_assert(cJSON_GetObjectItem(scan, "pages_done")->valuedouble >= 0);
            ck_assert(cJSON_GetObjectItem(scan, "running_ms")->valuedouble >= 0);
            cJSON_Delete(doc);
            free(st);
        }
        if (pages < b.last_pages)
            b.monotonic = false;
        b.last_pages = pages;
        free(m);
        tu_run_for(&r.te, 20);
    }
    ck_assert(backfill_step(&b));
    ck_assert_msg(b.seen_running && b.scrapes >= 3, "%d scrapes, running seen: %d", b.scrapes,
                  b.seen_running);
    ck_assert(b.monotonic);
    ck_assert_int_eq(tu_mirror_diff(&r.env, "acme", "users"), 0);
    char *m = scrape(&r);
    ck_assert(value_of(m, SERIES("vomo_sync_scan_pages_total",
                                 "tenant=\"acme\",resource=\"users\"")) == 100);
    ck_assert(value_of(m, SERIES("vomo_sync_records_total",
                                 "tenant=\"acme\",resource=\"users\",outcome=\"applied\"")) ==
              1500);
    free(m);
    rig_stop(&r);
}
END_TEST

static char *find_promtool(void)
{
    const char *path = getenv("PATH");
    char *copy = xstrdup(path ? path : "/usr/bin:/bin");
    char *found = NULL;
    for (char *dir = copy, *next; dir && !found; dir = next) {
        next = strchr(dir, ':');
        if (next)
            *next++ = '\0';
        char *p = xasprintf("%s/promtool", *dir ? dir : ".");
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

START_TEST(promtool_finds_nothing)
{
    char *promtool = find_promtool();
    if (!promtool) {
        printf("check_obs: promtool is not installed (Debian package prometheus); the "
               "exposition was not linted\n");
        return;
    }
    struct rig r;
    scripted_run(&r);
    free(get_path(&r, "/api/v1/acme/groups")); /* the read API's series too, histogram included */
    char *m = scrape(&r);
    ck_assert_ptr_nonnull(
        strstr(m, "vomo_sync_api_request_duration_seconds_bucket{tenant=\"acme\""));
    ck_assert_ptr_nonnull(strstr(m, "vomo_sync_alert_queue_length 0\n"));
    const char *path = tu_write(&r.env, "scrape.txt", m);
    char *cmd = xasprintf("%s check metrics < %s 2>&1", promtool, path);
    FILE *p = popen(cmd, "r");
    char out[4096];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 && n == 0,
                  "promtool check metrics (exit %d) says:\n%s", WEXITSTATUS(st), out);
    free(cmd);
    free(m);
    free(promtool);
    rig_stop(&r);
}
END_TEST

/* dlq_counts (migration 0003) stays equal to a count of the rows through
 * inserts, status changes, a tenant change and deletes. */
static int64_t counted_mismatches(sqlite3 *db)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM (SELECT tenant, status, count(*) AS n FROM dlq "
                           "GROUP BY 1, 2) d FULL JOIN (SELECT * FROM dlq_counts WHERE rows > 0) c "
                           "USING (tenant, status) WHERE d.n IS NOT c.rows",
                           -1, &st, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
}

START_TEST(dlq_counts_stay_exact)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    struct store *s;
    ck_assert_int_eq(store_open(env.db_path, &s), 0);
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    store_close(s);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(env.db_path, &db), SQLITE_OK);
    exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
             "INSERT INTO dlq (tenant, resource, record_id, status, error_class, created_at, "
             "updated_at) SELECT CASE i % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END, "
             "'users', i, CASE i % 4 WHEN 0 THEN 'manual_review' ELSE 'pending' END, "
             "'transient', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n");
    ck_assert_int_eq(counted_mismatches(db), 0);
    exec(db, "UPDATE dlq SET status = 'resolved' WHERE id % 5 = 0");
    exec(db, "UPDATE dlq SET note = 'only a note' WHERE id % 7 = 0");
    exec(db, "UPDATE dlq SET tenant = 'd' WHERE id % 11 = 0");
    ck_assert_int_eq(counted_mismatches(db), 0);
    exec(db, "DELETE FROM dlq WHERE status = 'resolved'");
    exec(db, "DELETE FROM dlq WHERE id % 13 = 0");
    ck_assert_int_eq(counted_mismatches(db), 0);
    sqlite3_close(db);
    tu_env_cleanup(&env);
}
END_TEST

/* One failing part of the status document (a view that cannot be read)
 * is an error in its own section; the others are still there. */
/* vomo_sync_outbox_rows: writes not finished, by tenant and state. */
START_TEST(outbox_rows_by_state)
{
    struct rig r = {0};
    tu_env_init(&r.env, NULL);
    tu_tenant(&r.env, "acme", 5, 2, 2);
    tu_fake_start(&r.env);
    char *a = tu_tenant_ini("acme", "resources = users\n");
    tu_config(&r.env, "poll.interval = 1h", a);
    free(a);
    rig_start(&r);
    outboxproc_pause_writes(r.te.e->outbox, "acme", true, "test");
    ck_assert_int_eq(sqlite3_exec(store_db(r.te.store),
                                  "INSERT INTO outbox (tenant, resource, op, payload, record_key) "
                                  "VALUES ('acme', 'users', 'upsert', '{\"email\":\"a@b.c\"}', "
                                  "'users:a@b.c'), ('acme', 'groups', 'create', "
                                  "'{\"name\":\"x\"}', ''); INSERT INTO outbox (tenant, resource, "
                                  "op, payload, state, record_key) VALUES ('acme', 'groups', "
                                  "'create', '{}', 'manual_review', ''), ('acme', 'groups', "
                                  "'create', '{}', 'done', '')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    char *m = scrape(&r);
    check_shape(m);
    ck_assert(value_of(m, SERIES("vomo_sync_outbox_rows", "tenant=\"acme\",state=\"pending\"")) ==
              2);
    ck_assert(value_of(m, SERIES("vomo_sync_outbox_rows",
                                 "tenant=\"acme\",state=\"manual_review\"")) == 1);
    ck_assert(value_of(m, SERIES("vomo_sync_outbox_rows", "tenant=\"acme\",state=\"unknown\"")) ==
              0);
    free(m);
    rig_stop(&r);
}
END_TEST

START_TEST(status_sections_fail_alone)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    struct store *s;
    ck_assert_int_eq(store_open(env.db_path, &s), 0);
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    ck_assert_int_eq(store_tenant_state_set(s, "acme", "ok", NULL, "2026-01-01T00:00:00.000Z"), 0);
    bool failed = true;
    cJSON *doc = statusdoc_build(s, env.db_path, NULL, &failed);
    ck_assert(!failed);
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(doc, "resources")));
    cJSON_Delete(doc);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(env.db_path, &db), SQLITE_OK);
    exec(db, "DROP VIEW record_counts");
    sqlite3_close(db);
    doc = statusdoc_build(s, env.db_path, NULL, &failed);
    ck_assert(failed);
    const char *err = statusdoc_section_error(cJSON_GetObjectItem(doc, "resources"));
    ck_assert_msg(err && strstr(err, "record_counts"), "%s", err ? err : "(none)");
    const cJSON *tenants = cJSON_GetObjectItem(doc, "tenants");
    ck_assert(cJSON_IsArray(tenants) && cJSON_GetArraySize(tenants) == 1);
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(doc, "breakers")));
    ck_assert_ptr_null(statusdoc_section_error(tenants));
    cJSON_Delete(doc);
    store_close(s);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *obs_suite(void)
{
    Suite *s = suite_create("obs");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, counters_follow_a_scripted_run);
    tcase_add_test(tc, outbox_rows_by_state);
    tcase_add_test(tc, scrape_during_a_backfill);
    tcase_add_test(tc, promtool_finds_nothing);
    tcase_add_test(tc, dlq_counts_stay_exact);
    tcase_add_test(tc, status_sections_fail_alone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(obs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
