/*
 * bench_scale.c - `make bench`: how far one instance goes.  The real daemon
 * binary (a child, `run --exit-after-sync`) backfills N tenants x 3
 * resources from the fake VOMO in this process, each answer delayed by a
 * realistic latency, into a fresh state database.  For each N it prints the
 * request rate sustained (requests / wall time), records/s, the time of one
 * tenant's backfill (its users scan: median and slowest tenant), the daemon's
 * CPU time, its peak RSS, and the memory each tenant adds (the peak RSS
 * above the one-tenant run, divided by the tenants added) and the size of
 * state.db.  A last run
 * without latency, at the largest N, shows the ceiling set by CPU and disk
 * rather than by VOMO.  It asserts only that every mirror is complete.
 *
 * Environment: SCALE_TENANTS ("1 50 200 500"), SCALE_LATENCY_MS (30),
 * SCALE_USERS (1000), SCALE_GROUPS (50), SCALE_PROJECTS (50),
 * SCALE_CEILING (1: the run without latency; 0: none).
 * Usage: bench_scale               the runs above
 *        bench_scale N LATENCY_MS  one run
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

#define CONCURRENCY 4
#define PAGE_SIZE 15
#define MAX_RUNS 16

struct scale_run {
    int tenants, latency_ms;
    int64_t wall_ms, rows;
    double cpu_s, scan_median_s, scan_max_s;
    long rss_kib;
    int64_t db_bytes;
    size_t requests;
    int status, incomplete;
};

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? (int)strtol(v, NULL, 10) : dflt;
}

static int users, groups, projects;

/* N tenants t0001.. with the same sizes, sqlite destination, every resource. */
static void scale_env(struct tu_env *env, int tenants, int latency_ms)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = latency_ms;
    tu_env_init(env, &o);
    struct buf ini;
    buf_init(&ini, 0);
    for (int i = 1; i <= tenants; i++) {
        char name[16];
        snprintf(name, sizeof(name), "t%04d", i);
        tu_tenant(env, name, users, groups, projects);
        char *t = tu_tenant_ini(name, NULL);
        ck_assert_int_eq(buf_printf(&ini, "%s", t), 0);
        free(t);
    }
    tu_fake_start(env);
    tu_config(env,
              "daemon.log_level = warn\npoll.interval = 1h\nvomo.request_timeout = 30s\n"
              "vomo.connect_timeout = 10s\nvomo.max_concurrency = 4\n",
              ini.data);
    buf_free(&ini);
}

/* Median and largest duration of the users scans (a tenant's longest
 * resource, so its backfill time), in seconds. */
static void scan_times(struct tu_env *env, struct scale_run *r)
{
    int64_t n = tu_db_int(env, "SELECT count(*) FROM scans WHERE resource = 'users'", NULL);
    char *off = xasprintf("%lld", (long long)(n / 2));
    char *med = tu_db_text(
        env,
        "SELECT (julianday(finished_at) - julianday(started_at)) * 86400.0 "
        "FROM scans WHERE resource = 'users' ORDER BY 1 LIMIT 1 OFFSET CAST(?1 AS INTEGER)",
        off, NULL);
    char *max = tu_db_text(
        env,
        "SELECT max((julianday(finished_at) - julianday(started_at)) * 86400.0) FROM scans "
        "WHERE resource = 'users'",
        NULL);
    r->scan_median_s = med ? strtod(med, NULL) : 0;
    r->scan_max_s = max ? strtod(max, NULL) : 0;
    free(off);
    free(med);
    free(max);
}

static struct scale_run run_scale(int tenants, int latency_ms)
{
    struct scale_run r = {.tenants = tenants, .latency_ms = latency_ms};
    struct tu_env env;
    scale_env(&env, tenants, latency_ms);
    fake_requests_clear(env.fake);
    int64_t t0 = clock_mono_ms();
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = tu_daemon_spawn(&env, args, NULL);
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    ck_assert_int_eq(wait4(pid, &r.status, 0, &ru), pid);
    r.wall_ms = clock_mono_ms() - t0;
    r.rss_kib = ru.ru_maxrss;
    r.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    struct fake_request *reqs;
    if (fake_requests(env.fake, &reqs, &r.requests) == 0)
        fake_requests_free(reqs, r.requests);
    r.rows = tu_db_int(&env, "SELECT count(*) FROM records", NULL);
    scan_times(&env, &r);
    struct stat st;
    r.db_bytes = stat(env.db_path, &st) == 0 ? (int64_t)st.st_size : -1;
    const char *res[] = {"users", "groups", "projects"};
    for (int i = 1; i <= tenants; i++) {
        char name[16];
        snprintf(name, sizeof(name), "t%04d", i);
        for (int k = 0; k < 3; k++)
            r.incomplete += tu_mirror_diff(&env, name, res[k]) != 0;
    }
    tu_env_cleanup(&env);
    return r;
}

