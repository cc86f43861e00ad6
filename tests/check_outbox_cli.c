/*
 * check_outbox_cli.c - `vomo-sync write` and `vomo-sync outbox`, and failed
 * writes in `vomo-sync dlq`, run as the real binary against a temporary
 * configuration and state database (no daemon): exit codes, messages, and
 * the rows they leave, read back from the database.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store_outbox.h"
#include "clirun.h"
#include "testutil.h"
#include "util.h"

extern char **environ;

static char dir[64], cfg_path[128], db_path[128], out_path[128], err_path[128], in_path[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    store_set_log_errors(0);
    snprintf(dir, sizeof(dir), "/tmp/check_obcli.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cfg_path, sizeof(cfg_path), "%s/vomo-sync.ini", dir);
    snprintf(db_path, sizeof(db_path), "%s/state.db", dir);
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    snprintf(err_path, sizeof(err_path), "%s/err", dir);
    snprintf(in_path, sizeof(in_path), "%s/in", dir);
    write_file(cfg_path, "[daemon]\nstate_db = state.db\n\n[tenant.acme]\ntoken_file = acme.token\n"
                         "resources = users, groups\n");
    write_file(in_path, "");
    struct store *s = NULL;
    ck_assert_int_eq(store_open(db_path, &s), 0);
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    store_close(s);
}

static void teardown(void)
{
    tu_rm_tree(dir);
}

/* Runs `vomo-sync --config CFG ARGS...` (args NULL-terminated) to completion, stdin from in_path.
 */
static struct clirun run_argv(const char *const *args)
{
    return clirun_argv(cfg_path, in_path, out_path, err_path, args);
}

#define RUN(...) run_argv((const char *const[]){__VA_ARGS__, NULL})
#define RUN_EXPECT(code_, ...)                                                                     \
    ({                                                                                             \
        struct clirun r_ = RUN(__VA_ARGS__);                                                       \
        ck_assert_msg(r_.code == (code_), "exit %d, want %d; stdout: %s; stderr: %s", r_.code,     \
                      (code_), r_.out, r_.err);                                                    \
        r_;                                                                                        \
    })

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
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    sqlite3_free(sql);
    return v;
}

static char *q_text(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    sqlite3 *db = raw();
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    char *v = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    sqlite3_free(sql);
    return v ? v : xstrdup("");
}

START_TEST(test_write_queues_a_pending_row)
{
    struct clirun r = RUN_EXPECT(0, "write", "acme", "groups", "create", "--data",
                                 "{\"name\":\"Choir\",\"description\":\"Sings\"}");
    ck_assert_str_eq(r.out, "1\n");
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox WHERE state = 'pending' AND tenant = "
                           "'acme' AND resource = 'groups' AND op = 'create' AND attempts = 0 "
                           "AND payload LIKE '%%Choir%%' AND record_key = ''"),
                     1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox_events WHERE outbox_id = 1 AND "
                           "action = 'created'"),
                     1);

    /* @FILE and stdin; --json prints the row */
    char file[160];
    snprintf(file, sizeof(file), "%s/user.json", dir);
    write_file(file, "{\"email\":\"ann@example.org\",\"first_name\":\"Ann\"}\n");
    char at[170];
    snprintf(at, sizeof(at), "@%s", file);
    r = RUN_EXPECT(0, "write", "acme", "users", "upsert", "--data", at, "--json");
    cJSON *o = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq((int)cJSON_GetObjectItem(o, "id")->valuedouble, 2);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "state")->valuestring, "pending");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "record_key")->valuestring, "users:ann@example.org");
    cJSON_Delete(o);
    clirun_free(&r);
    write_file(in_path, "{\"members\":[1,2,3]}");
    r = RUN_EXPECT(0, "write", "acme", "groups", "set_members", "--id", "12", "--data", "-");
    ck_assert_str_eq(r.out, "3\n");
    clirun_free(&r);
    char *t = q_text("SELECT target_id || ' ' || payload FROM outbox WHERE id = 3");
    ck_assert_str_eq(t, "12 {\"members\":[1,2,3]}");
    free(t);
    r = RUN_EXPECT(0, "write", "acme", "groups", "delete", "--id", "12");
    clirun_free(&r);

    /* the same --key again: the existing row, nothing added */
    r = RUN_EXPECT(0, "write", "acme", "groups", "create", "--key", "crm-77", "--data",
                   "{\"name\":\"Band\"}");
    ck_assert_str_eq(r.out, "5\n");
    clirun_free(&r);
    r = RUN_EXPECT(0, "write", "acme", "groups", "create", "--key", "crm-77", "--data",
                   "{\"name\":\"Band\"}");
    ck_assert_str_eq(r.out, "5\n");
    ck_assert_ptr_nonnull(strstr(r.err, "already queued"));
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox"), 5);
}
END_TEST

