/*
 * check_cli.c - the database commands (migrate, status, dlq, checkpoint)
 * run as the real vomo-sync binary against a temporary configuration and
 * state database: exit codes, what they print (tables and JSON), and what
 * they change, asserted by reading the database afterwards.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrations.h"
#include "store.h"
#include "clirun.h"
#include "testutil.h"
#include "util.h"

extern char **environ;

static char dir[64], cfg_path[128], db_path[128], out_path[128], err_path[128];

static void setup(void)
{
    store_set_log_errors(0);
    snprintf(dir, sizeof(dir), "/tmp/check_cli.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cfg_path, sizeof(cfg_path), "%s/vomo-sync.ini", dir);
    snprintf(db_path, sizeof(db_path), "%s/state.db", dir);
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    snprintf(err_path, sizeof(err_path), "%s/err", dir);
    FILE *f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    /* token_file need not exist: the database commands skip secrets */
    fputs("[daemon]\nstate_db = state.db\n\n[tenant.acme]\ntoken_file = acme.token\n"
          "resources = users, groups\n",
          f);
    fclose(f);
}

static void teardown(void)
{
    tu_rm_tree(dir);
}

/* Runs `vomo-sync --config CFG ARGS...` (args NULL-terminated) to completion. */
static struct clirun run_argv(const char *const *args)
{
    return clirun_argv(cfg_path, NULL, out_path, err_path, args);
}

#define RUN(...) run_argv((const char *const[]){__VA_ARGS__, NULL})

/* Runs and asserts the exit code; the caller frees the result. */
#define RUN_EXPECT(code_, ...)                                                                     \
    ({                                                                                             \
        struct clirun r_ = RUN(__VA_ARGS__);                                                       \
        ck_assert_msg(r_.code == (code_), "exit %d, want %d; stdout: %s; stderr: %s", r_.code,     \
                      (code_), r_.out, r_.err);                                                    \
        r_;                                                                                        \
    })

static struct store *open_store(void)
{
    struct store *s = NULL;
    ck_assert_int_eq(store_open(db_path, &s), 0);
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    return s;
}

static sqlite3 *raw(void)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

static int64_t q_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    sqlite3 *db = raw();
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    sqlite3_free(sql);
    return v;
}

