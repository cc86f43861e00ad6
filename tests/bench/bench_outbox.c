/*
 * bench_outbox.c - `make bench`: writes to VOMO through the outbox.  The
 * load run of outbox_load.h (1,000 writes: user upserts, group creates and
 * updates, project creates) against the in-process fake VOMO, once without
 * faults and once with 20% of the write requests faulted (lost responses,
 * 503s, resets) and 3 restarts.  Prints writes/s and requests per write
 * (writes and searches VOMO received, divided by the intents), and fails
 * when any intent is not in VOMO exactly once.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "outbox_load.h"

static int run(double share, int restarts)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    struct ol_result r;
    ol_run(&env, restarts, share, &r);
    printf("outbox: %d writes, %.0f%% of write requests faulted, %d restarts: %.1f s, "
           "%.0f writes/s, %.2f requests per write, %d of %d done, %d wrong\n",
           r.writes, share * 100, restarts, r.seconds, r.writes / r.seconds,
           (double)r.requests / r.writes, r.done, r.writes, r.wrong);
    tu_env_cleanup(&env);
    return r.wrong == 0 && r.done == r.writes ? 0 : 1;
}

static int result;

START_TEST(bench_all)
{
    result = run(0.0, 0);
    result |= run(0.20, 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bench_outbox");
    TCase *tc = tcase_create("outbox");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, bench_all);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed || result ? 1 : 0;
}