START_TEST(test_write_bad_input_exits_2)
{
    static const char *const cases[][8] = {
        {"write", "acme", "groups", "create", "--data", "{\"name\":", NULL},
        {"write", "acme", "groups", "create", "--data", "{\"description\":\"x\"}", NULL},
        {"write", "acme", "users", "upsert", "--data", "{\"first_name\":\"Ann\"}", NULL},
        {"write", "acme", "groups", "update", "--data", "{\"name\":\"x\"}", NULL},
        {"write", "acme", "groups", "launch", "--data", "{}", NULL},
        {"write", "acme", "campaigns", "create", "--data", "{\"name\":\"x\"}", NULL},
        {"write", "nobody", "groups", "create", "--data", "{\"name\":\"x\"}", NULL},
        {"write", "acme", "groups", NULL},
        {"write", "acme", "groups", "create", "--data", "@/nonexistent/file.json", NULL},
        {"write", "acme", "groups", "create", "--frob", NULL},
    };
    static const char *const says[] = {
        "not valid JSON", "\"name\"",           "\"email\"",          "--id",        "cannot write",
        "cannot write",   "no tenant 'nobody'", "TENANT RESOURCE OP", "cannot read", "bad option"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct clirun r = run_argv(cases[i]);
        ck_assert_msg(r.code == 2, "case %zu: exit %d (%s)", i, r.code, r.err);
        ck_assert_msg(strstr(r.err, says[i]), "case %zu: stderr %s", i, r.err);
        clirun_free(&r);
    }
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox"), 0);
}
END_TEST

static void escalate(int64_t id, const char *cls, int status, const char *msg)
{
    struct store *s = NULL;
    ck_assert_int_eq(store_open(db_path, &s), 0);
    struct outbox_failure f = {.state = "manual_review",
                               .attempts = 1,
                               .error_class = cls,
                               .http_status = status,
                               .message = msg,
                               .action = "escalated",
                               .now = "2026-03-01T10:00:00.000Z"};
    ck_assert_int_eq(store_outbox_begin_send(s, id, "pending", "2026-03-01T09:59:00.000Z"), 0);
    ck_assert_int_eq(store_outbox_failed(s, id, &f), 0);
    store_close(s);
}

/* A failed write is in the one manual-review queue, and the dlq commands
 * act on the write behind it. */
START_TEST(test_failed_write_in_dlq)
{
    struct clirun r = RUN_EXPECT(0, "write", "acme", "users", "upsert", "--data",
                                 "{\"email\":\"ann@example.org\"}");
    clirun_free(&r);
    r = RUN_EXPECT(0, "write", "acme", "groups", "create", "--data", "{\"name\":\"X\"}");
    clirun_free(&r);
    escalate(1, "validation", 422,
             "HTTP 422: {\"errors\":{\"email\":[\"The email has already been taken.\"]}}");
    escalate(2, "validation", 422, "HTTP 422: {\"errors\":{\"name\":[\"Too short.\"]}}");
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq WHERE kind = 'write' AND status = "
                           "'manual_review' AND next_attempt_at IS NULL"),
                     2);
    r = RUN_EXPECT(0, "dlq", "list");
    ck_assert_ptr_nonnull(strstr(r.out, "outbox:1"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "dlq", "list", "--json");
    ck_assert_ptr_nonnull(strstr(r.out, "\"kind\":\t\"write\""));
    clirun_free(&r);
    int64_t d1 = q_int("SELECT id FROM dlq WHERE outbox_id = 1");
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)d1);
    r = RUN_EXPECT(0, "dlq", "show", id);
    ck_assert_ptr_nonnull(strstr(r.out, "The email has already been taken."));
    clirun_free(&r);

    /* dlq retry: the write is due again, its dlq row stays off the DLQ schedule */
    r = RUN_EXPECT(0, "dlq", "retry", id);
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox WHERE id = 1 AND state = 'pending' AND "
                           "next_attempt_at IS NOT NULL"),
                     1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dlq WHERE id = %lld AND status = 'pending' "
                           "AND next_attempt_at IS NULL",
                           (long long)d1),
                     1);
    /* dlq discard: the write is cancelled */
    snprintf(id, sizeof(id), "%lld", (long long)q_int("SELECT id FROM dlq WHERE outbox_id = 2"));
    r = RUN_EXPECT(0, "dlq", "discard", id);
    clirun_free(&r);
    char *st = q_text("SELECT state || ' ' || resolution FROM outbox WHERE id = 2");
    ck_assert_str_eq(st, "cancelled discarded");
    free(st);
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox_events WHERE outbox_id = 2 AND "
                           "action = 'cancelled' AND actor <> 'daemon'"),
                     1);
}
END_TEST

