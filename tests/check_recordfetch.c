/*
 * check_recordfetch.c - integration suite of reading one record by id
 * (recordfetch.h) against the fake VOMO: a changed record is applied and
 * its body handed back, an unchanged one skipped, a record VOMO no longer
 * has is deleted once VOMO confirms it (404), nothing is sent while VOMO's
 * breaker is open, the deadline and the first answer come in time while
 * the read goes on, a cancelled owner is never called, and the callback
 * never runs inside recordfetch_start().
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "recordfetch.h"
#include "testutil.h"
#include "util.h"

struct got {
    int calls;
    bool in_start; /* set while recordfetch_start runs */
    bool called_in_start;
    long status;
    char net_error[16];
    enum recordfetch_outcome outcome;
    bool unreachable, breaker_open, auth_failed, timed_out, cancelled;
    char *body;
    int64_t at_ms;
    int attempts;
};

static void on_result(const struct recordfetch_result *r, void *arg)
{
    struct got *g = arg;
    g->calls++;
    g->called_in_start = g->called_in_start || g->in_start;
    g->status = r->status;
    snprintf(g->net_error, sizeof(g->net_error), "%s", r->net_error ? r->net_error : "");
    g->outcome = r->outcome;
    g->unreachable = r->unreachable;
    g->breaker_open = r->breaker_open;
    g->auth_failed = r->auth_failed;
    g->timed_out = r->timed_out;
    g->cancelled = r->cancelled;
    free(g->body);
    g->body = r->body ? xstrndup(r->body, r->body_len) : NULL;
    g->at_ms = clock_mono_ms();
    g->attempts = r->attempts;
}

static bool called(void *arg)
{
    return ((struct got *)arg)->calls > 0;
}

static bool none_open(void *arg)
{
    (void)arg;
    return recordfetch_open_count() == 0;
}

static bool first_scans(void *arg)
{
    return tu_scans_at_least(arg, 1);
}

/* An engine with tenant acme (users) whose backfill is done; the poll
 * interval is an hour, so nothing but the test's fetches reads VOMO. */
static void start(struct tu_env *env, struct tu_engine *te, const char *overrides)
{
    tu_env_init(env, NULL);
    tu_tenant(env, "acme", 20, 0, 0);
    tu_fake_start(env);
    char *a = tu_tenant_ini("acme", "resources = users");
    char ov[512];
    snprintf(ov, sizeof(ov), "poll.interval = 1h\n%s", overrides ? overrides : "");
    tu_config(env, ov, a);
    free(a);
    tu_engine_start(env, te);
    ck_assert(tu_run_until(te, first_scans, te->e, 10000));
    fake_requests_clear(env->fake);
}

static void finish(struct tu_env *env, struct tu_engine *te, struct got *g)
{
    ck_assert(tu_run_until(te, none_open, NULL, 5000));
    tu_engine_stop(te);
    tu_env_cleanup(env);
    free(g->body);
}

static void record_id_at(struct tu_env *env, size_t i, char out[32])
{
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env->fake, "acme", "users", &recs, &n), 0);
    ck_assert_uint_gt(n, i);
    snprintf(out, 32, "%s", recs[i].id);
    fake_records_free(recs, n);
}

/* Requests the fake received for GET /v1/users/ID. */
static int gets_of(struct tu_env *env, const char *id)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &reqs, &n), 0);
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%s", id);
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += strcmp(reqs[i].path, path) == 0;
    fake_requests_free(reqs, n);
    return count;
}

static int requests_total(struct tu_env *env)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &reqs, &n), 0);
    fake_requests_free(reqs, n);
    return (int)n;
}

static void fetch(struct tu_engine *te, const char *id, const struct recordfetch_opts *o,
                  struct got *g)
{
    g->in_start = true;
    ck_assert_int_eq(recordfetch_start(te->e, "acme", "users", id, o, on_result, g, NULL), 0);
    g->in_start = false;
}

static char *held_updated_at(struct tu_env *env, const char *id)
{
    return tu_db_text(env, "SELECT updated_at FROM records WHERE resource = 'users' AND id = ?1",
                      id, NULL);
}

START_TEST(changed_record_is_applied_and_handed_back)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, NULL);
    char id[32];
    record_id_at(&env, 4, id);
    char *before = held_updated_at(&env, id);
    ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "users", id), 0);
    fetch(&te, id, NULL, &g);
    ck_assert_int_eq(g.calls, 0);
    ck_assert(tu_run_until(&te, called, &g, 5000));
    ck_assert(!g.called_in_start);
    ck_assert_int_eq(g.status, 200);
    ck_assert_int_eq(g.outcome, RECORDFETCH_APPLIED);
    ck_assert(!g.unreachable && !g.timed_out && !g.cancelled);
    ck_assert_ptr_nonnull(g.body);
    char needle[48];
    snprintf(needle, sizeof(needle), "%s", id);
    ck_assert_ptr_nonnull(strstr(g.body, needle));
    char *after = held_updated_at(&env, id);
    ck_assert_ptr_nonnull(after);
    ck_assert_str_ne(before, after);
    ck_assert_int_eq(gets_of(&env, id), 1);
    ck_assert_int_eq(requests_total(&env), 1);
    /* No checkpoint and no scans row come from a fetch. */
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM scans", NULL), 1);
    free(before);
    free(after);

    /* The same version again: the skip rule holds. */
    g.calls = 0;
    fetch(&te, id, NULL, &g);
    ck_assert(tu_run_until(&te, called, &g, 5000));
    ck_assert_int_eq(g.outcome, RECORDFETCH_SKIPPED);
    ck_assert_int_eq(gets_of(&env, id), 2);
    finish(&env, &te, &g);
}
END_TEST

