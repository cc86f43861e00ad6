/*
 * bench_sync.c - `make bench`: a full backfill of one tenant's users from
 * the fake VOMO (in this process) into a fresh state database by the real
 * daemon binary (a child, `run --exit-after-sync`), at several dataset
 * sizes and latencies.  Prints records per second, requests, wall time and
 * the daemon's peak RSS.  A benchmark prints; it asserts nothing but that
 * the mirror is complete.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

struct bench_case {
    int users;
    int latency_ms;
};

static void run_case(const struct bench_case *bc)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = bc->latency_ms;
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", bc->users, 0, 0);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", "resources = users");
    tu_config(&env,
              "daemon.log_level = warn\npoll.interval = 1h\nvomo.request_timeout = 30s\n"
              "vomo.connect_timeout = 10s\n",
              ini);
    free(ini);
    int64_t t0 = clock_mono_ms();
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = tu_daemon_spawn(&env, args, NULL);
    int status;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    if (wait4(pid, &status, 0, &ru) != pid) {
        perror("wait4");
        exit(1);
    }
    int64_t wall = clock_mono_ms() - t0;
    struct fake_request *reqs;
    size_t nreq = 0;
    if (fake_requests(env.fake, &reqs, &nreq) == 0)
        fake_requests_free(reqs, nreq);
    int64_t rows = tu_db_int(&env, "SELECT count(*) FROM records", NULL);
    int diff = tu_mirror_diff(&env, "acme", "users");
    printf("backfill %7d users, latency %2d ms: %7lld records in %6.2f s = %8.0f records/s, "
           "%6zu requests, daemon peak RSS %6ld KiB, exit %d%s\n",
           bc->users, bc->latency_ms, (long long)rows, (double)wall / 1000.0,
           wall > 0 ? (double)rows * 1000.0 / (double)wall : 0.0, nreq, ru.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, diff == 0 ? "" : "  (MIRROR INCOMPLETE)");
    fflush(stdout);
    tu_env_cleanup(&env);
}

static struct bench_case cases[] = {{10000, 0}, {100000, 0}, {100000, 20}};
static size_t ncases = ARRAY_SIZE(cases);

/* The harness asserts with Check, so the cases run as one Check test. */
START_TEST(bench_all)
{
    for (size_t i = 0; i < ncases; i++)
        run_case(&cases[i]);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 3) { /* bench_sync USERS LATENCY_MS: one case */
        cases[0].users = (int)strtol(argv[1], NULL, 10);
        cases[0].latency_ms = (int)strtol(argv[2], NULL, 10);
        ncases = 1;
    }
    printf("vomo-sync backfill benchmark (%ld cores online; page size 15, max_concurrency 4)\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);
    Suite *s = suite_create("bench_sync");
    TCase *tc = tcase_create("backfill");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, bench_all);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
