/*
 * check_alertlog.c - the log notifier of the built-in alerts: a firing
 * critical alert is an error line, a warning or a resolve a warning line,
 * a replay an info line; every line carries alert, severity, state,
 * alert_id and the alert's fixed message_id (journal fields ALERT=,
 * SEVERITY=, STATE=, ALERT_ID=, MESSAGE_ID=); and a tenant's debug lines
 * pass while its error budget raised them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertlog.h"
#include "log.h"

static char *buf;
static size_t len;
static FILE *out;

static void setup(void)
{
    out = open_memstream(&buf, &len);
    log_setup(LOG_INFO, LOG_FMT_JSON, out);
}

static void teardown(void)
{
    fclose(out);
    free(buf);
}

static const char *text(void)
{
    fflush(out);
    return buf ? buf : "";
}

START_TEST(transitions_are_lines_with_fields)
{
    struct alert_event ev = {.id = 7,
                             .name = "VomoServerErrors",
                             .tenant = "acme",
                             .resource = "",
                             .severity = "critical",
                             .state = "firing",
                             .started_at = 1796000000,
                             .summary = "VOMO answered 9 requests with 5xx"};
    alertlog_notify(NULL, &ev);
    const char *t = text();
    ck_assert_ptr_nonnull(strstr(t, "\"level\":\"error\""));
    ck_assert_ptr_nonnull(strstr(t, "\"alert\":\"VomoServerErrors\""));
    ck_assert_ptr_nonnull(strstr(t, "\"severity\":\"critical\""));
    ck_assert_ptr_nonnull(strstr(t, "\"alert_id\":7"));
    ck_assert_ptr_nonnull(strstr(t, "\"message_id\":\"3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e01\""));
    ck_assert_ptr_null(strstr(t, "\"resource\""));
    ev.state = "resolved";
    alertlog_notify(NULL, &ev);
    ck_assert_ptr_nonnull(strstr(text(), "\"level\":\"warn\""));
    ck_assert_ptr_nonnull(strstr(text(), "alert VomoServerErrors resolved"));
    ev.state = "firing";
    ev.replay = true;
    alertlog_notify(NULL, &ev);
    ck_assert_ptr_nonnull(strstr(text(), "still firing"));
    ck_assert_str_eq(alertlog_message_id("ErrorBudgetBurn"), "3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e07");
    ck_assert_ptr_null(alertlog_message_id("NoSuchAlert"));
}
END_TEST

START_TEST(tenant_debug_boost_is_bounded)
{
    struct log_fields f = {.tenant = "acme", .delay_ms = LOG_NO_DELAY};
    struct log_fields g = {.tenant = "beta", .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_DEBUG, &f, "hidden one");
    log_tenant_debug("acme", clock_wall_ms() + 60000);
    log_emit(LOG_DEBUG, &f, "shown for acme");
    log_emit(LOG_DEBUG, &g, "hidden for beta");
    log_tenant_debug("acme", clock_wall_ms() - 1);
    log_emit(LOG_DEBUG, &f, "hidden again");
    const char *t = text();
    ck_assert_ptr_null(strstr(t, "hidden"));
    ck_assert_ptr_nonnull(strstr(t, "shown for acme"));
    ck_assert(!log_tenant_debugging("acme", clock_wall_ms()));
}
END_TEST

static Suite *alertlog_suite(void)
{
    Suite *s = suite_create("alertlog");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, transitions_are_lines_with_fields);
    tcase_add_test(tc, tenant_debug_boost_is_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alertlog_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
