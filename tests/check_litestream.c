/*
 * check_litestream.c - disaster recovery with the real Litestream binary
 * (the npm package @flydotio/litestream-linux-x64, installed into
 * build/tools by `scripts/setup check`; VOMO_LITESTREAM names another).
 * The real daemon backfills from the in-process fake VOMO with
 * `[daemon] litestream = on` while `litestream replicate` copies state.db to
 * a file replica; some records fail into the DLQ (malformed records, a
 * webhook receiver answering 422).  Then the machine is lost: the daemon
 * and Litestream get SIGKILL and the state directory is deleted.
 * `litestream restore -if-db-not-exists -if-replica-exists` (what the
 * unit's ExecStartPre= runs) brings the database back, and its time is
 * printed; the restarted daemon converges on the fake's dataset, and every
 * dead letter that was replicated is still there, the same row.  Without
 * the binary the suite says so and passes.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

extern char **environ;

#define USERS 8000
#define GROUPS 60
#define PROJECTS 40
#define HOOK_USERS 300
#define BAD_ACME 4
#define BAD_HOOK 3

static const char *litestream_bin(void)
{
    static char path[512];
    const char *env = getenv("VOMO_LITESTREAM");
    if (env && *env)
        snprintf(path, sizeof(path), "%s", env);
    else
        snprintf(path, sizeof(path),
                 "%s/build/tools/node_modules/@flydotio/litestream-linux-x64/litestream",
                 SOURCE_ROOT);
    return access(path, X_OK) == 0 ? path : NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs litestream with argv[1..] (NULL-terminated), output appended to
 * dir/litestream.log; returns its pid. */
