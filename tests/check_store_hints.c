/*
 * check_store_hints.c - unit suite of the vomo_hints table (store_hints.h)
 * on a real SQLite file: a hint is recorded once and its replays counted,
 * unknown types are recorded as processed, the pending queue and outcomes,
 * counts per tenant and outcome, and bounded retention (pending hints
 * expire after a day, processed ones go after a week).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_hints.h"

static struct store *open_store(char dir[64])
{
    snprintf(dir, 64, "/tmp/vomo-hints-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[96];
    snprintf(path, sizeof(path), "%s/state.db", dir);
    struct store *st = NULL;
    ck_assert_int_eq(store_open(path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
    return st;
}

static void close_store(struct store *st, const char *dir)
{
    store_close(st);
    char path[96];
    snprintf(path, sizeof(path), "%s/state.db", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.db-shm", dir);
    unlink(path);
    rmdir(dir);
}

static int64_t add(struct store *st, const char *key, const char *type, const char *res,
                   const char *outcome, const char *now, bool *replay)
{
    struct hint_new h = {.tenant = "acme",
                         .event_key = key,
                         .type = type,
                         .resource = res,
                         .record_id = res ? "7" : NULL,
                         .outcome = outcome,
                         .now = now};
    int64_t id = 0;
    ck_assert_int_eq(store_hint_add(st, &h, &id, replay), 0);
    return id;
}

struct counts {
    int64_t pending, applied, ignored, replay, expired, other;
};

static void count(void *arg, const char *tenant, const char *outcome, int64_t n)
{
    struct counts *c = arg;
    ck_assert_str_eq(tenant, "acme");
    if (strcmp(outcome, "pending") == 0)
        c->pending = n;
    else if (strcmp(outcome, "applied") == 0)
        c->applied = n;
    else if (strcmp(outcome, "ignored") == 0)
        c->ignored = n;
    else if (strcmp(outcome, "replay") == 0)
        c->replay = n;
    else if (strcmp(outcome, "expired") == 0)
        c->expired = n;
    else
        c->other += n;
}

START_TEST(hints_are_recorded_once_and_worked_off)
{
    char dir[64];
    struct store *st = open_store(dir);
    bool replay = true;
    const char *t0 = "2026-12-01T10:00:00.000Z";
    int64_t a = add(st, "id:e1", "project.updated", "projects", "pending", t0, &replay);
    ck_assert(!replay);
    int64_t again = add(st, "id:e1", "project.updated", "projects", "pending", t0, &replay);
    ck_assert(replay);
    ck_assert_int_eq(again, a);
    (void)add(st, "id:e1", "project.updated", "projects", "pending", t0, &replay);
    int64_t b = add(st, "sha256:ff", "campaign.updated", NULL, "ignored", t0, &replay);
    ck_assert(!replay && b != a);

    struct hint_row *rows;
    size_t n;
    ck_assert_int_eq(store_hints_pending(st, 10, &rows, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(rows[0].id, a);
    ck_assert_str_eq(rows[0].resource, "projects");
    ck_assert_str_eq(rows[0].record_id, "7");
    store_hint_rows_free(rows, n);

    ck_assert_int_eq(store_hint_finish(st, a, "applied", t0), 0);
    ck_assert_int_eq(store_hints_pending(st, 10, &rows, &n), 0);
    ck_assert_uint_eq(n, 0);
    store_hint_rows_free(rows, n);
    /* finishing twice changes nothing */
    ck_assert_int_eq(store_hint_finish(st, a, "failed", t0), 0);

    struct counts c = {0};
    ck_assert_int_eq(store_hint_counts(st, count, &c), 0);
    ck_assert_int_eq(c.applied, 1);
    ck_assert_int_eq(c.ignored, 1);
    ck_assert_int_eq(c.replay, 2);
    ck_assert_int_eq(c.other, 0);
    close_store(st, dir);
}
END_TEST

/* Deletion hints waiting for their pace never hide the updates behind
 * them from a batch of `max`. */
START_TEST(updates_are_taken_before_waiting_deletions)
{
    char dir[64];
    struct store *st = open_store(dir);
    bool replay;
    const char *t0 = "2026-12-01T10:00:00.000Z";
    int64_t d1 = add(st, "id:d1", "project.deleted", "projects", "pending", t0, &replay);
    (void)add(st, "id:d2", "project.deleted", "projects", "pending", t0, &replay);
    int64_t u = add(st, "id:u1", "project.updated", "projects", "pending", t0, &replay);
    struct hint_row *rows;
    size_t n;
    ck_assert_int_eq(store_hints_pending(st, 2, &rows, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(rows[0].id, u);
    ck_assert_int_eq(rows[1].id, d1);
    store_hint_rows_free(rows, n);
    close_store(st, dir);
}
END_TEST

START_TEST(retention_is_bounded)
{
    char dir[64];
    struct store *st = open_store(dir);
    bool replay;
    int64_t old_done = add(st, "k1", "project.updated", "projects", "pending",
                           "2026-11-01T00:00:00.000Z", &replay);
    ck_assert_int_eq(store_hint_finish(st, old_done, "applied", "2026-11-01T00:00:01.000Z"), 0);
    (void)add(st, "k2", "project.updated", "projects", "pending", "2026-11-30T00:00:00.000Z",
              &replay);
    (void)add(st, "k3", "project.updated", "projects", "pending", "2026-12-01T23:00:00.000Z",
              &replay);
    int64_t gone = -1;
    /* now = 2026-12-02T12:00: expire before 12-01T12:00, delete before 11-25T12:00 */
    ck_assert_int_eq(
        store_hints_prune(st, "2026-12-01T12:00:00.000Z", "2026-11-25T12:00:00.000Z", &gone), 0);
    ck_assert_int_eq(gone, 1);
    struct counts c = {0};
    ck_assert_int_eq(store_hint_counts(st, count, &c), 0);
    ck_assert_int_eq(c.expired, 1);
    ck_assert_int_eq(c.pending, 1);
    ck_assert_int_eq(c.applied, 0);
    close_store(st, dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_hints");
    TCase *tc = tcase_create("store_hints");
    tcase_add_test(tc, hints_are_recorded_once_and_worked_off);
    tcase_add_test(tc, updates_are_taken_before_waiting_deletions);
    tcase_add_test(tc, retention_is_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
