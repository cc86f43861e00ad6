/*
 * check_hold.c - integration suite of hold checkpoint mode against the fake
 * VOMO: a hold (a failed record the checkpoint waits for) ends on every
 * path that settles its record - dead-lettered, deleted in VOMO (confirmed
 * by reading it back), superseded by a newer version, or settled by a
 * person in the DLQ - and the checkpoint then moves past it.  Each test
 * asserts the holds table, the dlq table and the checkpoint.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util.h"

static struct slot *slot_of(struct engine *e, const char *tenant, const char *resource)
{
    struct tenant *t = engine_tenant(e, tenant);
    enum resource r;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(resource_parse(resource, &r), 0);
    return &t->slots[r];
}

struct scan_wait {
    struct slot *slot;
    int64_t n;
};

static bool slot_finished_n(void *arg)
{
    struct scan_wait *w = arg;
    return w->slot->scans_finished >= w->n;
}

static void run_scans(struct tu_engine *te, struct slot *slot, int64_t n)
{
    struct scan_wait w = {slot, n};
    ck_assert_msg(tu_run_until(te, slot_finished_n, &w, 15000), "slot did not finish %lld scans",
                  (long long)n);
}

static char *checkpoint_of(struct tu_env *env)
{
    char *v = tu_db_text(env,
                         "SELECT updated_after FROM checkpoints WHERE tenant = 'acme' AND "
                         "resource = 'users'",
                         NULL);
    return v ? v : xstrdup(TS_EPOCH);
}

/* The checkpoint is at or before `version` (the hold pins it). */
static void assert_pinned(struct tu_env *env, const char *version)
{
    char *cp = checkpoint_of(env);
    ck_assert_msg(strcmp(cp, version) <= 0, "checkpoint %s passed the held %s", cp, version);
    free(cp);
}

static void assert_past(struct tu_env *env, const char *version)
{
    char *cp = checkpoint_of(env);
    ck_assert_msg(strcmp(cp, version) > 0, "checkpoint %s still at or before %s", cp, version);
    free(cp);
}

static int64_t holds_of(struct tu_env *env, const char *id)
{
    return tu_db_int(env, "SELECT count(*) FROM holds WHERE record_id = ?1", id, NULL);
}

/* A fault rule: the webhook sink answers `status` for one record. */
static int hook_fault(struct tu_env *env, const char *id, int status)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    struct fake_fault r = {
        .path = "/_hooks/*", .body_contains = needle, .kind = FAKE_FAULT_STATUS, .status = status};
    int rule = fake_add_fault(env->fake, &r);
    ck_assert_int_gt(rule, 0);
    return rule;
}

/* Records whose updated_at is below the median, so that the checkpoint of
 * a complete scan would pass them: n of them, ids and versions. */
static void older_records(struct tu_env *env, size_t n, char ids[][32], char versions[][TS_LEN])
{
    struct fake_record *recs;
    size_t have, k = 0;
    ck_assert_int_eq(fake_records(env->fake, "acme", "users", &recs, &have), 0);
    for (size_t i = 0; i < have && k < n; i++) {
        size_t below = 0;
        for (size_t j = 0; j < have; j++)
            below += strcmp(recs[j].updated_at, recs[i].updated_at) < 0;
        if (below >= have / 4 && below < have / 2) {
            snprintf(ids[k], 32, "%s", recs[i].id);
            snprintf(versions[k], TS_LEN, "%s", recs[i].updated_at);
            k++;
        }
    }
    ck_assert_uint_eq(k, n);
    fake_records_free(recs, have);
}

struct hold_env {
    struct tu_env env;
    struct tu_engine te;
    struct slot *slot;
    char *ini;
};

/* A webhook tenant in hold mode, 40 users, dlq.max_attempts high enough
 * that no hold ends by running out of scans within a test. */