static void exec_raw(const char *sql)
{
    sqlite3 *db = raw();
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int64_t add_dlq(struct store *s, const char *tenant, const char *resource,
                       const char *record_id, const char *status, const char *error_class)
{
    int pending = strcmp(status, "pending") == 0;
    struct dlq_new n = {.tenant = tenant,
                        .resource = resource,
                        .record_id = record_id,
                        .record_updated_at = "2026-01-01T00:00:00.000Z",
                        .status = status,
                        .error_class = error_class,
                        .http_status = pending ? 503 : 422,
                        .attempts = pending ? 2 : 1,
                        .next_attempt_at = pending ? "2030-01-01T00:00:00.000Z" : NULL,
                        .last_error = pending ? "HTTP 503" : "HTTP 422: email is invalid",
                        .payload = "{\"id\":8205,\"email\":\"x\"}",
                        .now = "2026-01-02T00:00:00.000Z"};
    int64_t id = 0;
    ck_assert_int_eq(store_dlq_add(s, &n, &id), 0);
    return id;
}

static void my_actor(char out[64])
{
    struct passwd *pw = getpwuid(getuid());
    snprintf(out, 64, "%s", pw ? pw->pw_name : "?");
}

static const char *const help_cmds[][4] = {
    {"--help"},
    {"migrate", "--help"},
    {"status", "--help"},
    {"dlq", "--help"},
    {"dlq", "list", "--help"},
    {"dlq", "show", "--help"},
    {"dlq", "retry", "--help"},
    {"dlq", "resolve", "--help"},
    {"dlq", "discard", "--help"},
    {"dlq", "purge", "--help"},
    {"checkpoint", "--help"},
    {"checkpoint", "show", "--help"},
    {"checkpoint", "reset", "--help"},
    {"reconcile", "--help"},
    {"reconcile", "allow", "--help"},
};

START_TEST(test_help_everywhere)
{
    for (size_t i = 0; i < ARRAY_SIZE(help_cmds); i++) {
        const char *args[5] = {help_cmds[i][0], help_cmds[i][1], help_cmds[i][2], NULL};
        struct clirun r = run_argv(args);
        ck_assert_msg(r.code == 0, "%s %s: exit %d", args[0], args[1] ? args[1] : "", r.code);
        ck_assert_ptr_nonnull(strstr(r.out, "usage:"));
        clirun_free(&r);
    }
    ck_assert_int_eq(access(db_path, F_OK), -1);
}
END_TEST

static const char *const usage_cmds[][8] = {
    {"dlq"},
    {"dlq", "frob"},
    {"dlq", "show"},
    {"dlq", "show", "abc"},
    {"dlq", "list", "--bogus"},
    {"dlq", "list", "--status", "weird"},
    {"dlq", "list", "--limit", "0"},
    {"dlq", "retry"},
    {"dlq", "retry", "1", "--all"},
    {"dlq", "retry", "--all", "--status", "resolved"},
    {"dlq", "resolve", "1", "2"},
    {"dlq", "purge"},
    {"dlq", "purge", "--resolved", "--older-than", "soon"},
    {"dlq", "list", "--tenant"},
    {"status", "extra"},
    {"status", "--bogus"},
    {"migrate", "now"},
    {"checkpoint"},
    {"checkpoint", "frob"},
    {"checkpoint", "reset", "acme"},
    {"checkpoint", "reset", "acme", "widgets"},
    {"checkpoint", "reset", "acme", "users", "--to", "yesterday"},
    {"checkpoint", "reset", "nobody", "users"},
    {"reconcile"},
    {"reconcile", "frob"},
    {"reconcile", "allow", "acme"},
    {"reconcile", "allow", "acme", "widgets"},
};

START_TEST(test_usage_errors_exit_2)
{
    struct store *s = open_store();
    store_close(s);
    for (size_t i = 0; i < ARRAY_SIZE(usage_cmds); i++) {
        struct clirun r = run_argv(usage_cmds[i]);
        ck_assert_msg(r.code == 2, "%s %s: exit %d, stderr %s", usage_cmds[i][0],
                      usage_cmds[i][1] ? usage_cmds[i][1] : "", r.code, r.err);
        ck_assert_ptr_nonnull(strstr(r.err, "usage:"));
        ck_assert_str_eq(r.out, "");
        clirun_free(&r);
    }
}
END_TEST

START_TEST(test_missing_db_exits_1_without_creating)
{
    static const char *const cmds[][5] = {{"status"},
                                          {"dlq", "list"},
                                          {"dlq", "show", "1"},
                                          {"dlq", "retry", "1"},
                                          {"checkpoint", "show"},
                                          {"checkpoint", "reset", "acme", "users"}};
    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
        struct clirun r = run_argv(cmds[i]);
        ck_assert_int_eq(r.code, 1);
        ck_assert_ptr_nonnull(strstr(r.err, "no state database at"));
        ck_assert_ptr_nonnull(strstr(r.err, db_path));
        ck_assert_ptr_nonnull(strstr(r.err, "vomo-sync migrate"));
        clirun_free(&r);
        ck_assert_int_eq(access(db_path, F_OK), -1);
    }
}
END_TEST

