/*
 * check_config_alerts.c - the [alerts] and [slo] sections of the
 * configuration, loaded from real INI files in a fresh temporary directory
 * per test: the defaults, every key with valid values, every kind of bad
 * value with its file, line and key, and the cross-key rules of
 * config_alerts.c: webhook_url needs webhook_secret_file, the secret is read
 * (relative to the config file), registered with the log for redaction,
 * printed by check-config only as [REDACTED], not read for read-only
 * commands, and a secret file without webhook_url is ignored with a warning.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"
#include "log.h"

#define TOKEN "tok-0123456789abcdef-TOPSECRET"
#define SECRET "whsec-alerts-0123456789-HUSH"
#define TENANT "[tenant.acme]\ntoken_file = acme.token\n"
#define URL "webhook_url = https://alerts.example.org/in\n"

static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vomo-cfga-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    log_clear_secrets();
    tu_rm_tree(tmpdir);
}

static char *tpath(const char *name)
{
    return xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    char *p = tpath(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(chmod(p, mode), 0);
    free(p);
}

/* Writes text as vomo-sync.ini (plus a valid token file) and loads it. */
static int load_text(const char *text, unsigned flags, struct config **cfg, struct cfg_errors *errs)
{
    write_file("acme.token", TOKEN "\n", 0600);
    write_file("vomo-sync.ini", text, 0644);
    char *p = tpath("vomo-sync.ini");
    int rc = cfg_load(p, flags, cfg, errs);
    free(p);
    return rc;
}

static void expect_ok(const char *text, struct config **cfg, struct cfg_errors *errs)
{
    int rc = load_text(text, 0, cfg, errs);
    if (rc != 0)
        cfg_errors_print(errs, stderr);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(*cfg);
}

static char *errors_to_string(const struct cfg_errors *errs)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cfg_errors_print(errs, f);
    fclose(f);
    return out;
}

/*
 * Loads text and expects exactly one error, in vomo-sync.ini at line, for
 * key, its message containing needle; the printed form must read
 * "FILE:LINE: KEY: ..." so a user can find it.
 */
static void expect_error(const char *text, int line, const char *key, const char *needle)
{
    struct config *cfg;
    struct cfg_errors errs;
    int rc = load_text(text, 0, &cfg, &errs);
    if (rc != -EINVAL || errs.count != 1) {
        fprintf(stderr, "--- for:\n%s--- expected %d %s '%s', got rc %d:\n", text, line, key,
                needle, rc);
        cfg_errors_print(&errs, stderr);
    }
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(errs.count, 1);
    const struct cfg_error *e = &errs.items[0];
    char *p = tpath("vomo-sync.ini");
    ck_assert_str_eq(e->file, p);
    ck_assert_int_eq(e->line, line);
    ck_assert_ptr_nonnull(e->key);
    ck_assert_str_eq(e->key, key);
    if (!strstr(e->message, needle))
        fprintf(stderr, "message '%s' lacks '%s'\n", e->message, needle);
    ck_assert_ptr_nonnull(strstr(e->message, needle));
    char *want = xasprintf("%s:%d: %s: ", p, line, key);
    char *out = errors_to_string(&errs);
    ck_assert_ptr_nonnull(strstr(out, want));
    free(out);
    free(want);
    free(p);
    cfg_errors_free(&errs);
}

static char *print_to_string(const struct config *cfg)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cfg_print(cfg, f);
    fclose(f);
    return out;
}

/* How many secrets a load of the tenant alone registers (its token). */
static size_t baseline_secrets(void)
{
    struct config *cfg;
    struct cfg_errors errs;
    log_clear_secrets();
    expect_ok(TENANT, &cfg, &errs);
    size_t n = log_secret_count();
    cfg_free(cfg);
    cfg_errors_free(&errs);
    log_clear_secrets();
    return n;
}