static void hold_start(struct hold_env *h, char ids[][32], char versions[][TS_LEN], size_t n,
                       int status)
{
    tu_env_init(&h->env, NULL);
    tu_tenant(&h->env, "acme", 40, 0, 0);
    tu_fake_start(&h->env);
    older_records(&h->env, n, ids, versions);
    for (size_t i = 0; i < n; i++)
        hook_fault(&h->env, ids[i], status);
    h->ini = tu_webhook_tenant_ini(&h->env, "acme", "users", "hold-secret", "hold-secret",
                                   "checkpoint_mode = hold\n");
    tu_config(&h->env, "retry.max_attempts = 1\ndlq.max_attempts = 50\n", h->ini);
    tu_engine_start(&h->env, &h->te);
    h->slot = slot_of(h->te.e, "acme", "users");
    run_scans(&h->te, h->slot, 1);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(holds_of(&h->env, ids[i]), 1);
        assert_pinned(&h->env, versions[i]);
    }
    /* Newer records, so that a checkpoint set free has somewhere to go. */
    struct fake_record *recs;
    size_t have, changed = 0;
    ck_assert_int_eq(fake_records(h->env.fake, "acme", "users", &recs, &have), 0);
    for (size_t i = 0; i < have && changed < 3; i++) {
        bool held = false;
        for (size_t k = 0; k < n; k++)
            held = held || strcmp(recs[i].id, ids[k]) == 0;
        if (!held && fake_mutate_id(h->env.fake, "acme", "users", recs[i].id) == 0)
            changed++;
    }
    fake_records_free(recs, have);
}

static void hold_end(struct hold_env *h)
{
    free(h->ini);
    tu_env_cleanup(&h->env);
}

/*
 * Issue 10, item 3a: a held record that then fails with a validation
 * error goes to manual review; its hold stayed, and since the open dead
 * letter owns that version the record was skipped and the hold never
 * cleared.  Now dead-lettering ends the hold.
 */
START_TEST(validation_after_a_hold_ends_the_hold)
{
    struct hold_env h;
    char ids[1][32], versions[1][TS_LEN];
    hold_start(&h, ids, versions, 1, 503);
    fake_clear_faults(h.env.fake);
    hook_fault(&h.env, ids[0], 422);
    run_scans(&h.te, h.slot, 3);
    tu_engine_stop(&h.te);
    ck_assert_int_eq(tu_db_int(&h.env,
                               "SELECT count(*) FROM dlq WHERE record_id = ?1 AND status = "
                               "'manual_review' AND error_class = 'validation'",
                               ids[0], NULL),
                     1);
    ck_assert_int_eq(holds_of(&h.env, ids[0]), 0);
    assert_past(&h.env, versions[0]);
    hold_end(&h);
}
END_TEST

/*
 * Issue 10, item 3b: a held record deleted in VOMO is never listed again,
 * so its hold never cleared.  A complete scan that does not see a held
 * record reads it back: a 404 ends the hold.
 */
START_TEST(held_record_deleted_in_vomo_ends_the_hold)
{
    struct hold_env h;
    char ids[1][32], versions[1][TS_LEN];
    hold_start(&h, ids, versions, 1, 503);
    ck_assert_int_eq(fake_delete_id(h.env.fake, "acme", "users", ids[0]), 0);
    run_scans(&h.te, h.slot, 3);
    tu_engine_stop(&h.te);
    ck_assert_int_eq(holds_of(&h.env, ids[0]), 0);
    assert_past(&h.env, versions[0]);
    ck_assert_int_eq(tu_db_int(&h.env, "SELECT count(*) FROM dlq", NULL), 0);
    /* Never delivered, so there is nothing to delete at the receiver. */
    ck_assert_int_eq(tu_db_int(&h.env, "SELECT count(*) FROM records WHERE id = ?1", ids[0], NULL),
                     0);
    ck_assert_int_eq(tu_mirror_diff(&h.env, "acme", "users"), 0);
    hold_end(&h);
}
END_TEST