START_TEST(test_migrate)
{
    char want[256];
    struct clirun r = RUN_EXPECT(0, "migrate");
    snprintf(want, sizeof(want), "state database %s: schema version 0 -> %d\n", db_path,
             migrations_count);
    ck_assert_str_eq(r.out, want);
    clirun_free(&r);
    r = RUN_EXPECT(0, "migrate");
    snprintf(want, sizeof(want), "state database %s: already at version %d\n", db_path,
             migrations_count);
    ck_assert_str_eq(r.out, want);
    clirun_free(&r);
    ck_assert_int_eq(q_int("PRAGMA application_id"), STORE_APPLICATION_ID);

    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", migrations_count + 1);
    exec_raw(sql);
    r = RUN_EXPECT(1, "migrate");
    ck_assert_ptr_nonnull(strstr(r.err, "upgrade vomo-sync"));
    clirun_free(&r);
    ck_assert_int_eq(q_int("PRAGMA user_version"), migrations_count + 1);
    r = RUN_EXPECT(1, "status"); /* read commands refuse a newer schema too */
    ck_assert_ptr_nonnull(strstr(r.err, "upgrade vomo-sync"));
    clirun_free(&r);

    char bad[192];
    snprintf(bad, sizeof(bad), "%s/no-such-dir/state.db", dir);
    r = RUN_EXPECT(1, "migrate", "--db", bad);
    ck_assert_ptr_nonnull(strstr(r.err, bad));
    clirun_free(&r);
}
END_TEST

static const cJSON *find_resource(const cJSON *arr, const char *tenant, const char *resource)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, arr)
    {
        if (strcmp(cJSON_GetObjectItem(row, "tenant")->valuestring, tenant) == 0 &&
            strcmp(cJSON_GetObjectItem(row, "resource")->valuestring, resource) == 0)
            return row;
    }
    return NULL;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", key);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    ck_assert_msg(cJSON_IsString(v), "%s is not a string", key);
    return v->valuestring;
}

static void seed_status(void)
{
    struct store *s = open_store();
    ck_assert_int_eq(store_checkpoint_set(s, "acme", "users", "2026-03-01T10:00:00.000Z",
                                          "2026-03-01T10:05:00.000Z", "complete", 0),
                     0);
    struct scan_summary sum = {.tenant = "acme",
                               .resource = "users",
                               .trace_id = "t1",
                               .kind = "incremental",
                               .status = "complete",
                               .pages = 1,
                               .records = 42};
    snprintf(sum.started_at, TS_LEN, "2026-03-01T10:04:00.000Z");
    snprintf(sum.finished_at, TS_LEN, "2026-03-01T10:05:00.000Z");
    ck_assert_int_eq(store_scan_insert(s, &sum), 0);
    ck_assert_int_eq(store_record_put(s, "acme", "users", "1", "2026-03-01T00:00:00.000Z", "{}",
                                      "h", "2026-03-01T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_record_put(s, "acme", "users", "2", "2026-03-01T00:00:00.000Z", "{}",
                                      "h", "2026-03-01T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_record_mark_deleted(s, "acme", "users", "2", "2026-03-02T00:00:00.000Z"),
                     0);
    add_dlq(s, "acme", "users", "7", "pending", "transient");
    add_dlq(s, "acme", "users", "8", "manual_review", "validation");
    ck_assert_int_eq(store_tenant_state_set(s, "acme", "auth_failed", "HTTP 401 from VOMO",
                                            "2026-03-01T10:06:00.000Z"),
                     0);
    ck_assert_int_eq(
        store_breaker_set(s, "vomo", "open", 5, "HTTP 503", "2026-03-01T10:07:00.000Z"), 0);
    store_close(s);
}

START_TEST(test_status_text_and_json)
{
    seed_status();
    struct clirun r = RUN_EXPECT(0, "status");
    ck_assert_ptr_nonnull(strstr(r.out, "checkpoint"));
    ck_assert_ptr_nonnull(strstr(r.out, "dlq_manual_review"));
    ck_assert_ptr_nonnull(strstr(r.out, "2026-03-01T10:00:00.000Z"));
    ck_assert_ptr_nonnull(strstr(r.out, "auth_failed"));
    ck_assert_ptr_nonnull(strstr(r.out, "HTTP 401 from VOMO"));
    ck_assert_ptr_nonnull(strstr(r.out, "vomo "));
    ck_assert_ptr_nonnull(strstr(r.out, "last_complete_scan_at"));
    ck_assert_ptr_nonnull(strstr(r.out, "MiB free on its file system"));
    clirun_free(&r);

    r = RUN_EXPECT(0, "status", "--json");
    cJSON *o = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(str(o, "database"), db_path);
    const cJSON *res = cJSON_GetObjectItem(o, "resources");
    ck_assert_int_eq(cJSON_GetArraySize(res), 2);
    const cJSON *u = find_resource(res, "acme", "users");
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(str(u, "checkpoint"), "2026-03-01T10:00:00.000Z");
    ck_assert_str_eq(str(u, "last_scan_at"), "2026-03-01T10:05:00.000Z");
    ck_assert_str_eq(str(u, "last_scan_status"), "complete");
    ck_assert_str_eq(str(u, "last_complete_scan_at"), "2026-03-01T10:05:00.000Z");
    ck_assert_int_eq((int)num(u, "last_scan_records"), 42);
    const cJSON *storage = cJSON_GetObjectItem(o, "storage");
    ck_assert(num(storage, "size_bytes") > 0);
    ck_assert(num(storage, "disk_free_bytes") > 0);
    ck_assert(cJSON_IsBool(cJSON_GetObjectItem(storage, "disk_low")));
    ck_assert_int_eq((int)num(u, "live"), 1);
    ck_assert_int_eq((int)num(u, "deleted"), 1);
    ck_assert_int_eq((int)num(u, "dlq_pending"), 1);
    ck_assert_int_eq((int)num(u, "dlq_manual_review"), 1);
    const cJSON *g = find_resource(res, "acme", "groups"); /* configured, never scanned */
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(str(g, "checkpoint"), "1970-01-01T00:00:00.000Z");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(g, "last_scan_at")));
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "tenants"), 0);
    ck_assert_str_eq(str(t, "status"), "auth_failed");
    const cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "breakers"), 0);
    ck_assert_str_eq(str(b, "name"), "vomo");
    ck_assert_str_eq(str(b, "state"), "open");
    ck_assert_int_eq((int)num(b, "failures"), 5);
    cJSON_Delete(o);
    clirun_free(&r);

    /* --db needs no configuration at all */
    snprintf(cfg_path, sizeof(cfg_path), "%s/missing.ini", dir);
    r = RUN_EXPECT(0, "status", "--db", db_path, "--json");
    o = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "resources")), 1);
    cJSON_Delete(o);
    clirun_free(&r);
    r = RUN_EXPECT(2, "status");
    ck_assert_ptr_nonnull(strstr(r.err, "missing.ini"));
    clirun_free(&r);
}
END_TEST