static void print_run(const struct scale_run *r)
{
    double s = (double)r->wall_ms / 1000.0;
    printf("%4d tenants, %2d ms: %7zu requests in %7.2f s = %7.1f requests/s, %8.0f records/s; "
           "backfill median %5.2f s, slowest %6.2f s; daemon CPU %6.2f s (%3.0f%% of a core), "
           "peak RSS %7ld KiB, state.db %6.1f MiB, exit %d%s\n",
           r->tenants, r->latency_ms, r->requests, s, s > 0 ? (double)r->requests / s : 0,
           s > 0 ? (double)r->rows / s : 0, r->scan_median_s, r->scan_max_s, r->cpu_s,
           s > 0 ? 100.0 * r->cpu_s / s : 0, r->rss_kib, (double)r->db_bytes / (1024.0 * 1024.0),
           WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1,
           r->incomplete ? "  (MIRROR INCOMPLETE)" : "");
    fflush(stdout);
}

static int one_tenants = 0, one_latency = -1;

START_TEST(bench_all)
{
    users = env_int("SCALE_USERS", 1000);
    groups = env_int("SCALE_GROUPS", 50);
    projects = env_int("SCALE_PROJECTS", 50);
    int latency = env_int("SCALE_LATENCY_MS", 30);
    int pages = (users + PAGE_SIZE - 1) / PAGE_SIZE + (groups + PAGE_SIZE - 1) / PAGE_SIZE +
                (projects + PAGE_SIZE - 1) / PAGE_SIZE;
    printf("each tenant: %d users, %d groups, %d projects (%d list pages of %d); "
           "max_concurrency %d a tenant\n",
           users, groups, projects, pages, PAGE_SIZE, CONCURRENCY);
    if (one_tenants > 0) {
        struct scale_run r = run_scale(one_tenants, one_latency);
        print_run(&r);
        ck_assert_int_eq(r.incomplete, 0);
        return;
    }
    const char *list = getenv("SCALE_TENANTS") ? getenv("SCALE_TENANTS") : "1 50 200 500";
    struct scale_run runs[MAX_RUNS];
    int n = 0;
    for (const char *p = list; *p && n < MAX_RUNS;) {
        char *end;
        long t = strtol(p, &end, 10);
        if (end == p)
            break;
        p = end;
        runs[n] = run_scale((int)t, latency);
        print_run(&runs[n]);
        ck_assert_int_eq(runs[n].incomplete, 0);
        n++;
    }
    for (int i = 1; i < n; i++) {
        if (runs[i].tenants <= runs[0].tenants)
            continue;
        double per = (double)(runs[i].rss_kib - runs[0].rss_kib) /
                     (double)(runs[i].tenants - runs[0].tenants);
        double limit = (double)runs[i].tenants * CONCURRENCY * 1000.0 / (latency ? latency : 1);
        printf("%4d tenants: %.0f KiB more peak RSS per tenant than %d tenant(s); "
               "request rate %.0f%% of the latency bound %d x %d / %d ms = %.0f/s\n",
               runs[i].tenants, per, runs[0].tenants,
               100.0 * ((double)runs[i].requests * 1000.0 / (double)runs[i].wall_ms) / limit,
               runs[i].tenants, CONCURRENCY, latency, limit);
    }
    if (n > 0 && env_int("SCALE_CEILING", 1)) {
        struct scale_run c = run_scale(runs[n - 1].tenants, 0);
        printf("ceiling, no latency: ");
        print_run(&c);
        ck_assert_int_eq(c.incomplete, 0);
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 3) {
        one_tenants = (int)strtol(argv[1], NULL, 10);
        one_latency = (int)strtol(argv[2], NULL, 10);
    }
    /* Every tenant may hold max_concurrency connections. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    printf("vomo-sync scale benchmark (%ld cores online)\n", sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);
    Suite *s = suite_create("bench_scale");
    TCase *tc = tcase_create("scale");
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
