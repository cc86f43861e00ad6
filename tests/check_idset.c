/*
 * check_idset.c - the scan's id -> version map: numeric ids and string
 * keys, versions round-tripping exactly, overwrite, growth.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "idset.h"

START_TEST(numeric_ids_keep_their_versions)
{
    struct idset s;
    char v[TS_LEN];
    idset_init(&s);
    ck_assert(!idset_get(&s, "1", v));
    idset_put(&s, "1", "2025-11-19T10:15:00.000Z");
    idset_put(&s, "18446744", "2025-11-19T10:15:00.123Z");
    idset_put(&s, "2", NULL);
    ck_assert(idset_get(&s, "1", v));
    ck_assert_str_eq(v, "2025-11-19T10:15:00.000Z");
    ck_assert(idset_get(&s, "18446744", v));
    ck_assert_str_eq(v, "2025-11-19T10:15:00.123Z");
    ck_assert(idset_get(&s, "2", v));
    ck_assert_str_eq(v, "");
    ck_assert(!idset_get(&s, "3", NULL));
    idset_put(&s, "1", "2026-01-01T00:00:00.000Z");
    ck_assert(idset_get(&s, "1", v));
    ck_assert_str_eq(v, "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(s.count, 3);
    idset_free(&s);
}
END_TEST

START_TEST(other_keys_live_beside_numeric_ones)
{
    struct idset s;
    char v[TS_LEN];
    idset_init(&s);
    idset_put(&s, "malformed:abc", "");
    idset_put(&s, "007", "2025-01-01T00:00:00.000Z"); /* not canonical: a string key */
    idset_put(&s, "7", "2025-02-01T00:00:00.000Z");
    ck_assert(idset_get(&s, "malformed:abc", v));
    ck_assert_str_eq(v, "");
    ck_assert(idset_get(&s, "007", v));
    ck_assert_str_eq(v, "2025-01-01T00:00:00.000Z");
    ck_assert(idset_get(&s, "7", v));
    ck_assert_str_eq(v, "2025-02-01T00:00:00.000Z");
    ck_assert(!idset_get(&s, "malformed:abd", NULL));
    ck_assert_int_eq(s.count, 3);
    idset_free(&s);
}
END_TEST

/* n ids spaced by stride, through every growth of the table: each is found
 * with its version, and the ids between them are not.  Consecutive ids
 * share home blocks of slots (idset.c), strided ones do not. */
static void grow_and_find(int n, int stride)
{
    struct idset s;
    char id[32], v[TS_LEN], want[TS_LEN];
    idset_init(&s);
    for (int i = 1; i <= n; i++) {
        snprintf(id, sizeof(id), "%d", i * stride);
        ts_format((int64_t)i * 1000, want);
        idset_put(&s, id, want);
    }
    ck_assert_int_eq(s.count, n);
    ck_assert_int_le(s.used * 4, s.cap * 3);
    for (int i = 1; i <= n; i++) {
        snprintf(id, sizeof(id), "%d", i * stride);
        ts_format((int64_t)i * 1000, want);
        ck_assert(idset_get(&s, id, v));
        ck_assert_str_eq(v, want);
        if (stride > 1) {
            snprintf(id, sizeof(id), "%d", i * stride + 1);
            ck_assert_msg(!idset_get(&s, id, NULL), "%s found", id);
        }
    }
    snprintf(id, sizeof(id), "%d", (n + 1) * stride);
    ck_assert(!idset_get(&s, id, NULL));
    idset_free(&s);
}

START_TEST(grows_and_finds_everything)
{
    grow_and_find(100000, 7);
    grow_and_find(100000, 1);
    grow_and_find(30000, 1024);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("idset");
    TCase *tc = tcase_create("idset");
    /* 200,000 ids under ASan are CPU-bound: seconds on a loaded machine,
     * past Check's default 4 s. */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, numeric_ids_keep_their_versions);
    tcase_add_test(tc, other_keys_live_beside_numeric_ones);
    tcase_add_test(tc, grows_and_finds_everything);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