/* The ids in the first column of a table (after the header), as "1,2,". */
static void table_ids(const char *out, char *ids, size_t size)
{
    ids[0] = '\0';
    const char *line = strchr(out, '\n');
    while (line && line[1]) {
        line++;
        size_t len = strlen(ids);
        snprintf(ids + len, size - len, "%lld,", strtoll(line, NULL, 10));
        line = strchr(line, '\n');
    }
}

START_TEST(test_dlq_list)
{
    char ids[64];
    struct store *s = open_store();
    int64_t a = add_dlq(s, "acme", "users", "7", "pending", "transient");
    int64_t b = add_dlq(s, "acme", "groups", "8", "manual_review", "validation");
    int64_t c = add_dlq(s, "beta", "users", "9", "manual_review", "validation");
    ck_assert_int_eq(store_dlq_close(s, c, "resolved", "manual", NULL, "x",
                                     "2026-01-03T00:00:00"
                                     ".000Z"),
                     0);
    store_close(s);
    ck_assert_int_eq(a, 1);
    ck_assert_int_eq(b, 2);

    struct clirun r = RUN_EXPECT(0, "dlq", "list");
    ck_assert_ptr_eq(strstr(r.out, "id  tenant  resource  record_id  status         error_class  "
                                   "attempts  next_attempt_at\n"),
                     r.out);
    table_ids(r.out, ids, sizeof(ids));
    ck_assert_str_eq(ids, "1,2,");
    ck_assert_ptr_nonnull(strstr(r.out, "2030-01-01T00:00:00.000Z"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "dlq", "list", "--status", "all");
    table_ids(r.out, ids, sizeof(ids));
    ck_assert_str_eq(ids, "1,2,3,");
    clirun_free(&r);
    r = RUN_EXPECT(0, "dlq", "list", "--status", "resolved");
    table_ids(r.out, ids, sizeof(ids));
    ck_assert_str_eq(ids, "3,");
    clirun_free(&r);
    r = RUN_EXPECT(0, "dlq", "list", "--tenant", "acme", "--resource", "groups");
    table_ids(r.out, ids, sizeof(ids));
    ck_assert_str_eq(ids, "2,");
    clirun_free(&r);
    r = RUN_EXPECT(0, "dlq", "list", "--status", "all", "--error-class", "validation", "--limit",
                   "1");
    table_ids(r.out, ids, sizeof(ids));
    ck_assert_str_eq(ids, "2,");
    clirun_free(&r);
    r = RUN_EXPECT(0, "dlq", "list", "--tenant", "nobody");
    ck_assert_ptr_nonnull(strstr(r.out, "no dead letters"));
    clirun_free(&r);

    r = RUN_EXPECT(0, "dlq", "list", "--json", "--status", "manual_review");
    cJSON *arr = cJSON_Parse(r.out);
    ck_assert(cJSON_IsArray(arr));
    ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
    const cJSON *row = cJSON_GetArrayItem(arr, 0);
    ck_assert_int_eq((int)num(row, "id"), 2);
    ck_assert_str_eq(str(row, "record_id"), "8");
    ck_assert_str_eq(str(row, "error_class"), "validation");
    ck_assert_int_eq((int)num(row, "attempts"), 1);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(row, "next_attempt_at")));
    cJSON_Delete(arr);
    clirun_free(&r);
}
END_TEST

