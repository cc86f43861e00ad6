/*
 * check_fuzz.c - replays the fuzz corpus (tests/fuzz/corpus/NAME, every
 * input the issue reports plus seeds and whatever `make fuzz` found worth
 * keeping) through the same target functions libFuzzer runs, under ASan
 * and UBSan, so `make check` spends no time fuzzing yet nothing found
 * before can come back.  A broken property aborts the test case; run with
 * FUZZ_REPLAY_VERBOSE=1 to see which input did it.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

static size_t replay(const char *name, int (*target)(const uint8_t *, size_t))
{
    char *dir = xasprintf("%s/tests/fuzz/corpus/%s", SOURCE_ROOT, name);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no corpus at %s", dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name), *data;
        size_t len;
        ck_assert_msg(read_whole_file(path, 1 << 20, &data, &len) == 0, "cannot read %s", path);
        if (getenv("FUZZ_REPLAY_VERBOSE")) /* names the input should it abort */
            fprintf(stderr, "%s/%s\n", name, e->d_name);
        ck_assert_int_eq(target((const uint8_t *)data, len), 0);
        free(data);
        free(path);
        n++;
    }
    closedir(d);
    free(dir);
    return n;
}

#define REPLAY(name, min)                                                                          \
    START_TEST(replay_##name)                                                                      \
    {                                                                                              \
        ck_assert_uint_ge(replay(#name, fuzz_##name), min);                                        \
    }                                                                                              \
    END_TEST

REPLAY(page, 10)
REPLAY(ts, 10)
REPLAY(retry_after, 5)
REPLAY(ini, 5)
REPLAY(log, 8)

int main(void)
{
    Suite *s = suite_create("fuzz");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, replay_page);
    tcase_add_test(tc, replay_ts);
    tcase_add_test(tc, replay_retry_after);
    tcase_add_test(tc, replay_ini);
    tcase_add_test(tc, replay_log);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