START_TEST(test_outbox_commands)
{
    struct clirun r =
        RUN_EXPECT(0, "write", "acme", "groups", "create", "--data", "{\"name\":\"A\"}");
    clirun_free(&r);
    r = RUN_EXPECT(0, "write", "acme", "groups", "create", "--data", "{\"name\":\"B\"}");
    clirun_free(&r);
    r = RUN_EXPECT(0, "outbox", "list");
    ck_assert_ptr_nonnull(strstr(r.out, "pending"));
    ck_assert_ptr_nonnull(strstr(r.out, "create"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "outbox", "list", "--json");
    cJSON *a = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetArraySize(a), 2);
    cJSON_Delete(a);
    clirun_free(&r);
    r = RUN_EXPECT(0, "outbox", "show", "1");
    ck_assert_ptr_nonnull(strstr(r.out, "created"));
    ck_assert_ptr_nonnull(strstr(r.out, "{\"name\":\"A\"}"));
    clirun_free(&r);
    r = RUN_EXPECT(0, "outbox", "cancel", "1", "--note", "not wanted");
    clirun_free(&r);
    r = RUN_EXPECT(1, "outbox", "cancel", "1");
    ck_assert_ptr_nonnull(strstr(r.err, "already cancelled"));
    clirun_free(&r);
    r = RUN_EXPECT(1, "outbox", "retry", "1");
    clirun_free(&r);
    /* a write whose outcome is unknown goes back to unknown, not pending */
    sqlite3 *db = raw();
    ck_assert_int_eq(sqlite3_exec(db,
                                  "UPDATE outbox SET state = 'manual_review', maybe_applied = 1 "
                                  "WHERE id = 2",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    r = RUN_EXPECT(0, "outbox", "retry", "2");
    clirun_free(&r);
    char *st = q_text("SELECT state FROM outbox WHERE id = 2");
    ck_assert_str_eq(st, "unknown");
    free(st);
    r = RUN_EXPECT(0, "outbox", "show", "2", "--json");
    cJSON *o = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "history")), 2);
    cJSON_Delete(o);
    clirun_free(&r);
    r = RUN_EXPECT(1, "outbox", "show", "99");
    clirun_free(&r);
    /* purge: only done/cancelled rows older than the age */
    db = raw();
    ck_assert_int_eq(sqlite3_exec(db,
                                  "UPDATE outbox SET updated_at = '2020-01-01T00:00:00.000Z' "
                                  "WHERE id = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    r = RUN_EXPECT(2, "outbox", "purge");
    clirun_free(&r);
    r = RUN_EXPECT(0, "outbox", "purge", "--done", "--older-than", "30d");
    ck_assert_ptr_nonnull(strstr(r.out, "deleted 1"));
    clirun_free(&r);
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox"), 1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox_events WHERE outbox_id = 1"), 0);
}
END_TEST

/* The README's INSERT example works as written: defaults fill the rest. */
START_TEST(test_program_insert_defaults)
{
    sqlite3 *db = raw();
    ck_assert_int_eq(sqlite3_exec(db,
                                  "INSERT INTO outbox (tenant, resource, op, payload) VALUES "
                                  "('acme', 'groups', 'create', '{\"name\": \"Choir\"}')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(q_int("SELECT count(*) FROM outbox WHERE state = 'pending' AND attempts = 0 "
                           "AND record_key IS NULL AND created_at LIKE '20__-__-__T__:__:__.___Z'"),
                     1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("outbox_cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_write_queues_a_pending_row);
    tcase_add_test(tc, test_write_bad_input_exits_2);
    tcase_add_test(tc, test_failed_write_in_dlq);
    tcase_add_test(tc, test_outbox_commands);
    tcase_add_test(tc, test_program_insert_defaults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