START_TEST(test_dlq_show_with_history)
{
    char actor[64];
    my_actor(actor);
    struct store *s = open_store();
    int64_t id = add_dlq(s, "acme", "users", "8205", "manual_review", "validation");
    store_close(s);
    struct clirun r = RUN_EXPECT(0, "dlq", "retry", "1");
    clirun_free(&r);
    ck_assert_int_eq(id, 1);

    r = RUN_EXPECT(0, "dlq", "show", "1");
    ck_assert_ptr_nonnull(strstr(r.out, "record_id          8205"));
    ck_assert_ptr_nonnull(strstr(r.out, "HTTP 422: email is invalid"));
    ck_assert_ptr_nonnull(strstr(r.out, "\"email\":"));
    ck_assert_ptr_nonnull(strstr(r.out, "history:"));
    ck_assert_ptr_nonnull(strstr(r.out, "escalated"));
    ck_assert_ptr_nonnull(strstr(r.out, "manual_review -> pending"));
    clirun_free(&r);

    r = RUN_EXPECT(0, "dlq", "show", "1", "--json");
    cJSON *o = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(str(o, "status"), "pending");
    ck_assert_int_eq((int)num(o, "http_status"), 422);
    ck_assert_int_eq((int)num(cJSON_GetObjectItem(o, "payload"), "id"), 8205);
    const cJSON *h = cJSON_GetObjectItem(o, "history");
    ck_assert_int_eq(cJSON_GetArraySize(h), 2);
    ck_assert_str_eq(str(cJSON_GetArrayItem(h, 0), "action"), "escalated");
    ck_assert_str_eq(str(cJSON_GetArrayItem(h, 0), "actor"), "daemon");
    ck_assert_str_eq(str(cJSON_GetArrayItem(h, 1), "action"), "retry");
    ck_assert_str_eq(str(cJSON_GetArrayItem(h, 1), "actor"), actor);
    cJSON_Delete(o);
    clirun_free(&r);

    r = RUN_EXPECT(1, "dlq", "show", "99");
    ck_assert_ptr_nonnull(strstr(r.err, "no dlq row with id 99"));
    clirun_free(&r);
}
END_TEST