START_TEST(deleted_record_is_deleted_once_confirmed)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, NULL);
    char id[32];
    record_id_at(&env, 2, id);
    ck_assert_int_eq(fake_delete_id(env.fake, "acme", "users", id), 0);
    fetch(&te, id, NULL, &g);
    ck_assert(tu_run_until(&te, called, &g, 5000));
    ck_assert_int_eq(g.status, 404);
    ck_assert_int_eq(g.outcome, RECORDFETCH_DELETED);
    ck_assert(!g.unreachable);
    /* Confirmed like a reconciliation's read-back: every [retry] attempt. */
    ck_assert_int_eq(gets_of(&env, id), 5);
    ck_assert_int_eq(tu_db_int(&env,
                               "SELECT count(*) FROM records WHERE resource = 'users' AND id = ?1 "
                               "AND deleted_at IS NOT NULL",
                               id, NULL),
                     1);

    /* A record the destination never held: nothing to delete. */
    g.calls = 0;
    fetch(&te, "999999", NULL, &g);
    ck_assert(tu_run_until(&te, called, &g, 5000));
    ck_assert_int_eq(g.status, 404);
    ck_assert_int_eq(g.outcome, RECORDFETCH_GONE);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records WHERE id = '999999'", NULL), 0);
    finish(&env, &te, &g);
}
END_TEST

START_TEST(bad_requests_fail_without_a_callback)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, NULL);
    struct engine *e = te.e;
    ck_assert_int_eq(recordfetch_start(e, "nobody", "users", "1", NULL, on_result, &g, NULL),
                     -ENOENT);
    ck_assert_int_eq(recordfetch_start(e, "acme", "groups", "1", NULL, on_result, &g, NULL),
                     -ENOENT);
    ck_assert_int_eq(recordfetch_start(e, "acme", "things", "1", NULL, on_result, &g, NULL),
                     -ENOENT);
    ck_assert_int_eq(recordfetch_start(e, "acme", "users", "", NULL, on_result, &g, NULL), -EINVAL);
    ck_assert_int_eq(recordfetch_start(e, "acme", "users", "1/../x", NULL, on_result, &g, NULL),
                     -EINVAL);
    tu_run_for(&te, 50);
    ck_assert_int_eq(g.calls, 0);
    ck_assert_int_eq(requests_total(&env), 0);
    finish(&env, &te, &g);
}
END_TEST

START_TEST(open_breaker_sends_nothing)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, "breaker.open_timeout = 1h\n");
    struct breaker *b = &te.e->vomo_breaker;
    for (int i = 0; i < 60 && b->state != BREAKER_OPEN; i++)
        (void)breaker_failure(b, clock_mono_ms());
    ck_assert_int_eq(b->state, BREAKER_OPEN);
    char id[32];
    record_id_at(&env, 1, id);
    fetch(&te, id, NULL, &g);
    ck_assert_int_eq(g.calls, 0);
    ck_assert(tu_run_until(&te, called, &g, 2000));
    ck_assert(!g.called_in_start);
    ck_assert(g.breaker_open && g.unreachable);
    ck_assert_int_eq(g.status, 0);
    ck_assert_int_eq(g.outcome, RECORDFETCH_NONE);
    ck_assert_int_eq(requests_total(&env), 0);
    finish(&env, &te, &g);
}
END_TEST

/* A slow VOMO: the owner hears at its deadline, the read still applies. */
START_TEST(deadline_answers_in_time_and_the_read_goes_on)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, NULL);
    char id[32];
    record_id_at(&env, 6, id);
    ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "users", id), 0);
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%s", id);
    struct fake_fault slow = {.path = path, .kind = FAKE_FAULT_DELAY, .delay_ms = 600};
    ck_assert_int_gt(fake_add_fault(env.fake, &slow), 0);
    char *before = held_updated_at(&env, id);
    int64_t t0 = clock_mono_ms();
    struct recordfetch_opts o = {.timeout_ms = 150};
    fetch(&te, id, &o, &g);
    ck_assert(tu_run_until(&te, called, &g, 2000));
    ck_assert_int_lt(g.at_ms - t0, 450);
    ck_assert(g.timed_out && g.unreachable);
    ck_assert_int_eq(g.outcome, RECORDFETCH_NONE);
    /* Each attempt times out at 150 ms; once VOMO is quick again, a retry
     * applies it. */
    fake_clear_faults(env.fake);
    ck_assert(tu_run_until(&te, none_open, NULL, 5000));
    ck_assert_int_eq(g.calls, 1);
    char *after = held_updated_at(&env, id);
    ck_assert_str_ne(before, after);
    free(before);
    free(after);
    finish(&env, &te, &g);
}
END_TEST

