/*
 * bench_sync.c - `make bench`: what a scan costs, by the real daemon binary
 * (a child, `run --exit-after-sync`, timed from its start) against the fake
 * VOMO in this process, into a fresh state database:
 *  - backfills of 10,000 (five rounds) and 100,000 users (three) without
 *    latency, and one of 1,000,000 with BIG=1 in the environment, and how
 *    flat records/s stays, from process start and for the scan alone;
 *  - a reconciliation: a full scan of the 100,000 records just mirrored,
 *    all unchanged;
 *  - an incremental scan that finds nothing (requests, and CPU of the
 *    engine in this process, measured per thread), with a full scan
 *    history (STORE_SCANS_KEPT rows): the first of an engine, and the
 *    next polls of that engine (what a daemon pays every poll);
 *  - a latency-bound backfill (20 ms a response, max_concurrency 4)
 *    against its limit pages / 4 x 20 ms;
 *  - a rate-limited backfill (20 requests a second a token): share of the
 *    allowed rate and of 429 answers;
 *  - an idle daemon: CPU seconds over an idle minute (IDLE_S to change).
 * A benchmark prints; it asserts nothing but that each mirror is complete.
 *
 * Usage: bench_sync                  every case
 *        bench_sync USERS LATENCY_MS one backfill
 *        bench_sync USERS 0 steady   one backfill, then the reconciliation
 *                                    and the incremental scans after it
 */
#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "tenant.h"
#include "testutil.h"
#include "util.h"

#define PAGE_SIZE 15
#define CONCURRENCY 4

struct run {
    int64_t wall_ms;
    long rss_kib;
    size_t requests, limited;
    int64_t first_ms, last_ms; /* wall clock of the first and last request the fake saw */
    int64_t rows;
    int status;
    double user_s, sys_s; /* the daemon's CPU (wait4) */
};

static void env_setup(struct tu_env *env, int users, int latency_ms, int rate_limit)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = latency_ms;
    o.rate_limit_rps = rate_limit;
    tu_env_init(env, &o);
    tu_tenant(env, "acme", users, 0, 0);
    tu_fake_start(env);
    char *ini = tu_tenant_ini("acme", "resources = users");
    tu_config(env,
              "daemon.log_level = warn\npoll.interval = 1h\nvomo.request_timeout = 30s\n"
              "vomo.connect_timeout = 10s\nvomo.max_concurrency = 4\n",
              ini);
    free(ini);
}

/* VmHWM in KiB of the daemon running as pid, or -1 (not yet exec'd: the
 * forked child is still a copy of this process, named after it). */
static long vm_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    bool daemon = false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Name:", 5) == 0)
            daemon = strstr(line, "vomo-sync") != NULL;
        else if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    }
    fclose(f);
    return daemon ? kib : -1;
}

/* One `run --exit-after-sync` of the daemon, from its start to its exit. */
static struct run run_daemon(struct tu_env *env)
{
    struct run r = {0};
    fake_requests_clear(env->fake);
    int64_t t0 = clock_mono_ms();
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = tu_daemon_spawn(env, args, NULL);
    /* Peak RSS is the daemon's own VmHWM, read while it runs: wait4's
     * ru_maxrss would count the pages of this (large) process that the
     * forked child held before its exec. */
    pid_t w;
    struct rusage ru = {0};
    while ((w = wait4(pid, &r.status, WNOHANG, &ru)) == 0) {
        long hwm = vm_hwm_kib(pid);
        if (hwm > r.rss_kib)
            r.rss_kib = hwm;
        usleep(2000);
    }
    if (w != pid) {
        perror("waitpid");
        exit(1);
    }
    r.wall_ms = clock_mono_ms() - t0;
    r.user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    r.sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    struct fake_request *reqs;
    if (fake_requests(env->fake, &reqs, &r.requests) == 0) {
        for (size_t i = 0; i < r.requests; i++) {
            r.limited += reqs[i].status == 429;
            if (i == 0 || reqs[i].time_ms < r.first_ms)
                r.first_ms = reqs[i].time_ms;
            if (reqs[i].time_ms > r.last_ms)
                r.last_ms = reqs[i].time_ms;
        }
        fake_requests_free(reqs, r.requests);
    }
    r.rows = tu_db_int(env, "SELECT count(*) FROM records", NULL);
    return r;
}

static double per_s(int64_t n, int64_t ms)
{
    return ms > 0 ? (double)n * 1000.0 / (double)ms : 0.0;
}