START_TEST(test_dlq_retry_resolve_discard)
{
    char actor[64], before[TS_LEN];
    my_actor(actor);
    struct store *s = open_store();
    add_dlq(s, "acme", "users", "1", "manual_review", "validation"); /* id 1 */
    add_dlq(s, "acme", "users", "2", "pending", "transient");        /* id 2 */
    add_dlq(s, "acme", "users", "3", "manual_review", "validation"); /* id 3 */
    add_dlq(s, "beta", "users", "4", "manual_review", "validation"); /* id 4 */
    store_close(s);
    ts_format(clock_wall_ms() - 1000, before);

    struct clirun r = RUN_EXPECT(0, "dlq", "retry", "1");
    ck_assert_str_eq(r.out, "dlq 1: manual_review -> pending, due now\n");
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq WHERE id = 1 AND status = 'pending' AND "
                           "attempts = 1 AND next_attempt_at >= '%s' AND "
                           "next_attempt_at <= strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now')",
                           before),
                     1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq_events WHERE dlq_id = 1 AND action = "
                           "'retry' AND actor = '%q'",
                           actor),
                     1);

    r = RUN_EXPECT(0, "dlq", "resolve", "1", "--note", "fixed the email by hand");
    ck_assert_str_eq(r.out, "dlq 1: pending -> resolved\n");
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq WHERE id = 1 AND status = 'resolved' AND "
                           "resolution = 'manual' AND note = 'fixed the email by hand' AND "
                           "next_attempt_at IS NULL"),
                     1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq_events WHERE dlq_id = 1 AND action = "
                           "'resolved' AND actor = '%q' AND note = 'fixed the email by hand'",
                           actor),
                     1);
    r = RUN_EXPECT(1, "dlq", "resolve", "1");
    ck_assert_ptr_nonnull(strstr(r.err, "already resolved"));
    clirun_free(&r);
    r = RUN_EXPECT(1, "dlq", "retry", "1");
    ck_assert_ptr_nonnull(strstr(r.err, "cannot be retried"));
    clirun_free(&r);
    r = RUN_EXPECT(1, "dlq", "discard", "77");
    clirun_free(&r);

    r = RUN_EXPECT(0, "dlq", "discard", "3", "--note", "test account");
    ck_assert_str_eq(r.out, "dlq 3: manual_review -> discarded\n");
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq WHERE id = 3 AND status = 'discarded' AND "
                           "resolution = 'discarded'"),
                     1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq_events WHERE dlq_id = 3 AND action = "
                           "'discarded' AND actor = '%q'",
                           actor),
                     1);
    r = RUN_EXPECT(1, "dlq", "retry", "3");
    ck_assert_ptr_nonnull(strstr(r.err, "--force"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "dlq", "retry", "3", "--force");
    ck_assert_str_eq(r.out, "dlq 3: discarded -> pending, due now\n");
    clirun_free(&r);

    /* --all, narrowed: only acme's manual_review rows (none left) vs every open acme row */
    r = RUN_EXPECT(0, "dlq", "retry", "--all", "--tenant", "acme", "--status", "manual_review");
    ck_assert_str_eq(r.out, "0 dead letters requeued\n");
    clirun_free(&r);
    r = RUN_EXPECT(0, "dlq", "retry", "--all", "--status", "manual_review");
    ck_assert_str_eq(r.out, "dlq 4: manual_review -> pending, due now\n1 dead letter requeued\n");
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq WHERE status = 'pending'"), 3);
}
END_TEST

/*
 * Purge deletes old resolved rows only: not the open ones, not the recent
 * ones, not a discarded row, and not a version resolved by hand while no
 * newer version of its record is known (scans read those two kinds).
 */
