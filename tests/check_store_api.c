/*
 * check_store_api.c - the read API's queries on a real, migrated state
 * database: a record with its payload byte for byte and its deletion, a
 * page in id order with its total (deleted records left out, updated_after
 * inclusive, offsets past the end empty, other tenants and resources never
 * mixed in), and the last complete scan (failed and incomplete scans do
 * not count; the checkpoint's own record stands in when no scans row says
 * so).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_api.h"

static struct store *st;
static char dir[64], path[96];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/check_store_api.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    ck_assert_int_eq(store_open(path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
}

static void teardown(void)
{
    store_close(st);
    char f[128];
    const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof(f), "%s%s", path, suffixes[i]);
        unlink(f);
    }
    rmdir(dir);
}

static void put(const char *tenant, const char *res, const char *id, const char *ua,
                const char *payload)
{
    ck_assert_int_eq(
        store_record_put(st, tenant, res, id, ua, payload, "h", "2026-01-01T00:00:00.000Z"), 0);
}

START_TEST(one_record)
{
    const char *payload = "{\"id\": \"7\",  \"name\":\"Zo\\u00eb\" }"; /* spacing kept */
    put("acme", "users", "7", "2025-11-19T10:15:00.000Z", payload);
    struct api_record r;
    ck_assert_int_eq(store_api_record(st, "acme", "users", "7", &r), 0);
    ck_assert_str_eq(r.payload, payload);
    ck_assert_str_eq(r.updated_at, "2025-11-19T10:15:00.000Z");
    ck_assert_str_eq(r.deleted_at, "");
    store_api_record_free(&r);
    ck_assert_int_eq(store_api_record(st, "acme", "groups", "7", &r), -ENOENT);
    ck_assert_int_eq(store_api_record(st, "other", "users", "7", &r), -ENOENT);
    ck_assert_int_eq(
        store_record_mark_deleted(st, "acme", "users", "7", "2026-02-02T00:00:00.000Z"), 0);
    ck_assert_int_eq(store_api_record(st, "acme", "users", "7", &r), 0);
    ck_assert_str_eq(r.deleted_at, "2026-02-02T00:00:00.000Z");
    store_api_record_free(&r);
}
END_TEST

struct rows {
    char ids[300][16];
    int n;
};

static void on_row(void *arg, const char *id, const char *ua, const char *payload)
{
    struct rows *r = arg;
    ck_assert_ptr_nonnull(ua);
    ck_assert_ptr_nonnull(strstr(payload, id));
    snprintf(r->ids[r->n++], sizeof(r->ids[0]), "%s", id);
}

