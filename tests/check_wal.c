/*
 * check_wal.c - the state database as a Litestream citizen: the pure
 * decision of the WAL guard; with Litestream on, no checkpoint below the
 * bound (the -wal file grows past SQLite's automatic 1000-page checkpoint)
 * and a TRUNCATE past it (the -wal file measured at 0 bytes); `auto`
 * noticing Litestream's traces; a database Litestream reached first still
 * taken as a fresh one; and the running daemon holding no read transaction
 * between scans, so Litestream's own checkpoints can finish.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "util.h"
#include "walguard.h"

#define KIB 1024
#define MIB (1024 * 1024)

/* ---- the decision ---- */

START_TEST(decide_follows_mode_detection_and_bound)
{
    struct walguard_step st = walguard_decide(LITESTREAM_OFF, true, 100 * MIB, 64 * MIB);
    ck_assert(!st.on && !st.truncate);
    st = walguard_decide(LITESTREAM_ON, false, 64 * MIB, 64 * MIB);
    ck_assert(st.on && !st.truncate); /* at the bound: not yet */
    st = walguard_decide(LITESTREAM_ON, false, 64 * MIB + 1, 64 * MIB);
    ck_assert(st.on && st.truncate);
    st = walguard_decide(LITESTREAM_AUTO, false, 100 * MIB, 64 * MIB);
    ck_assert(!st.on && !st.truncate); /* SQLite checkpoints by itself then */
    st = walguard_decide(LITESTREAM_AUTO, true, 1 * MIB, 64 * MIB);
    ck_assert(st.on && !st.truncate);
}
END_TEST

/* ---- the store ---- */

static char dir[64];
static char db_path[128];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/vomo-wal-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db_path, sizeof(db_path), "%s/state.db", dir);
}

static void teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int r = sqlite3_exec(db, sql, NULL, NULL, &err);
    ck_assert_msg(r == SQLITE_OK, "%s: %s", sql, err ? err : "?");
}