START_TEST(test_dlq_purge)
{
    struct store *s = open_store();
    const char *const ids[] = {"a", "b", "c", "d", "e", "f"};
    for (int i = 0; i < 6; i++)
        add_dlq(s, "acme", "users", ids[i], "manual_review", "validation");
    const char *old = "2020-01-01T00:00:00.000Z";
    ck_assert_int_eq(store_dlq_close(s, 1, "resolved", "manual", NULL, "x", old), 0);
    ck_assert_int_eq(store_dlq_close(s, 2, "discarded", "discarded", NULL, "x", old), 0);
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    ck_assert_int_eq(store_dlq_close(s, 3, "resolved", "delivered", NULL, "daemon", now), 0);
    ck_assert_int_eq(store_dlq_close(s, 5, "resolved", "superseded", NULL, "daemon", old), 0);
    /* f was resolved by hand, and the destination has a newer version since */
    ck_assert_int_eq(store_dlq_close(s, 6, "resolved", "manual", NULL, "x", old), 0);
    ck_assert_int_eq(
        store_record_put(s, "acme", "users", "f", "2026-02-01T00:00:00.000Z", "{}", "h", now), 0);
    store_close(s);
    exec_raw("UPDATE dlq SET updated_at = '2020-01-01T00:00:00.000Z' WHERE id = 4"); /* old, open */

    struct clirun r =
        RUN_EXPECT(0, "dlq", "purge", "--resolved", "--older-than", "30d", "--dry-run");
    ck_assert_ptr_nonnull(strstr(r.out, "would delete 2 resolved dead letters"));
    ck_assert_ptr_nonnull(strstr(r.out, "kept 1 resolved by hand and 1 discarded"));
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq"), 6);
    r = RUN_EXPECT(0, "dlq", "purge", "--resolved", "--older-than", "30d");
    ck_assert_ptr_nonnull(strstr(r.out, "deleted 2 resolved dead letters"));
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT group_concat(id) = '1,2,3,4' FROM (SELECT id FROM dlq ORDER BY "
                           "id)"),
                     1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq_events WHERE dlq_id IN (5, 6)"), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq_events WHERE dlq_id = 3"), 2);
}
END_TEST

START_TEST(test_checkpoint_show_and_reset)
{
    struct store *s = open_store();
    store_close(s);
    struct clirun r = RUN_EXPECT(0, "checkpoint", "show");
    ck_assert_ptr_nonnull(strstr(r.out, "no checkpoints yet"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "checkpoint", "reset", "acme", "users", "--to", "2026-03-01T12:00:00+02:00");
    ck_assert_str_eq(r.out,
                     "checkpoint acme/users: 1970-01-01T00:00:00.000Z -> 2026-03-01T10:00:00.000Z\n"
                     "reset; a running scan will not overwrite it: the next scan of acme/users "
                     "starts from 2026-03-01T10:00:00.000Z\n");
    clirun_free(&r);
    r = RUN_EXPECT(0, "checkpoint", "reset", "acme", "users");
    ck_assert_str_eq(r.out,
                     "checkpoint acme/users: 2026-03-01T10:00:00.000Z -> 1970-01-01T00:00:00.000Z\n"
                     "reset; a running scan will not overwrite it: the next scan of acme/users "
                     "starts from 1970-01-01T00:00:00.000Z\n");
    clirun_free(&r);
    /* every reset is counted: that is what a running scan compares */
    ck_assert_int_eq(q_int("SELECT resets FROM checkpoints WHERE tenant = 'acme' AND resource = "
                           "'users'"),
                     2);
    r = RUN_EXPECT(0, "checkpoint", "reset", "acme", "groups", "--to", "2026-02-01T00:00:00Z");
    clirun_free(&r);
    /* with --db there is no configuration to check the tenant against */
    r = RUN_EXPECT(0, "checkpoint", "reset", "gone", "users", "--db", db_path);
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM checkpoints WHERE tenant = 'acme' AND resource "
                           "= 'groups' AND updated_after = '2026-02-01T00:00:00.000Z'"),
                     1);

    r = RUN_EXPECT(0, "checkpoint", "show");
    ck_assert_ptr_nonnull(strstr(r.out, "updated_after"));
    ck_assert_ptr_nonnull(strstr(r.out, "2026-02-01T00:00:00.000Z"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "checkpoint", "show", "--tenant", "acme", "--json");
    cJSON *arr = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
    ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 0), "resource"), "groups");
    ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 1), "updated_after"), "1970-01-01T00:00:00.000Z");
    cJSON_Delete(arr);
    clirun_free(&r);
}
END_TEST

