/*
 * check_checkpoint.c - `vomo-sync checkpoint reset` while a scan of the same
 * tenant/resource runs.  The scan that ends must not write its checkpoint
 * over the operator's: the reset is run through the real command line
 * while the engine (in this process) is in the middle of a slow scan; the
 * scan then ends, the checkpoint row holds the reset value, the daemon says
 * it dropped its own checkpoint, and the next scan asks VOMO for what
 * changed since the reset value.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "tenant.h"
#include "testutil.h"
#include "util.h"

#define RESET_TO "2021-06-01T00:00:00.000Z"

struct mid_scan {
    struct engine *e;
    int pages;
};

/* The users scan of acme has committed `pages` pages and has more to go. */
static bool scan_midway(void *arg)
{
    struct mid_scan *m = arg;
    struct tenant *t = engine_tenant(m->e, "acme");
    struct scan *s = t ? t->slots[RES_USERS].scan : NULL;
    if (!s)
        return false;
    int done, last;
    int64_t records, started;
    scan_progress(s, &done, &last, &records, &started);
    return done >= m->pages && last > done + 1;
}

struct scans {
    struct engine *e;
    int64_t n;
};

static bool scans_done(void *arg)
{
    struct scans *s = arg;
    return tu_slot_scans(s->e, "acme", "users") >= s->n;
}

/* Runs `vomo-sync checkpoint reset` as an operator would; its stdout. */
static char *run_reset(struct tu_env *env, const char *to, int *status)
{
    char *cmd = xasprintf("'%s' --config '%s' checkpoint reset acme users --to %s 2>&1",
                          VOMO_SYNC_BIN, env->config_path, to);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    struct buf b;
    buf_init(&b, 0);
    char line[512];
    while (fgets(line, sizeof(line), p))
        ck_assert_int_eq(buf_puts(&b, line), 0);
    *status = pclose(p);
    free(cmd);
    return buf_steal(&b);
}

static char *checkpoint_of(struct tu_env *env)
{
    return tu_db_text(env,
                      "SELECT updated_after FROM checkpoints WHERE tenant = 'acme' AND "
                      "resource = 'users'",
                      NULL);
}

/* The updated_after of the first users list request after index `from`. */
static char *first_filter_after(struct tu_env *env)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &reqs, &n), 0);
    char *found = NULL;
    for (size_t i = 0; i < n && !found; i++) {
        if (strcmp(reqs[i].path, "/v1/users") != 0)
            continue;
        const char *q = strstr(reqs[i].query, "updated_after=");
        found = xstrdup(q ? q + strlen("updated_after=") : "(none)");
        found[strcspn(found, "&")] = '\0';
    }
    fake_requests_free(reqs, n);
    return found;
}

START_TEST(reset_during_a_scan_is_not_undone_by_it)
{
    struct tu_env env;
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 60; /* 8 pages, one at a time: a scan takes half a second */
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 120, 1, 1);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "vomo.max_concurrency = 1\npoll.interval = 300ms\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct tu_logcap cap;
    tu_log_capture_start(&cap);

    struct mid_scan m = {te.e, 2};
    ck_assert_msg(tu_run_until(&te, scan_midway, &m, 10000), "no scan in the middle");
    int status = -1;
    char *out = run_reset(&env, RESET_TO, &status);
    ck_assert_msg(status == 0, "checkpoint reset exited %d: %s", status, out);
    ck_assert_msg(strstr(out, "checkpoint acme/users: 1970-01-01T00:00:00.000Z -> " RESET_TO), "%s",
                  out);
    ck_assert_msg(strstr(out, "reset; a running scan will not overwrite it"), "%s", out);
    char *ck = checkpoint_of(&env);
    ck_assert_str_eq(ck, RESET_TO);
    free(ck);

    /* The scan that was running ends, complete, and leaves the reset alone. */
    struct scans s1 = {te.e, 1};
    ck_assert(tu_run_until(&te, scans_done, &s1, 10000));
    ck_assert_int_eq(engine_tenant(te.e, "acme")->slots[RES_USERS].scans_complete, 1);
    ck = checkpoint_of(&env);
    ck_assert_str_eq(ck, RESET_TO);
    free(ck);
    ck_assert_msg(strstr(tu_log_capture_text(&cap), "dropped its checkpoint"),
                  "the daemon did not say it dropped its checkpoint");
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);

    /* The next scan starts from the reset value, and moves on from there. */
    fake_requests_clear(env.fake);
    struct scans s2 = {te.e, 2};
    ck_assert(tu_run_until(&te, scans_done, &s2, 10000));
    char *filter = first_filter_after(&env);
    ck_assert_ptr_nonnull(filter);
    ck_assert_str_eq(filter, RESET_TO);
    free(filter);
    ck = checkpoint_of(&env);
    ck_assert_str_gt(ck, RESET_TO);
    free(ck);
    tu_engine_stop(&te);
    tu_log_capture_end(&cap);
    free(out);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Without a reset, a scan still moves the checkpoint as before. */
START_TEST(scan_without_a_reset_moves_the_checkpoint)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 1, 1);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, NULL, ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct scans s1 = {te.e, 1};
    ck_assert(tu_run_until(&te, scans_done, &s1, 10000));
    tu_engine_stop(&te);
    char *ck = checkpoint_of(&env);
    ck_assert_str_gt(ck, "2000-01-01T00:00:00.000Z");
    free(ck);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("reset");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reset_during_a_scan_is_not_undone_by_it);
    tcase_add_test(tc, scan_without_a_reset_moves_the_checkpoint);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