START_TEST(pages_in_id_order)
{
    /* 250 users inserted out of order, every tenth one deleted. */
    for (int i = 249; i >= 0; i--) {
        char id[16], ua[TS_LEN], payload[64];
        snprintf(id, sizeof(id), "%03d", i);
        snprintf(ua, sizeof(ua), "2025-11-%02dT00:00:00.000Z", 1 + i % 28);
        snprintf(payload, sizeof(payload), "{\"id\":\"%s\"}", id);
        put("acme", "users", id, ua, payload);
        if (i % 10 == 0)
            ck_assert_int_eq(
                store_record_mark_deleted(st, "acme", "users", id, "2026-01-01T00:00:00.000Z"), 0);
    }
    put("acme", "groups", "001", "2025-11-01T00:00:00.000Z", "{\"id\":\"001\"}");
    put("beta", "users", "001", "2025-11-01T00:00:00.000Z", "{\"id\":\"001\"}");
    struct rows r = {0};
    int64_t total = -1;
    ck_assert_int_eq(store_api_page(st, "acme", "users", "", 0, 100, on_row, &r, &total), 0);
    ck_assert_int_eq(total, 225);
    ck_assert_int_eq(r.n, 100);
    ck_assert_str_eq(r.ids[0], "001");
    for (int i = 1; i < r.n; i++)
        ck_assert_msg(strcmp(r.ids[i - 1], r.ids[i]) < 0, "out of order at %d", i);
    char last_of_first[16];
    snprintf(last_of_first, sizeof(last_of_first), "%s", r.ids[99]);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(store_api_page(st, "acme", "users", NULL, 100, 100, on_row, &r, &total), 0);
    ck_assert_int_eq(r.n, 100);
    ck_assert_int_lt(strcmp(last_of_first, r.ids[0]), 0); /* page 2 continues page 1 */
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(store_api_page(st, "acme", "users", NULL, 200, 100, on_row, &r, &total), 0);
    ck_assert_int_eq(r.n, 25);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(store_api_page(st, "acme", "users", NULL, 900, 100, on_row, &r, &total), 0);
    ck_assert_int_eq(r.n, 0);
    ck_assert_int_eq(total, 225);
    /* updated_after is inclusive: days 27 and 28 of 28. */
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(
        store_api_page(st, "acme", "users", "2025-11-27T00:00:00.000Z", 0, 100, on_row, &r, &total),
        0);
    ck_assert_int_eq(total, r.n);
    int want = 0;
    for (int i = 0; i < 250; i++)
        want += i % 10 != 0 && 1 + i % 28 >= 27;
    ck_assert_int_eq(total, want);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(store_api_page(st, "acme", "projects", NULL, 0, 100, on_row, &r, &total), 0);
    ck_assert_int_eq(total, 0);
    ck_assert_int_eq(r.n, 0);
}
END_TEST

static void scan(const char *res, const char *status, const char *finished)
{
    struct scan_summary s = {.tenant = "acme",
                             .resource = res,
                             .trace_id = "t",
                             .kind = "incremental",
                             .status = status,
                             .detail = NULL};
    snprintf(s.started_at, TS_LEN, "%s", finished);
    snprintf(s.finished_at, TS_LEN, "%s", finished);
    ck_assert_int_eq(store_scan_insert(st, &s), 0);
}

START_TEST(last_complete_scan)
{
    char at[TS_LEN];
    ck_assert_int_eq(store_api_last_complete(st, "acme", "users", at), -ENOENT);
    scan("users", "failed", "2026-01-01T00:00:00.000Z");
    scan("users", "incomplete", "2026-01-02T00:00:00.000Z");
    ck_assert_int_eq(store_api_last_complete(st, "acme", "users", at), -ENOENT);
    scan("users", "complete", "2026-01-03T00:00:00.000Z");
    scan("users", "failed", "2026-01-04T00:00:00.000Z");
    ck_assert_int_eq(store_api_last_complete(st, "acme", "users", at), 0);
    ck_assert_str_eq(at, "2026-01-03T00:00:00.000Z");
    ck_assert_int_eq(store_api_last_complete(st, "acme", "groups", at), -ENOENT);
    /* The checkpoint's record counts too (its scans row may be missing). */
    ck_assert_int_eq(
        store_checkpoint_set(st, "acme", "groups", NULL, "2026-01-05T00:00:00.000Z", "complete", 0),
        0);
    ck_assert_int_eq(store_api_last_complete(st, "acme", "groups", at), 0);
    ck_assert_str_eq(at, "2026-01-05T00:00:00.000Z");
    ck_assert_int_eq(
        store_checkpoint_set(st, "acme", "groups", NULL, "2026-01-06T00:00:00.000Z", "failed", 0),
        0);
    ck_assert_int_eq(store_api_last_complete(st, "acme", "groups", at), -ENOENT);
    char status[16];
    ck_assert_int_eq(store_api_last_status(st, "acme", "groups", status), 0);
    ck_assert_str_eq(status, "failed");
    ck_assert_int_eq(store_api_last_status(st, "acme", "projects", status), 0);
    ck_assert_str_eq(status, "");
}
END_TEST

static Suite *store_api_suite(void)
{
    Suite *s = suite_create("store_api");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, one_record);
    tcase_add_test(tc, pages_in_id_order);
    tcase_add_test(tc, last_complete_scan);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