/* Commits n transactions of `bytes` random bytes each into table junk. */
static void write_junk(sqlite3 *db, int n, int bytes)
{
    exec_sql(db, "CREATE TABLE IF NOT EXISTS junk (b BLOB)");
    sqlite3_stmt *st;
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "INSERT INTO junk VALUES (randomblob(?1))", -1, &st, NULL),
        SQLITE_OK);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(sqlite3_bind_int(st, 1, bytes), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* How large the WAL grows over 6 MiB of commits of 96 KiB each. */
static int64_t wal_after_6mib(bool litestream, struct store **out)
{
    struct store *s;
    ck_assert_int_eq(store_open(db_path, &s), 0);
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    ck_assert_int_eq(store_set_litestream(s, litestream), 0);
    ck_assert_int_eq(pragma_int(store_db(s), "PRAGMA wal_autocheckpoint"), litestream ? 0 : 1000);
    ck_assert_int_eq(pragma_int(store_db(s), "PRAGMA synchronous"), 2); /* FULL */
    write_junk(store_db(s), 64, 96 * KIB);
    *out = s;
    return store_wal_size(s);
}

/* The measure can fail: without Litestream, SQLite checkpoints at 1000
 * pages and the WAL restarts from its start, staying near 4 MiB. */
START_TEST(without_litestream_sqlite_checkpoints_at_1000_pages)
{
    struct store *s;
    int64_t wal = wal_after_6mib(false, &s);
    printf("check_wal: litestream off: WAL %lld bytes after 6 MiB of commits\n", (long long)wal);
    ck_assert_int_lt(wal, 4 * MIB + 512 * KIB);
    store_close(s);
}
END_TEST

START_TEST(litestream_on_no_checkpoint_below_the_bound_truncate_past_it)
{
    struct store *s;
    int64_t wal = wal_after_6mib(true, &s);
    printf("check_wal: litestream on: WAL %lld bytes after 6 MiB of commits\n", (long long)wal);
    ck_assert_int_gt(wal, 6 * MIB);
    bool done = false;
    ck_assert_int_eq(store_wal_truncate(s, WALGUARD_BUSY_MS, &done), 0);
    ck_assert(done);
    ck_assert_int_eq(store_wal_size(s), 0);
    /* A reader holding a snapshot (what Litestream does) makes it wait, not fail. */
    write_junk(store_db(s), 4, 96 * KIB);
    sqlite3 *reader;
    ck_assert_int_eq(sqlite3_open(db_path, &reader), SQLITE_OK);
    exec_sql(reader, "BEGIN");
    ck_assert_int_eq(pragma_int(reader, "SELECT count(*) FROM junk"), 68);
    ck_assert_int_eq(store_wal_truncate(s, 50, &done), 0);
    ck_assert(!done);
    ck_assert_int_gt(store_wal_size(s), 0);
    exec_sql(reader, "COMMIT");
    sqlite3_close(reader);
    store_close(s);
    /* Closing did not checkpoint and remove the WAL Litestream still reads. */
    struct stat sb;
    char *walpath = xasprintf("%s-wal", db_path);
    ck_assert_int_eq(stat(walpath, &sb), 0);
    ck_assert_int_gt(sb.st_size, 0);
    free(walpath);
}
END_TEST

/* Litestream may create its tables in a new file before the daemon claims
 * it; the file is still taken as fresh, and auto detection sees them. */
START_TEST(litestream_tables_first_still_a_fresh_database)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    exec_sql(db, "PRAGMA journal_mode = WAL");
    exec_sql(db, "CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)");
    exec_sql(db, "CREATE TABLE _litestream_lock (id INTEGER)");
    sqlite3_close(db);
    struct store *s;
    ck_assert_int_eq(store_open(db_path, &s), 0);
    int from = -1, to = -1;
    ck_assert_int_eq(store_migrate(s, &from, &to), 0);
    ck_assert_int_eq(from, 0);
    ck_assert_int_gt(to, 0);
    bool found = false;
    ck_assert_int_eq(store_litestream_detected(s, &found), 0);
    ck_assert(found);
    store_close(s);
}
END_TEST

START_TEST(detection_by_the_litestream_folder)
{
    struct store *s;
    ck_assert_int_eq(store_open(db_path, &s), 0);
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    bool found = true;
    ck_assert_int_eq(store_litestream_detected(s, &found), 0);
    ck_assert(!found);
    char *meta = xasprintf("%s/.state.db-litestream", dir);
    ck_assert_int_eq(mkdir(meta, 0700), 0);
    ck_assert_int_eq(store_litestream_detected(s, &found), 0);
    ck_assert(found);
    free(meta);
    store_close(s);
}
END_TEST

/* ---- the running daemon ---- */

struct wal_wait {
    struct tu_engine *te;
    int64_t at_most;
};

static bool wal_at_most(void *arg)
{
    struct wal_wait *w = arg;
    return store_wal_size(w->te->store) <= w->at_most;
}

static bool backfilled(void *arg)
{
    return tu_scans_at_least(((struct tu_engine *)arg)->e, 1);
}

static bool guard_on(void *arg)
{
    return ((struct tu_engine *)arg)->e->wal.on;
}