/*
 * What needs a person is on `status`: records held for more than a day (in
 * hold mode the checkpoint waits for them) and a reconciliation that
 * refused to delete; `reconcile allow` is the answer to the latter.
 */
START_TEST(test_status_needs_a_person_and_reconcile_allow)
{
    struct store *s = open_store();
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    int attempts = 0;
    ck_assert_int_eq(store_hold_fail(s, "acme", "users", "41", "2026-03-01T00:00:00.000Z",
                                     "transient", 503, "HTTP 503", "2020-05-01T00:00:00.000Z",
                                     &attempts),
                     0);
    ck_assert_int_eq(store_hold_fail(s, "acme", "users", "42", "2026-03-01T00:00:00.000Z",
                                     "transient", 503, "HTTP 503", now, &attempts),
                     0);
    ck_assert_int_eq(store_reconcile_block_set(s, "acme", "groups", 150, 1000, 100, "t9",
                                               "2026-03-02T00:00:00.000Z"),
                     0);
    store_close(s);
    struct clirun r = RUN_EXPECT(0, "status");
    ck_assert_ptr_nonnull(strstr(r.out, "needs a person:"));
    ck_assert_ptr_nonnull(strstr(r.out, "acme/users: 1 record(s) held for more than a day "
                                        "(failing since 2020-05-01T00:00:00.000Z)"));
    ck_assert_ptr_nonnull(strstr(r.out, "acme/groups: reconciliation at 2026-03-02T00:00:00.000Z "
                                        "found 150 of 1000 records missing"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "status", "--json");
    cJSON *o = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(o);
    const cJSON *res = cJSON_GetObjectItem(o, "resources");
    const cJSON *u = find_resource(res, "acme", "users");
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq((int)num(u, "holds"), 2);
    ck_assert_int_eq((int)num(u, "holds_over_1d"), 1);
    ck_assert_str_eq(str(u, "oldest_hold_at"), "2020-05-01T00:00:00.000Z");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(u, "reconcile_refused")));
    const cJSON *g = find_resource(res, "acme", "groups");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq((int)num(g, "reconcile_refused"), 150);
    ck_assert_int_eq((int)num(g, "reconcile_refused_held"), 1000);
    ck_assert_int_eq((int)num(g, "holds"), 0);
    cJSON_Delete(o);
    clirun_free(&r);

    r = RUN_EXPECT(1, "reconcile", "allow", "acme", "users");
    ck_assert_ptr_nonnull(strstr(r.err, "no reconciliation of acme/users is waiting"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "reconcile", "allow", "acme", "groups");
    ck_assert_ptr_nonnull(strstr(r.out, "acme/groups"));
    clirun_free(&r);
    char actor[64];
    my_actor(actor);
    ck_assert_int_eq(q_int("SELECT count(*) FROM reconcile_blocks WHERE allowed_by = %Q AND "
                           "allowed_at IS NOT NULL",
                           actor),
                     1);
    /* Nothing left for a person about holds once they are younger. */
    exec_raw("UPDATE holds SET first_failed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
    r = RUN_EXPECT(0, "status");
    ck_assert_ptr_null(strstr(r.out, "held for more than a day"));
    clirun_free(&r);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_help_everywhere);
    tcase_add_test(tc, test_usage_errors_exit_2);
    tcase_add_test(tc, test_missing_db_exits_1_without_creating);
    tcase_add_test(tc, test_migrate);
    tcase_add_test(tc, test_status_text_and_json);
    tcase_add_test(tc, test_dlq_list);
    tcase_add_test(tc, test_dlq_show_with_history);
    tcase_add_test(tc, test_dlq_retry_resolve_discard);
    tcase_add_test(tc, test_dlq_purge);
    tcase_add_test(tc, test_checkpoint_show_and_reset);
    tcase_add_test(tc, test_status_needs_a_person_and_reconcile_allow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
