/*
 * check_rules.c - the Prometheus rules of contrib/prometheus: `promtool
 * check rules` finds nothing wrong in vomo-sync-rules.yml, `promtool test
 * rules` passes vomo-sync-rules.test.yml, every alert the rules define has
 * a case where it fires and one where it must stay silent, and a test that
 * expects the wrong thing fails (so a broken rule fails `make check`).
 * Skipped with a message when promtool (Debian package prometheus, which
 * scripts/setup installs) is absent.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define RULES_DIR SOURCE_ROOT "/contrib/prometheus"
#define RULES RULES_DIR "/vomo-sync-rules.yml"
#define RULE_TESTS RULES_DIR "/vomo-sync-rules.test.yml"

/* The alerts of ARCHITECTURE.md the rules carry (ErrorClassSpike needs the
 * daemon's history of the same hours on previous days: built in only). */
static const char *const alerts[] = {"VomoServerErrors", "TenantFailing", "DlqGrowthAccelerating",
                                     "PollingLag",       "TenantStopped", "ErrorBudgetBurn"};

static char *find_promtool(void)
{
    const char *path = getenv("PATH");
    char *copy = xstrdup(path ? path : "/usr/bin:/bin");
    char *found = NULL;
    for (char *dir = copy, *next; dir && !found; dir = next) {
        next = strchr(dir, ':');
        if (next)
            *next++ = '\0';
        char *p = xasprintf("%s/promtool", *dir ? dir : ".");
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

/* Runs cmd in dir; its exit status, and what it printed in *out (caller
 * frees). */
static int run(const char *dir, const char *cmd, char **out)
{
    char *full = xasprintf("cd '%s' && %s 2>&1", dir, cmd);
    FILE *p = popen(full, "r");
    ck_assert_ptr_nonnull(p);
    struct buf b;
    buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        if (buf_append(&b, chunk, n) < 0)
            break;
    int st = pclose(p);
    free(full);
    *out = b.data ? buf_steal(&b) : xstrdup("");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *promtool_or_skip(const char *what)
{
    char *promtool = find_promtool();
    if (!promtool)
        printf("check_rules: promtool is not installed (Debian package prometheus; scripts/setup "
               "installs it): %s was skipped\n",
               what);
    return promtool;
}

START_TEST(promtool_checks_the_rules)
{
    char *promtool = promtool_or_skip("promtool check rules");
    if (!promtool)
        return;
    char *cmd = xasprintf("%s check rules vomo-sync-rules.yml", promtool), *out;
    int rc = run(RULES_DIR, cmd, &out);
    ck_assert_msg(rc == 0 && strstr(out, "SUCCESS"), "promtool check rules (exit %d):\n%s", rc,
                  out);
    free(out);
    free(cmd);
    free(promtool);
}
END_TEST

START_TEST(promtool_rule_tests_pass)
{
    char *promtool = promtool_or_skip("promtool test rules");
    if (!promtool)
        return;
    char *cmd = xasprintf("%s test rules vomo-sync-rules.test.yml", promtool), *out;
    int rc = run(RULES_DIR, cmd, &out);
    ck_assert_msg(rc == 0 && strstr(out, "SUCCESS"), "promtool test rules (exit %d):\n%s", rc, out);
    free(out);
    free(cmd);
    free(promtool);
}
END_TEST

/* Each alert is defined, and its tests hold a case that expects it to fire
 * and one that expects silence. */
START_TEST(every_alert_fires_and_stays_silent_somewhere)
{
    char *rules, *tests;
    ck_assert_int_eq(read_whole_file(RULES, 1 << 20, &rules, NULL), 0);
    ck_assert_int_eq(read_whole_file(RULE_TESTS, 1 << 20, &tests, NULL), 0);
    for (size_t i = 0; i < ARRAY_SIZE(alerts); i++) {
        char *def = xasprintf("- alert: %s\n", alerts[i]);
        char *fires =
            xasprintf("alertname: %s\n        exp_alerts:\n          - exp_labels:", alerts[i]);
        char *silent = xasprintf("alertname: %s\n        exp_alerts: []\n", alerts[i]);
        ck_assert_msg(strstr(rules, def), "vomo-sync-rules.yml lacks alert %s", alerts[i]);
        ck_assert_msg(strstr(tests, fires), "no test expects %s to fire", alerts[i]);
        ck_assert_msg(strstr(tests, silent), "no test expects %s to stay silent", alerts[i]);
        free(def), free(fires), free(silent);
    }
    free(rules);
    free(tests);
}
END_TEST

/* A test expecting TenantFailing when every tenant fails must fail: the
 * suite notices a rule that is wrong. */
START_TEST(a_wrong_expectation_fails)
{
    char *promtool = promtool_or_skip("the failing-expectation case");
    if (!promtool)
        return;
    char dir[] = "/tmp/vomo-rules-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *tests;
    ck_assert_int_eq(read_whole_file(RULE_TESTS, 1 << 20, &tests, NULL), 0);
    /* The silent "every tenant fails" case, now expecting an alert. */
    const char *from = "      - eval_time: 40m\n        alertname: TenantFailing\n"
                       "        exp_alerts: []\n";
    char *at = strstr(tests, from);
    ck_assert_ptr_nonnull(at);
    char *broken = xasprintf("%.*s      - eval_time: 40m\n        alertname: TenantFailing\n"
                             "        exp_alerts:\n          - exp_labels:\n"
                             "              tenant: acme\n%s",
                             (int)(at - tests), tests, at + strlen(from));
    char *path = xasprintf("%s/broken.test.yml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(broken, f);
    fclose(f);
    char *cmd = xasprintf("cp '%s' '%s/' && %s test rules broken.test.yml", RULES, dir, promtool);
    char *out;
    int rc = run(dir, cmd, &out);
    ck_assert_msg(rc != 0 && strstr(out, "TenantFailing"),
                  "promtool passed a wrong expectation (exit %d):\n%s", rc, out);
    char *rm = xasprintf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(rm), 0);
    free(rm), free(out), free(cmd), free(path), free(broken), free(tests), free(promtool);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("promtool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, promtool_checks_the_rules);
    tcase_add_test(tc, promtool_rule_tests_pass);
    tcase_add_test(tc, every_alert_fires_and_stays_silent_somewhere);
    tcase_add_test(tc, a_wrong_expectation_fails);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