static pid_t litestream_spawn(struct tu_env *env, const char *const *args)
{
    char log[400];
    snprintf(log, sizeof(log), "%s/litestream.log", env->dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    const char *argv[16] = {litestream_bin()};
    size_t k = 1;
    for (size_t i = 0; args[i] && k < 15; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static void dump_logs(struct tu_env *env)
{
    char *cmd = xasprintf("tail -n 30 '%s/litestream.log' '%s/daemon.log' >&2", env->dir, env->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "(no logs)\n");
    free(cmd);
}

/* Runs one litestream command to its end (at most timeout_ms); exit status. */
static int litestream_run(struct tu_env *env, const char *const *args, int timeout_ms)
{
    pid_t pid = litestream_spawn(env, args);
    int rc = tu_daemon_wait(pid, timeout_ms);
    if (rc != 0)
        dump_logs(env);
    return rc;
}

struct rig {
    struct tu_env env;
    char yml[400];
    char replica[400];
    const char *bad_acme[BAD_ACME];
    const char *bad_hook[BAD_HOOK];
    struct fake_record *acme_recs, *hook_recs;
    size_t n_acme, n_hook;
};

/* acme: a sqlite tenant with four malformed users spread over the first
 * pages; hook: a webhook tenant whose receiver refuses three users (422).
 * The fake answers every request after 40 ms, so the backfill of 8000
 * users (534 pages, four in flight) lasts about five seconds: the kill,
 * two seconds after the last dead letter appeared, falls in its middle. */
static void rig_setup(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 40;
    tu_env_init(&r->env, &o);
    tu_tenant(&r->env, "acme", USERS, GROUPS, PROJECTS);
    tu_tenant(&r->env, "hook", HOOK_USERS, 0, 0);
    tu_fake_start(&r->env);
    ck_assert_int_eq(fake_records(r->env.fake, "acme", "users", &r->acme_recs, &r->n_acme), 0);
    ck_assert_int_eq(fake_records(r->env.fake, "hook", "users", &r->hook_recs, &r->n_hook), 0);
    const size_t acme_at[BAD_ACME] = {4, 33, 71, 118};
    for (int i = 0; i < BAD_ACME; i++) {
        r->bad_acme[i] = r->acme_recs[acme_at[i]].id;
        ck_assert_int_eq(
            fake_corrupt(r->env.fake, "acme", "users", r->bad_acme[i], FAKE_CORRUPT_BAD_UPDATED_AT),
            0);
    }
    const size_t hook_at[BAD_HOOK] = {2, 40, 77};
    for (int i = 0; i < BAD_HOOK; i++) {
        r->bad_hook[i] = r->hook_recs[hook_at[i]].id;
        char *needle = xasprintf(".%s@example.org", r->bad_hook[i]);
        struct fake_fault f422 = {.path = "/_hooks/hook",
                                  .body_contains = needle,
                                  .kind = FAKE_FAULT_STATUS,
                                  .status = 422};
        ck_assert_int_gt(fake_add_fault(r->env.fake, &f422), 0);
        free(needle); /* the rule holds a copy */
    }
    char *a = tu_tenant_ini("acme", NULL);
    char *h = tu_webhook_tenant_ini(&r->env, "hook", "users", "hook-secret-0123", NULL, NULL);
    char *ini = xasprintf("%s%s", a, h);
    tu_config(&r->env, "daemon.litestream = on\ndaemon.log_level = warn\npoll.interval = 1h\n",
              ini);
    free(a);
    free(h);
    free(ini);
    snprintf(r->replica, sizeof(r->replica), "%s/replica", r->env.dir);
    char *yml = xasprintf("dbs:\n"
                          "  - path: %s\n"
                          "    monitor-interval: 100ms\n"
                          "    replicas:\n"
                          "      - type: file\n"
                          "        path: %s\n"
                          "        sync-interval: 100ms\n",
                          r->env.db_path, r->replica);
    snprintf(r->yml, sizeof(r->yml), "%s", tu_write(&r->env, "litestream.yml", yml));
    free(yml);
}

static void rig_cleanup(struct rig *r)
{
    fake_records_free(r->acme_recs, r->n_acme);
    fake_records_free(r->hook_recs, r->n_hook);
    tu_env_cleanup(&r->env);
}

/* The row of one dead letter, as text: id, created_at, status, class; NULL
 * when there is none. */
static char *dlq_row(struct tu_env *env, const char *tenant, const char *record_id)
{
    return tu_db_text(env,
                      "SELECT id || ' ' || created_at || ' ' || status || ' ' || error_class "
                      "FROM dlq WHERE tenant = ?1 AND resource = 'users' AND record_id = ?2",
                      tenant, record_id, NULL);
}

/* The dead letter of record_id is the row `before` described (the same id
 * and created_at; its status and attempts may have moved on). */
static void assert_same_dead_letter(struct tu_env *env, const char *tenant, const char *record_id,
                                    const char *before)
{
    char *row = dlq_row(env, tenant, record_id);
    ck_assert_msg(row != NULL, "%s %s: dead letter lost", tenant, record_id);
    const char *sp = strchr(before, ' ');
    ck_assert_ptr_nonnull(sp);
    size_t n = (size_t)(strchr(sp + 1, ' ') - before);
    ck_assert_msg(strncmp(row, before, n) == 0 && row[n] == ' ', "%s %s: %s, was %s", tenant,
                  record_id, row, before);
    free(row);
}

/* Bumps n records of (tenant, users) that are not refused or malformed. */
static void mutate_good(struct tu_env *env, const char *tenant, const struct fake_record *recs,
                        size_t nrecs, const char *const *bad, int nbad, int n)
{
    for (size_t i = 1; i < nrecs && n > 0; i += 7) {
        bool is_bad = false;
        for (int b = 0; b < nbad; b++)
            is_bad = is_bad || strcmp(recs[i].id, bad[b]) == 0;
        if (is_bad)
            continue;
        ck_assert_int_eq(fake_mutate_id(env->fake, tenant, "users", recs[i].id), 0);
        n--;
    }
    ck_assert_int_eq(n, 0);
}

static bool dead_letters_all_there(void *arg)
{
    struct rig *r = arg;
    if (access(r->env.db_path, F_OK) != 0)
        return false;
    return tu_db_int(&r->env, "SELECT count(*) FROM dlq", NULL) == BAD_ACME + BAD_HOOK;
}

static void delete_state(struct tu_env *env)
{
    char *cmd = xasprintf("rm -rf '%s' '%s-wal' '%s-shm' '%s/.state.db-litestream'", env->db_path,
                          env->db_path, env->db_path, env->dir);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    ck_assert_int_ne(access(env->db_path, F_OK), 0);
}

/* Every record of the webhook tenant but the refused ones was accepted by
 * the receiver at least once; returns how many were not. */
static int undelivered(struct rig *r)
{
    struct fake_delivery *d;
    size_t nd;
    ck_assert_int_eq(fake_deliveries(r->env.fake, &d, &nd), 0);
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(r->env.fake, "hook", "users", &recs, &n), 0);
    int missing = 0;
    for (size_t i = 0; i < n; i++) {
        char key[128];
        snprintf(key, sizeof(key), "hook:users:%s:%s", recs[i].id, recs[i].updated_at);
        bool seen = false;
        for (size_t k = 0; k < nd && !seen; k++)
            seen = d[k].status / 100 == 2 && strcmp(d[k].idempotency_key, key) == 0;
        missing += !seen;
    }
    fake_records_free(recs, n);
    fake_deliveries_free(d, nd);
    return missing;
}

START_TEST(restore_after_losing_the_machine_keeps_replicated_dead_letters)
{
    if (!litestream_bin()) {
        printf("check_litestream: skipped: no Litestream binary (run 'sh scripts/setup check', "
               "which installs the npm package @flydotio/litestream-linux-x64 into build/tools, "
               "or set VOMO_LITESTREAM)\n");
        return;
    }
    struct rig r;
    rig_setup(&r);
    struct tu_env *env = &r.env;

    /* A fresh machine: no database, no replica; the ExecStartPre= restore
     * does nothing and succeeds. */
    const char *restore[] = {
        "restore", "-config", r.yml, "-if-db-not-exists", "-if-replica-exists", env->db_path, NULL};
    ck_assert_int_eq(litestream_run(env, restore, 30000), 0);
    ck_assert_int_ne(access(env->db_path, F_OK), 0);

    /* The database exists before Litestream starts watching it. */
    char *cmd = xasprintf("'%s' --config '%s' migrate >/dev/null", VOMO_SYNC_BIN, env->config_path);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    const char *replicate[] = {"replicate", "-config", r.yml, NULL};
    pid_t ls = litestream_spawn(env, replicate);
    pid_t daemon = tu_daemon_spawn(env, NULL, NULL);

    ck_assert_msg(tu_wait(dead_letters_all_there, &r, 30000), "the dead letters never appeared");
    char *before_acme[BAD_ACME], *before_hook[BAD_HOOK];
    for (int i = 0; i < BAD_ACME; i++)
        ck_assert_ptr_nonnull(before_acme[i] = dlq_row(env, "acme", r.bad_acme[i]));
    for (int i = 0; i < BAD_HOOK; i++)
        ck_assert_ptr_nonnull(before_hook[i] = dlq_row(env, "hook", r.bad_hook[i]));
    int64_t records_t0 = tu_db_int(env, "SELECT count(*) FROM records", NULL);
    /* Everything committed by now is twenty sync intervals old at the kill. */
    sleep_ms(2000);
    int64_t records_kill = tu_db_int(env, "SELECT count(*) FROM records", NULL);
    ck_assert_int_eq(kill(daemon, SIGKILL), 0);
    ck_assert_int_eq(tu_daemon_wait(daemon, 5000), 128 + SIGKILL);
    ck_assert_int_eq(kill(ls, SIGKILL), 0);
    ck_assert_int_eq(tu_daemon_wait(ls, 5000), 128 + SIGKILL);
    /* The kill came in the middle of the backfill. */
    ck_assert_msg(records_kill < USERS + GROUPS + PROJECTS + HOOK_USERS - BAD_ACME - BAD_HOOK,
                  "the backfill had finished (%lld records) before the kill",
                  (long long)records_kill);
    delete_state(env);

    double t = now_s();
    ck_assert_int_eq(litestream_run(env, restore, 60000), 0);
    double took = now_s() - t;
    ck_assert_int_eq(access(env->db_path, F_OK), 0);
    struct stat st;
    ck_assert_int_eq(stat(env->db_path, &st), 0);
    int64_t restored = tu_db_int(env, "SELECT count(*) FROM records", NULL);
    printf("check_litestream: restore took %.2f s (%lld of %lld records at the kill, "
           "%lld bytes)\n",
           took, (long long)restored, (long long)records_kill, (long long)st.st_size);
    ck_assert_msg(took < 30.0, "restore took %.1f s", took);
    char *ok = tu_db_text(env, "PRAGMA integrity_check", NULL);
    ck_assert_str_eq(ok, "ok");
    free(ok);
    /* Lost at most the last replicated second: everything from a second
     * before the kill is back, and nothing that never was. */
    ck_assert_int_ge(restored, records_t0);
    ck_assert_int_le(restored, records_kill);
    for (int i = 0; i < BAD_ACME; i++) {
        char *row = dlq_row(env, "acme", r.bad_acme[i]);
        ck_assert_msg(row && strcmp(row, before_acme[i]) == 0, "acme %s: %s, was %s", r.bad_acme[i],
                      row ? row : "(lost)", before_acme[i]);
        free(row);
    }
    for (int i = 0; i < BAD_HOOK; i++) {
        char *row = dlq_row(env, "hook", r.bad_hook[i]);
        ck_assert_msg(row && strcmp(row, before_hook[i]) == 0, "hook %s: %s, was %s", r.bad_hook[i],
                      row ? row : "(lost)", before_hook[i]);
        free(row);
    }
    /* The restore is idempotent: with a database in place it does nothing. */
    ck_assert_int_eq(litestream_run(env, restore, 30000), 0);
    ck_assert_int_eq(tu_db_int(env, "SELECT count(*) FROM records", NULL), restored);

    /* VOMO moved on meanwhile; the restarted daemon (Litestream beside it
     * again) re-reads from the restored, older checkpoints. */
    mutate_good(env, "acme", r.acme_recs, r.n_acme, r.bad_acme, BAD_ACME, 300);
    mutate_good(env, "hook", r.hook_recs, r.n_hook, r.bad_hook, BAD_HOOK, 40);
    ls = litestream_spawn(env, replicate);
    const char *args[] = {"--exit-after-sync", NULL};
    daemon = tu_daemon_spawn(env, args, NULL);
    int rc = tu_daemon_wait(daemon, 90000);
    if (rc != 0)
        dump_logs(env);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(kill(ls, SIGTERM), 0);
    ck_assert_int_ge(tu_daemon_wait(ls, 10000), 0);

    ck_assert_int_eq(tu_mirror_diff(env, "acme", "users"), BAD_ACME);
    ck_assert_int_eq(tu_mirror_diff(env, "acme", "groups"), 0);
    ck_assert_int_eq(tu_mirror_diff(env, "acme", "projects"), 0);
    ck_assert_int_eq(tu_mirror_diff(env, "hook", "users"), BAD_HOOK);
    ck_assert_int_eq(undelivered(&r), BAD_HOOK);
    /* The same dead letters, not new copies of them. */
    ck_assert_int_eq(tu_db_int(env, "SELECT count(*) FROM dlq", NULL), BAD_ACME + BAD_HOOK);
    for (int i = 0; i < BAD_ACME; i++) {
        assert_same_dead_letter(env, "acme", r.bad_acme[i], before_acme[i]);
        free(before_acme[i]);
    }
    for (int i = 0; i < BAD_HOOK; i++) {
        assert_same_dead_letter(env, "hook", r.bad_hook[i], before_hook[i]);
        free(before_hook[i]);
    }
    ck_assert_int_eq(tu_db_int(env,
                               "SELECT count(*) FROM checkpoints WHERE last_scan_status = "
                               "'complete'",
                               NULL),
                     4);
    rig_cleanup(&r);
}
END_TEST

/* The contrib units verify offline (systemd-analyze verify reads the
 * drop-in too): the sibling unit and vomo-sync.service with the restore
 * drop-in, their binaries pointed at the built ones. */
START_TEST(contrib_units_verify)
{
    if (!litestream_bin() || system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
        printf("check_litestream: skipped: contrib units need systemd-analyze and Litestream\n");
        return;
    }
    struct tu_env env;
    tu_env_init(&env, NULL);
    char *cmd = xasprintf(
        "set -e; cd '%s'; mkdir -p vomo-sync.service.d;"
        "sed 's|/usr/bin/litestream|%s|' '%s/contrib/litestream/vomo-sync-litestream.service'"
        "  > vomo-sync-litestream.service;"
        "sed 's|/usr/bin/litestream|%s|' "
        "'%s/contrib/litestream/vomo-sync.service.d-litestream.conf'"
        "  > vomo-sync.service.d/litestream.conf;"
        "sed 's|@BINDIR@/vomo-sync|%s|; s|@SYSCONFDIR@|/etc|g' '%s/systemd/vomo-sync.service.in'"
        "  > vomo-sync.service;"
        "grep -q '^ExecStartPre=.* restore .*-if-db-not-exists -if-replica-exists' "
        "  vomo-sync.service.d/litestream.conf;"
        "SYSTEMD_UNIT_PATH=\"$PWD:\" systemd-analyze verify --man=no vomo-sync-litestream.service "
        "  vomo-sync.service > verify.out 2>&1; test ! -s verify.out || { cat verify.out; false; }",
        env.dir, litestream_bin(), SOURCE_ROOT, litestream_bin(), SOURCE_ROOT, VOMO_SYNC_BIN,
        SOURCE_ROOT);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *litestream_suite(void)
{
    Suite *s = suite_create("litestream");
    TCase *tc = tcase_create("restore");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, restore_after_losing_the_machine_keeps_replicated_dead_letters);
    tcase_add_test(tc, contrib_units_verify);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(litestream_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