static const char *complete(struct tu_env *env)
{
    return tu_mirror_diff(env, "acme", "users") == 0 ? "" : "  (MIRROR INCOMPLETE)";
}

static void exec_sql(struct tu_env *env, const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open(env->db_path, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_sync: %s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_close(db);
}

static void print_backfill(const char *what, int users, int latency_ms, const struct run *r,
                           const char *note)
{
    printf("%-14s %7d users, latency %2d ms: %7lld records in %6.2f s = %8.0f records/s, "
           "%6zu requests, daemon peak RSS %6ld KiB, exit %d%s\n",
           what, users, latency_ms, (long long)r->rows, (double)r->wall_ms / 1000.0,
           per_s(r->rows, r->wall_ms), r->requests, r->rss_kib,
           WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1, note);
    fflush(stdout);
}

/* CPU of this thread (the engine's loop; the fake has threads of its own). */
static int64_t thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define POLLS 9

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct scans_goal {
    struct engine *e;
    int n;
};

static bool scans_done(void *arg)
{
    const struct scans_goal *g = arg;
    return tu_scans_at_least(g->e, g->n);
}

static size_t requests_seen(struct tu_env *env)
{
    size_t n = 0;
    struct fake_request *reqs;
    if (fake_requests(env->fake, &reqs, &n) == 0)
        fake_requests_free(reqs, n);
    fake_requests_clear(env->fake);
    return n;
}

/* An incremental scan of a mirror that is up to date, in this process;
 * `what` says which engine.  CPU of the engine's thread: opening the
 * engine, its first scan, then (poll_again) its next poll, which is what a
 * daemon pays every poll.interval (statements prepared, connection kept). */
static void incremental_noop(struct tu_env *env, const char *what, bool poll_again)
{
    fake_requests_clear(env->fake);
    struct tu_engine te;
    int64_t c0 = thread_cpu_us();
    tu_engine_start(env, &te);
    int64_t c1 = thread_cpu_us();
    struct scans_goal g = {.e = te.e, .n = 1};
    bool done = tu_run_until(&te, scans_done, &g, 30000);
    int64_t c2 = thread_cpu_us();
    size_t n = requests_seen(env);
    printf("incremental scan, nothing new (%s): %zu request(s), %.3f ms CPU for the scan "
           "(%.3f ms more to open the engine)%s\n",
           what, n, (double)(c2 - c1) / 1000.0, (double)(c1 - c0) / 1000.0,
           done ? "" : " [TIMED OUT]");
    if (poll_again) {
        /* Several polls, the median and the range: one poll is a fraction
         * of a millisecond, and a neighbour's burst shows in a single one. */
        struct tenant *t = engine_tenant(te.e, "acme");
        int64_t us[POLLS];
        int polls = 0;
        for (; t && polls < POLLS; polls++) {
            g.n = 2 + polls;
            int64_t c3 = thread_cpu_us();
            slot_schedule(&t->slots[RES_USERS], 0);
            done = tu_run_until(&te, scans_done, &g, 30000);
            us[polls] = thread_cpu_us() - c3;
            if (!done)
                break;
        }
        n = requests_seen(env);
        qsort(us, (size_t)polls, sizeof(us[0]), cmp_i64);
        printf("incremental scan, nothing new (the next %d polls of that engine): %.1f "
               "request(s) a poll, %.3f ms CPU a scan (median; %.3f-%.3f)%s\n",
               polls, polls ? (double)n / polls : 0.0, polls ? (double)us[polls / 2] / 1000.0 : 0.0,
               polls ? (double)us[0] / 1000.0 : 0.0, polls ? (double)us[polls - 1] / 1000.0 : 0.0,
               t && done ? "" : " [TIMED OUT]");
    }
    tu_engine_stop(&te);
    fflush(stdout);
}

/* The newest scan's own duration in ms (started_at to finished_at, the
 * daemon's wall clock): the backfill without the process start before it
 * and the database close after it. */
static int64_t last_scan_ms(struct tu_env *env)
{
    return tu_db_int(env,
                     "SELECT CAST(round((julianday(finished_at) - julianday(started_at)) * "
                     "86400000) AS INTEGER) FROM scans ORDER BY id DESC LIMIT 1",
                     NULL);
}

/* Records/s of a backfill, from process start and for the scan alone. */
struct rates {
    double from_start, scan;
};

/* One backfill into a fresh mirror; with follow_ups, then a reconciliation
 * of the unchanged mirror and incremental scans that find nothing. */
static struct rates backfill_case(int users, bool follow_ups)
{
    struct tu_env env;
    env_setup(&env, users, 0, 0);
    struct run r = run_daemon(&env);
    int64_t scan_ms = last_scan_ms(&env);
    char note[160];
    snprintf(note, sizeof(note), "; the scan alone %.2f s = %.0f records/s%s",
             (double)scan_ms / 1000.0, per_s(r.rows, scan_ms), complete(&env));
    print_backfill("backfill", users, 0, &r, note);
    struct rates rate = {per_s(r.rows, r.wall_ms), per_s(r.rows, scan_ms)};
    if (follow_ups) {
        exec_sql(&env, "UPDATE checkpoints SET updated_after = '1970-01-01T00:00:00.000Z'");
        struct run f = run_daemon(&env);
        int64_t skipped =
            tu_db_int(&env, "SELECT skipped FROM scans ORDER BY id DESC LIMIT 1", NULL);
        printf("reconcile      %7d users, all unchanged: %7lld skipped in %6.2f s = %8.0f "
               "records/s, %6zu requests, daemon peak RSS %6ld KiB, daemon CPU %.2f s user + "
               "%.2f s sys%s\n",
               users, (long long)skipped, (double)f.wall_ms / 1000.0, per_s(skipped, f.wall_ms),
               f.requests, f.rss_kib, f.user_s, f.sys_s, complete(&env));
        fflush(stdout);
        /* A daemon that has run for a while holds STORE_SCANS_KEPT scans
         * of the resource in its history: the scans below are that
         * daemon's (pruning the history walks them). */
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                 "INSERT INTO scans (tenant, resource, trace_id, kind, started_at, finished_at, "
                 "status) SELECT 'acme', 'users', '', 'incremental', '2026-01-01T00:00:00.000Z', "
                 "'2026-01-01T00:00:01.000Z', 'complete' FROM n",
                 STORE_SCANS_KEPT);
        exec_sql(&env, sql);
        /* The first in a process pays one-time set-up (OpenSSL's SHA-256
         * fetch, curl's first handle); a daemon pays it once, then every
         * poll costs what the next polls of one engine do. */
        incremental_noop(&env, "first in this process", false);
        incremental_noop(&env, "a later one", true);
    }
    tu_env_cleanup(&env);
    return rate;
}