/* No [alerts] or [slo] section: no targets, the documented defaults. */
START_TEST(test_defaults)
{
    struct config *cfg;
    struct cfg_errors errs;
    expect_ok(TENANT, &cfg, &errs);
    ck_assert_uint_eq(errs.nwarnings, 0);
    ck_assert_ptr_null(cfg->alert_webhook_url);
    ck_assert_ptr_null(cfg->alert_webhook_secret_file);
    ck_assert_ptr_null(cfg->alert_webhook_secret);
    ck_assert_ptr_null(cfg->alertmanager_url);
    ck_assert_int_eq(cfg->alerts_interval_ms, 30000);
    ck_assert_double_eq_tol(cfg->slo_target, 0.995, 1e-12);
    ck_assert_int_eq(cfg->slo_window_ms, (int64_t)30 * 24 * 3600 * 1000);
    ck_assert_int_eq(cfg->slo_pause, SLO_PAUSE_OFF);
    ck_assert_int_eq(cfg->slo_min_operations, 100);
    char *out = print_to_string(cfg);
    ck_assert_ptr_nonnull(strstr(out, "\n[slo]\ntarget = 99.5%\n"));
    ck_assert_ptr_nonnull(strstr(out, "pause_on_exhausted = off\n"));
    free(out);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    /* Empty values of the optional targets mean "not configured". */
    expect_ok("[alerts]\nwebhook_url =\nwebhook_secret_file =\nalertmanager_url =\n" TENANT, &cfg,
              &errs);
    ck_assert_uint_eq(errs.nwarnings, 0);
    ck_assert_ptr_null(cfg->alert_webhook_url);
    ck_assert_ptr_null(cfg->alert_webhook_secret_file);
    ck_assert_ptr_null(cfg->alertmanager_url);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/* Every key set to a valid value, at the bounds where there are bounds. */
START_TEST(test_valid_values)
{
    struct config *cfg;
    struct cfg_errors errs;
    expect_ok("[alerts]\nalertmanager_url = http://127.0.0.1:9093/\ninterval = 250ms\n"
              "[slo]\ntarget = 99.9%\nwindow = 7d\npause_on_exhausted = writes\n"
              "min_operations = 1\n" TENANT,
              &cfg, &errs);
    ck_assert_uint_eq(errs.nwarnings, 0);
    ck_assert_str_eq(cfg->alertmanager_url, "http://127.0.0.1:9093/");
    ck_assert_int_eq(cfg->alerts_interval_ms, 250);
    ck_assert_double_eq_tol(cfg->slo_target, 0.999, 1e-12);
    ck_assert_int_eq(cfg->slo_window_ms, (int64_t)7 * 24 * 3600 * 1000);
    ck_assert_int_eq(cfg->slo_pause, SLO_PAUSE_WRITES);
    ck_assert_int_eq(cfg->slo_min_operations, 1);
    char *out = print_to_string(cfg);
    ck_assert_ptr_nonnull(strstr(out, "pause_on_exhausted = writes\n"));
    ck_assert_ptr_nonnull(strstr(out, "alertmanager_url = http://127.0.0.1:9093/\n"));
    free(out);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    /* The other ends of the ranges; the % may be left out. */
    expect_ok("[alerts]\nalertmanager_url = https://am.example.org\ninterval = 1h\n"
              "[slo]\ntarget = 50\nwindow = 1h\npause_on_exhausted = off\n"
              "min_operations = 1000000000\n" TENANT,
              &cfg, &errs);
    ck_assert_int_eq(cfg->alerts_interval_ms, 3600000);
    ck_assert_double_eq_tol(cfg->slo_target, 0.5, 1e-12);
    ck_assert_int_eq(cfg->slo_window_ms, 3600000);
    ck_assert_int_eq(cfg->slo_pause, SLO_PAUSE_OFF);
    ck_assert_int_eq(cfg->slo_min_operations, 1000000000);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    expect_ok("[slo]\ntarget = 99.9999 %\nwindow = 90d\n" TENANT, &cfg, &errs);
    ck_assert_double_eq_tol(cfg->slo_target, 0.999999, 1e-12);
    ck_assert_int_eq(cfg->slo_window_ms, (int64_t)90 * 24 * 3600 * 1000);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/* Each bad value: one error naming file, line and key, saying what is
 * accepted. */
START_TEST(test_bad_values)
{
    expect_error("[alerts]\ninterval = 0\n" TENANT, 2, "alerts.interval", "out of range");
    expect_error("[alerts]\n\ninterval = 2h\n" TENANT, 3, "alerts.interval", "out of range");
    expect_error("[alerts]\ninterval = soon\n" TENANT, 2, "alerts.interval", "'soon'");
    expect_error("[alerts]\ninterval = -5s\n" TENANT, 2, "alerts.interval", "negative");
    expect_error("[alerts]\nalertmanager_url = http://am.example.org:9093\n" TENANT, 2,
                 "alerts.alertmanager_url", "'http://am.example.org:9093'");
    expect_error("[alerts]\nalertmanager_url = ftp://am.example.org\n" TENANT, 2,
                 "alerts.alertmanager_url", "'ftp://am.example.org'");
    expect_error("[alerts]\nwebhook_url = not a url\nwebhook_secret_file = s\n" TENANT, 2,
                 "alerts.webhook_url", "'not a url'");
    expect_error("[alerts]\nsecret = x\n" TENANT, 2, "alerts.secret", "unknown key");

    expect_error("[slo]\ntarget = high\n" TENANT, 2, "slo.target",
                 "'high' is not a percentage; write e.g. 99.5%");
    expect_error("[slo]\ntarget = 99.5%%\n" TENANT, 2, "slo.target", "not a percentage");
    expect_error("[slo]\ntarget = 49.9%\n" TENANT, 2, "slo.target",
                 "out of range; accepted: 50% to 99.9999%");
    expect_error("[slo]\ntarget = 100%\n" TENANT, 2, "slo.target", "out of range");
    expect_error("[slo]\ntarget = nan\n" TENANT, 2, "slo.target", "not a percentage");
    expect_error("[slo]\nwindow = 59m\n" TENANT, 2, "slo.window", "out of range");
    expect_error("[slo]\nwindow = 91d\n" TENANT, 2, "slo.window", "out of range");
    expect_error("[slo]\npause_on_exhausted = yes\n" TENANT, 2, "slo.pause_on_exhausted",
                 "'yes' is not valid; accepted: off, writes");
    expect_error("[slo]\npause_on_exhausted = write\n" TENANT, 2, "slo.pause_on_exhausted",
                 "accepted: off, writes");
    expect_error("[slo]\nmin_operations = 0\n" TENANT, 2, "slo.min_operations", "out of range");
    expect_error("[slo]\nmin_operations = many\n" TENANT, 2, "slo.min_operations", "'many'");
    expect_error("[slo]\nmin_operations = 1000000001\n" TENANT, 2, "slo.min_operations",
                 "out of range");
}
END_TEST

/* Several bad values are all reported, in file order, and nothing loads. */
START_TEST(test_many_errors)
{
    struct config *cfg;
    struct cfg_errors errs;
    ck_assert_int_eq(load_text("[alerts]\ninterval = soon\n[slo]\ntarget = 20%\n"
                               "pause_on_exhausted = maybe\n" TENANT,
                               0, &cfg, &errs),
                     -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(errs.count, 3);
    ck_assert_int_eq(errs.items[0].line, 2);
    ck_assert_str_eq(errs.items[0].key, "alerts.interval");
    ck_assert_int_eq(errs.items[1].line, 4);
    ck_assert_str_eq(errs.items[1].key, "slo.target");
    ck_assert_int_eq(errs.items[2].line, 5);
    ck_assert_str_eq(errs.items[2].key, "slo.pause_on_exhausted");
    cfg_errors_free(&errs);
}
END_TEST

/* webhook_url without webhook_secret_file: an error at the URL's line that
 * says what to add; a secret file that cannot be used: an error at its
 * line saying why. */
START_TEST(test_webhook_needs_secret)
{
    expect_error("[alerts]\n" URL TENANT, 2, "alerts.webhook_secret_file",
                 "missing: webhook_url needs the file holding the HMAC signing secret");
    expect_error("[alerts]\n" URL "webhook_secret_file =\n" TENANT, 2, "alerts.webhook_secret_file",
                 "missing");
    expect_error("[alerts]\n" URL "\nwebhook_secret_file = no.secret\n" TENANT, 4,
                 "alerts.webhook_secret_file", "No such file");
    write_file("empty.secret", "", 0600);
    expect_error("[alerts]\n" URL "webhook_secret_file = empty.secret\n" TENANT, 3,
                 "alerts.webhook_secret_file", "is empty");
    write_file("two.secret", "abc\ndef\n", 0600);
    expect_error("[alerts]\n" URL "webhook_secret_file = two.secret\n" TENANT, 3,
                 "alerts.webhook_secret_file", "line break");
    char *d = tpath("dir.secret");
    ck_assert_int_eq(mkdir(d, 0700), 0);
    free(d);
    expect_error("[alerts]\n" URL "webhook_secret_file = dir.secret\n" TENANT, 3,
                 "alerts.webhook_secret_file", "not a regular file");
    /* The path in the message is the resolved one. */
    char *abs = tpath("no.secret");
    expect_error("[alerts]\n" URL "webhook_secret_file = no.secret\n" TENANT, 3,
                 "alerts.webhook_secret_file", abs);
    free(abs);
}
END_TEST

/* A secret file without webhook_url: a warning at its line, not read (a
 * missing file is no error), nothing registered as a secret. */
START_TEST(test_secret_without_url)
{
    struct config *cfg;
    struct cfg_errors errs;
    size_t base = baseline_secrets();
    expect_ok("[alerts]\n\nwebhook_secret_file = absent.secret\n" TENANT, &cfg, &errs);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_uint_eq(errs.nwarnings, 1);
    char *p = tpath("vomo-sync.ini");
    char *want = xasprintf("%s:3: alerts.webhook_secret_file: ignored: no webhook_url is set", p);
    ck_assert_str_eq(errs.warnings[0], want);
    ck_assert_ptr_null(cfg->alert_webhook_secret);
    ck_assert_ptr_null(cfg->alert_webhook_url);
    ck_assert_uint_eq(log_secret_count(), base);
    free(want);
    free(p);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    /* A wrong webhook_url is its own error, not also this warning. */
    ck_assert_int_eq(load_text("[alerts]\nwebhook_url = gopher://x\n"
                               "webhook_secret_file = absent.secret\n" TENANT,
                               0, &cfg, &errs),
                     -EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_uint_eq(errs.nwarnings, 0);
    cfg_errors_free(&errs);
}
END_TEST

/* With both keys: the secret is read (path relative to the config file),
 * registered with the log so it never appears in a line, printed only as
 * [REDACTED], and the printed configuration loads again to the same. */
START_TEST(test_secret_read_and_redacted)
{
    struct config *cfg;
    struct cfg_errors errs;
    size_t base = baseline_secrets();
    write_file("alerts.secret", "  " SECRET "  \n", 0600);
    expect_ok("[alerts]\n" URL "webhook_secret_file = alerts.secret\n" TENANT, &cfg, &errs);
    ck_assert_uint_eq(errs.nwarnings, 0);
    ck_assert_str_eq(cfg->alert_webhook_url, "https://alerts.example.org/in");
    ck_assert_str_eq(cfg->alert_webhook_secret, SECRET);
    ck_assert_uint_eq(log_secret_count(), base + 1);
    char *abs = tpath("alerts.secret");
    ck_assert_str_eq(cfg->alert_webhook_secret_file, abs);

    char *out = print_to_string(cfg);
    ck_assert_ptr_null(strstr(out, SECRET));
    char *want =
        xasprintf("; alerts webhook secret: [REDACTED] (%zu bytes from %s)\n", strlen(SECRET), abs);
    ck_assert_ptr_nonnull(strstr(out, want));
    free(want);
    write_file("printed.ini", out, 0600);
    char *pp = tpath("printed.ini");
    struct config *again;
    struct cfg_errors errs2;
    ck_assert_int_eq(cfg_load(pp, 0, &again, &errs2), 0);
    ck_assert_str_eq(again->alert_webhook_secret, SECRET);
    ck_assert_str_eq(again->alert_webhook_secret_file, abs);
    cfg_free(again);
    cfg_errors_free(&errs2);
    free(pp);
    free(out);

    /* The log redacts it. */
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *lf = open_memstream(&logbuf, &loglen);
    log_setup(LOG_INFO, LOG_FMT_TEXT, lf);
    log_info("signing with %s", cfg->alert_webhook_secret);
    log_setup(LOG_INFO, LOG_FMT_TEXT, stderr);
    fclose(lf);
    ck_assert_ptr_null(strstr(logbuf, SECRET));
    ck_assert_ptr_nonnull(strstr(logbuf, "[REDACTED]"));
    free(logbuf);
    free(abs);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/* A secret others may read is used, with a warning at its line saying how
 * to fix it. */
START_TEST(test_secret_permissions)
{
    struct config *cfg;
    struct cfg_errors errs;
    write_file("alerts.secret", SECRET "\n", 0644);
    expect_ok("[alerts]\n" URL "webhook_secret_file = alerts.secret\n" TENANT, &cfg, &errs);
    ck_assert_str_eq(cfg->alert_webhook_secret, SECRET);
    ck_assert_uint_eq(errs.nwarnings, 1);
    char *p = tpath("vomo-sync.ini");
    char *want = xasprintf("%s:3: alerts.webhook_secret_file: ", p);
    ck_assert_ptr_eq(strstr(errs.warnings[0], want), errs.warnings[0]);
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], "mode 0644"));
    free(want);
    free(p);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/* Read-only commands (CFG_SKIP_SECRETS) do not read the secret: a missing
 * file is no error there, the rule that webhook_url needs one still is. */
START_TEST(test_skip_secrets)
{
    struct config *cfg;
    struct cfg_errors errs;
    log_clear_secrets();
    ck_assert_int_eq(load_text("[alerts]\n" URL "webhook_secret_file = absent.secret\n" TENANT,
                               CFG_SKIP_SECRETS, &cfg, &errs),
                     0);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_ptr_null(cfg->alert_webhook_secret);
    ck_assert_ptr_nonnull(cfg->alert_webhook_secret_file);
    ck_assert_uint_eq(log_secret_count(), 0); /* not the token either */
    cfg_free(cfg);
    cfg_errors_free(&errs);

    ck_assert_int_eq(load_text("[alerts]\n" URL TENANT, CFG_SKIP_SECRETS, &cfg, &errs), -EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].key, "alerts.webhook_secret_file");
    cfg_errors_free(&errs);
}
END_TEST

static Suite *config_alerts_suite(void)
{
    Suite *s = suite_create("config_alerts");
    TCase *tc = tcase_create("config_alerts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_valid_values);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_many_errors);
    tcase_add_test(tc, test_webhook_needs_secret);
    tcase_add_test(tc, test_secret_without_url);
    tcase_add_test(tc, test_secret_read_and_redacted);
    tcase_add_test(tc, test_secret_permissions);
    tcase_add_test(tc, test_skip_secrets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_alerts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