/* A newer version delivered ends the hold of the older one. */
START_TEST(newer_version_delivered_ends_the_hold)
{
    struct hold_env h;
    char ids[1][32], versions[1][TS_LEN];
    hold_start(&h, ids, versions, 1, 503);
    fake_clear_faults(h.env.fake);
    ck_assert_int_eq(fake_mutate_id(h.env.fake, "acme", "users", ids[0]), 0);
    run_scans(&h.te, h.slot, 3);
    tu_engine_stop(&h.te);
    ck_assert_int_eq(holds_of(&h.env, ids[0]), 0);
    assert_past(&h.env, versions[0]);
    ck_assert_int_eq(tu_mirror_diff(&h.env, "acme", "users"), 0);
    hold_end(&h);
}
END_TEST

/*
 * A person settles a record in the DLQ (resolve, discard or retry): a hold
 * on that version ends.  The state is the one a database kept from before
 * dead-lettering ended holds: a hold and an open dead letter of the same
 * version.
 */
START_TEST(person_settling_the_dead_letter_ends_the_hold)
{
    struct hold_env h;
    char ids[3][32], versions[3][TS_LEN];
    hold_start(&h, ids, versions, 3, 503);
    int64_t rows[3];
    for (int i = 0; i < 3; i++) {
        struct dlq_new n = {.tenant = "acme",
                            .resource = "users",
                            .record_id = ids[i],
                            .record_updated_at = versions[i],
                            .status = "manual_review",
                            .error_class = "validation",
                            .http_status = 422,
                            .attempts = 1,
                            .last_error = "test",
                            .now = versions[i]};
        ck_assert_int_eq(store_dlq_add(h.te.store, &n, &rows[i]), 0);
        int attempts = 0;
        ck_assert_int_eq(store_hold_fail(h.te.store, "acme", "users", ids[i], versions[i],
                                         "transient", 503, "test", versions[i], &attempts),
                         0);
    }
    ck_assert_int_eq(tu_db_int(&h.env, "SELECT count(*) FROM holds", NULL), 3);
    const char *now = "2026-06-01T00:00:00.000Z";
    /* What `dlq resolve`, `dlq discard` and `dlq retry` call. */
    ck_assert_int_eq(
        store_dlq_close(h.te.store, rows[0], "resolved", "manual", NULL, "tester", now), 0);
    ck_assert_int_eq(holds_of(&h.env, ids[0]), 0);
    ck_assert_int_eq(
        store_dlq_close(h.te.store, rows[1], "discarded", "discarded", NULL, "tester", now), 0);
    ck_assert_int_eq(holds_of(&h.env, ids[1]), 0);
    ck_assert_int_eq(store_dlq_retry(h.te.store, rows[2], 0, "tester", now, NULL), 0);
    ck_assert_int_eq(holds_of(&h.env, ids[2]), 0);
    /* A hold on a newer version than the dead letter's is a newer failure:
     * settling the old dead letter leaves it. */
    int attempts = 0;
    ck_assert_int_eq(store_hold_fail(h.te.store, "acme", "users", ids[2],
                                     "2099-01-01T00:00:00.000Z", "transient", 503, "test", now,
                                     &attempts),
                     0);
    ck_assert_int_eq(
        store_dlq_close(h.te.store, rows[2], "resolved", "manual", NULL, "tester", now), 0);
    ck_assert_int_eq(holds_of(&h.env, ids[2]), 1);
    ck_assert_int_eq(store_hold_clear(h.te.store, "acme", "users", ids[2]), 0);
    fake_clear_faults(h.env.fake);
    run_scans(&h.te, h.slot, h.slot->scans_finished + 2);
    tu_engine_stop(&h.te);
    ck_assert_int_eq(tu_db_int(&h.env, "SELECT count(*) FROM holds", NULL), 0);
    for (int i = 0; i < 3; i++)
        assert_past(&h.env, versions[i]);
    hold_end(&h);
}
END_TEST

static Suite *hold_suite(void)
{
    Suite *s = suite_create("hold");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, validation_after_a_hold_ends_the_hold);
    tcase_add_test(tc, held_record_deleted_in_vomo_ends_the_hold);
    tcase_add_test(tc, newer_version_delivered_ends_the_hold);
    tcase_add_test(tc, person_settling_the_dead_letter_ends_the_hold);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hold_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