static void latency_case(int users, int latency_ms)
{
    struct tu_env env;
    env_setup(&env, users, latency_ms, 0);
    struct run r = run_daemon(&env);
    int pages = (users + PAGE_SIZE - 1) / PAGE_SIZE;
    double ideal_ms = (double)pages / CONCURRENCY * latency_ms;
    char note[96];
    snprintf(note, sizeof(note), "; %.1f%% of pages / (%d x %d ms) from process start%s",
             100.0 * ideal_ms / (double)r.wall_ms, CONCURRENCY, latency_ms, complete(&env));
    print_backfill("backfill", users, latency_ms, &r, note);
    tu_env_cleanup(&env);
}

static void rate_limit_case(int users, int rps)
{
    struct tu_env env;
    env_setup(&env, users, 0, rps);
    struct run r = run_daemon(&env);
    size_t ok = r.requests - r.limited;
    /* The fake's windows are wall-clock seconds: a run of 9.2 s may touch
     * 10 of them, so answered requests per second of the run can pass the
     * limit; the windows' quota is the stricter measure. */
    int64_t windows = r.requests ? r.last_ms / 1000 - r.first_ms / 1000 + 1 : 0;
    printf("rate limit %d/s %5d users: %zu requests in %.2f s, %.1f%% of the allowed rate "
           "(%.1f%% of the quota of the %lld one-second windows used), %zu answered 429 "
           "(%.1f%%)%s\n",
           rps, users, r.requests, (double)r.wall_ms / 1000.0,
           100.0 * per_s((int64_t)ok, r.wall_ms) / rps,
           windows ? 100.0 * (double)ok / (double)(windows * rps) : 0.0, (long long)windows,
           r.limited, r.requests ? 100.0 * (double)r.limited / (double)r.requests : 0.0,
           complete(&env));
    fflush(stdout);
    tu_env_cleanup(&env);
}

/* utime + stime of a process, in clock ticks (/proc/PID/stat fields 14, 15). */
static long proc_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