START_TEST(daemon_leaves_checkpoints_to_litestream_up_to_the_bound)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 300, 20, 10);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    /* One backfill, then no scan for an hour: only the test writes. */
    tu_config(&env,
              "daemon.litestream = on\ndaemon.litestream_wal_max = 1MiB\n"
              "poll.interval = 1h\npoll.reconcile_interval = 1h\n",
              ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, backfilled, &te, 10000));
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    ck_assert(te.e->wal.on);
    ck_assert_int_eq(pragma_int(store_db(te.store), "PRAGMA wal_autocheckpoint"), 0);
    ck_assert_int_eq(pragma_int(store_db(te.store), "PRAGMA synchronous"), 2);

    /* Between scans the daemon holds no read transaction: another
     * connection's TRUNCATE checkpoint (Litestream's) finishes. */
    sqlite3 *other;
    ck_assert_int_eq(sqlite3_open(env.db_path, &other), SQLITE_OK);
    sqlite3_busy_timeout(other, 2000);
    exec_sql(other, "PRAGMA wal_autocheckpoint = 0");
    ck_assert_int_eq(pragma_int(other, "PRAGMA wal_checkpoint(TRUNCATE)"), 0); /* not busy */
    ck_assert_int_eq(store_wal_size(te.store), 0);

    /* Below the bound the WAL only grows: three ticks later it is all there. */
    int64_t truncations = te.e->wal.truncations; /* the backfill may have passed 1 MiB */
    write_junk(other, 8, 96 * KIB);
    int64_t below = store_wal_size(te.store);
    ck_assert_int_gt(below, 700 * KIB);
    ck_assert_int_lt(below, 1 * MIB);
    tu_run_for(&te, 3 * WALGUARD_INTERVAL_MS);
    ck_assert_int_ge(store_wal_size(te.store), below);
    ck_assert_int_eq(te.e->wal.truncations, truncations);

    /* Past it, the next tick truncates the file to nothing. */
    write_junk(other, 4, 96 * KIB);
    int64_t past = store_wal_size(te.store);
    printf("check_wal: daemon: WAL %lld bytes below the 1 MiB bound kept, %lld past it "
           "truncated\n",
           (long long)below, (long long)past);
    ck_assert_int_gt(past, 1 * MIB);
    struct wal_wait w = {&te, 0};
    ck_assert(tu_run_until(&te, wal_at_most, &w, 3 * WALGUARD_INTERVAL_MS + 1000));
    ck_assert_int_eq(te.e->wal.truncations, truncations + 1);
    ck_assert_int_eq(pragma_int(other, "SELECT count(*) FROM junk"), 12);
    sqlite3_close(other);
    tu_engine_stop(&te);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(daemon_auto_turns_on_when_litestream_appears)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 20, 0, 0);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", "resources = users\n");
    tu_config(&env, "daemon.litestream = auto\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, backfilled, &te, 10000));
    ck_assert(!te.e->wal.on);
    ck_assert_int_eq(pragma_int(store_db(te.store), "PRAGMA wal_autocheckpoint"), 1000);
    char *meta = xasprintf("%s/.state.db-litestream", env.dir);
    ck_assert_int_eq(mkdir(meta, 0700), 0);
    ck_assert(tu_run_until(&te, guard_on, &te, 3 * WALGUARD_INTERVAL_MS));
    ck_assert_int_eq(pragma_int(store_db(te.store), "PRAGMA wal_autocheckpoint"), 0);
    free(meta);
    tu_engine_stop(&te);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *wal_suite(void)
{
    Suite *s = suite_create("wal");
    TCase *tc = tcase_create("guard");
    tcase_add_test(tc, decide_follows_mode_detection_and_bound);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("store");
    tcase_set_timeout(st, 60);
    tcase_add_checked_fixture(st, setup, teardown);
    tcase_add_test(st, without_litestream_sqlite_checkpoints_at_1000_pages);
    tcase_add_test(st, litestream_on_no_checkpoint_below_the_bound_truncate_past_it);
    tcase_add_test(st, litestream_tables_first_still_a_fresh_database);
    tcase_add_test(st, detection_by_the_litestream_folder);
    suite_add_tcase(s, st);
    TCase *d = tcase_create("daemon");
    tcase_set_timeout(d, 60);
    tcase_add_test(d, daemon_leaves_checkpoints_to_litestream_up_to_the_bound);
    tcase_add_test(d, daemon_auto_turns_on_when_litestream_appears);
    suite_add_tcase(s, d);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wal_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