/* first_answer: a 503 is told at once, while the retries go on. */
START_TEST(first_answer_is_told_before_the_retries)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, "retry.base_delay = 300ms\nretry.max_delay = 300ms\n");
    char id[32];
    record_id_at(&env, 3, id);
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%s", id);
    struct fake_fault down = {.path = path, .kind = FAKE_FAULT_STATUS, .status = 503, .count = 1};
    ck_assert_int_gt(fake_add_fault(env.fake, &down), 0);
    struct recordfetch_opts o = {.timeout_ms = 2000, .first_answer = true};
    fetch(&te, id, &o, &g);
    ck_assert(tu_run_until(&te, called, &g, 2000));
    ck_assert_int_eq(g.status, 503);
    /* VOMO answered (a 503) well within the deadline: not a timeout. */
    ck_assert(g.unreachable && !g.timed_out);
    /* Told after the first attempt (the retry's delay has full jitter, so
     * the second GET may already be on its way: count attempts, not GETs). */
    ck_assert_int_eq(g.attempts, 1);
    ck_assert_int_eq(recordfetch_open_count(), 1);
    ck_assert(tu_run_until(&te, none_open, NULL, 5000));
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_ge(gets_of(&env, id), 2);
    finish(&env, &te, &g);
}
END_TEST

START_TEST(cancelled_owner_is_not_called)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, NULL);
    char id[32];
    record_id_at(&env, 5, id);
    ck_assert_int_eq(fake_mutate_id(env.fake, "acme", "users", id), 0);
    char *before = held_updated_at(&env, id);
    struct recordfetch *f = NULL;
    ck_assert_int_eq(recordfetch_start(te.e, "acme", "users", id, NULL, on_result, &g, &f), 0);
    ck_assert_ptr_nonnull(f);
    recordfetch_cancel(f);
    ck_assert(tu_run_until(&te, none_open, NULL, 5000));
    ck_assert_int_eq(g.calls, 0);
    /* What it read is applied all the same. */
    char *after = held_updated_at(&env, id);
    ck_assert_str_ne(before, after);
    free(before);
    free(after);
    finish(&env, &te, &g);
}
END_TEST

/* A daemon stopping while a fetch waits: the owner hears "cancelled". */
START_TEST(stopping_cancels_a_waiting_fetch)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, "daemon.shutdown_timeout = 100ms\n");
    char id[32];
    record_id_at(&env, 7, id);
    char path[64];
    snprintf(path, sizeof(path), "/v1/users/%s", id);
    struct fake_fault slow = {.path = path, .kind = FAKE_FAULT_DELAY, .delay_ms = 3000};
    ck_assert_int_gt(fake_add_fault(env.fake, &slow), 0);
    fetch(&te, id, NULL, &g);
    tu_run_for(&te, 50);
    ck_assert_int_eq(g.calls, 0);
    tu_engine_stop(&te);
    ck_assert_int_eq(g.calls, 1);
    ck_assert(g.cancelled);
    ck_assert_int_eq(recordfetch_open_count(), 0);
    tu_env_cleanup(&env);
    free(g.body);
}
END_TEST

/* A refused token: the 401 is handed back, and then nothing more is sent. */
START_TEST(refused_token_is_told_and_then_nothing_is_sent)
{
    struct tu_env env;
    struct tu_engine te;
    struct got g = {0};
    start(&env, &te, NULL);
    char id[32];
    record_id_at(&env, 1, id);
    ck_assert_int_eq(fake_revoke(env.fake, "acme", true), 0);
    fetch(&te, id, NULL, &g);
    ck_assert(tu_run_until(&te, called, &g, 2000));
    ck_assert_int_eq(g.status, 401);
    ck_assert(g.auth_failed);
    ck_assert_int_eq(g.outcome, RECORDFETCH_NONE);
    ck_assert_int_eq(gets_of(&env, id), 1);
    g.calls = 0;
    fetch(&te, id, NULL, &g);
    ck_assert(tu_run_until(&te, called, &g, 2000));
    ck_assert(!g.called_in_start);
    ck_assert(g.auth_failed);
    ck_assert_int_eq(g.status, 0);
    ck_assert_int_eq(gets_of(&env, id), 1);
    finish(&env, &te, &g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("recordfetch");
    TCase *tc = tcase_create("recordfetch");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, changed_record_is_applied_and_handed_back);
    tcase_add_test(tc, deleted_record_is_deleted_once_confirmed);
    tcase_add_test(tc, bad_requests_fail_without_a_callback);
    tcase_add_test(tc, open_breaker_sends_nothing);
    tcase_add_test(tc, deadline_answers_in_time_and_the_read_goes_on);
    tcase_add_test(tc, first_answer_is_told_before_the_retries);
    tcase_add_test(tc, cancelled_owner_is_not_called);
    tcase_add_test(tc, stopping_cancels_a_waiting_fetch);
    tcase_add_test(tc, refused_token_is_told_and_then_nothing_is_sent);
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