/* A daemon that has synced sits between polls: its CPU over IDLE_S. */
static void idle_case(int users)
{
    struct tu_env env;
    env_setup(&env, users, 0, 0);
    struct run r = run_daemon(&env); /* the mirror is complete: the next scan finds nothing */
    (void)r;
    int idle_s = getenv("IDLE_S") ? (int)strtol(getenv("IDLE_S"), NULL, 10) : 60;
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    int64_t scans = tu_db_int(&env, "SELECT count(*) FROM scans", NULL);
    for (int i = 0; i < 300 && tu_db_int(&env, "SELECT count(*) FROM scans", NULL) <= scans; i++)
        usleep(100 * 1000);
    long t0 = proc_cpu_ticks(pid);
    sleep((unsigned)idle_s);
    long t1 = proc_cpu_ticks(pid);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    double cpu = (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK);
    printf("idle daemon (poll.interval 1h, %d users synced): %.2f CPU seconds over %d s idle "
           "(%.3f%% of a core)\n",
           users, cpu, idle_s, 100.0 * cpu / idle_s);
    fflush(stdout);
    tu_env_cleanup(&env);
}

/* Fresh backfills of each size for "flat in size": a 10,000-user run lasts
 * about 0.1 s, where the machine's noise weighs most. */
#define FLAT_ROUNDS 5

static int one_users = 0, one_latency = 0;
static bool one_steady = false;

/* The harness asserts with Check, so the cases run as one Check test. */
START_TEST(bench_all)
{
    if (one_users > 0) {
        if (one_latency > 0)
            latency_case(one_users, one_latency);
        else
            backfill_case(one_users, one_steady);
        return;
    }
    /* Flat in size: the median of FLAT_ROUNDS fresh backfills of 10,000
     * users, of 3 of 100,000 and of 1 of 1,000,000, from process start
     * (which the fixed cost of starting a process and creating a state
     * database weighs on most at 10,000 users) and for the scan alone. */
    int sizes[3] = {10000, 100000, 1000000}, nsizes = 2;
    if (getenv("BIG") && strcmp(getenv("BIG"), "1") == 0)
        nsizes = 3;
    double lo_start = 0, hi_start = 0, lo_scan = 0, hi_scan = 0;
    for (int i = 0; i < nsizes; i++) {
        int rounds = sizes[i] >= 1000000 ? 1 : sizes[i] >= 100000 ? 3 : FLAT_ROUNDS;
        double start[FLAT_ROUNDS], scan[FLAT_ROUNDS];
        for (int k = 0; k < rounds; k++) {
            /* the last 100,000-user round goes on with the steady state */
            struct rates r = backfill_case(sizes[i], sizes[i] == 100000 && k == rounds - 1);
            start[k] = r.from_start;
            scan[k] = r.scan;
        }
        qsort(start, (size_t)rounds, sizeof(double), bench_cmp_double);
        qsort(scan, (size_t)rounds, sizeof(double), bench_cmp_double);
        double ms = start[rounds / 2], mc = scan[rounds / 2];
        if (rounds > 1)
            printf("backfill %7d users, median of %d: %.0f records/s from process start, %.0f "
                   "for the scan alone\n",
                   sizes[i], rounds, ms, mc);
        lo_start = i == 0 || ms < lo_start ? ms : lo_start;
        hi_start = ms > hi_start ? ms : hi_start;
        lo_scan = i == 0 || mc < lo_scan ? mc : lo_scan;
        hi_scan = mc > hi_scan ? mc : hi_scan;
    }
    if (nsizes < 3)
        printf("backfill 1,000,000 users: skipped (make bench BIG=1)\n");
    printf("flat in size: slowest size at %.0f%% of the fastest in records/s from process start, "
           "%.0f%% for the scan alone\n",
           hi_start > 0 ? 100.0 * lo_start / hi_start : 0.0,
           hi_scan > 0 ? 100.0 * lo_scan / hi_scan : 0.0);
    fflush(stdout);
    latency_case(20000, 20);
    rate_limit_case(3000, 20);
    idle_case(1000);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 3 || argc == 4) {
        one_users = (int)strtol(argv[1], NULL, 10);
        one_latency = (int)strtol(argv[2], NULL, 10);
        one_steady = argc == 4 && strcmp(argv[3], "steady") == 0;
    }
    printf("vomo-sync scan benchmark (%ld cores online; page size %d, max_concurrency %d)\n",
           sysconf(_SC_NPROCESSORS_ONLN), PAGE_SIZE, CONCURRENCY);
    fflush(stdout);
    Suite *s = suite_create("bench_sync");
    TCase *tc = tcase_create("backfill");
    tcase_set_timeout(tc, 3600);
    tcase_add_test(tc, bench_all);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
