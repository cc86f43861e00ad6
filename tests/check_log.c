/*
 * check_log.c - the log module: JSON lines with their structured fields,
 * text lines, level filtering, JSON escaping, and redaction of the tokens
 * and secrets cfg_load registers, including an end-to-end check that
 * loading, printing and logging about a configuration never writes a token
 * or secret anywhere.
 */
#include <check.h>
#include <cjson/cJSON.h>
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

#define TOKEN "tok-5f0e8a2b4c6d-VERYSECRET"
#define SECRET "whsec-9a8b7c6d5e4f-QUIET"

static char *out_buf;
static size_t out_len;
static FILE *out;
static char tmpdir[64];

static void setup(void)
{
    out = open_memstream(&out_buf, &out_len);
    ck_assert_ptr_nonnull(out);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vomo-log-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    log_setup(LOG_INFO, LOG_FMT_JSON, NULL);
    log_clear_secrets();
    fclose(out);
    free(out_buf);
    out_buf = NULL;
    tu_rm_tree(tmpdir);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    char *p = xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(p, mode), 0);
    free(p);
}

/* What was logged so far. */
static const char *logged(void)
{
    fflush(out);
    return out_buf ? out_buf : "";
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

START_TEST(test_json_fields)
{
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    struct log_kv kv[] = {LOG_STR("page", "3"), LOG_INT("records", 250)};
    struct log_fields f = {.tenant = "acme",
                           .resource = "users",
                           .record_id = "8205",
                           .trace_id = "00112233445566ff",
                           .error_class = "transient",
                           .http_status = 503,
                           .attempt = 2,
                           .delay_ms = 1500,
                           .kv = kv,
                           .nkv = ARRAY_SIZE(kv)};
    log_emit(LOG_WARN, &f, "fetch failed after %d ms", 42);
    const char *s = logged();
    ck_assert_uint_eq(count_lines(s), 1);
    cJSON *j = cJSON_Parse(s);
    ck_assert_ptr_nonnull(j);
    const char *ts = cJSON_GetStringValue(cJSON_GetObjectItem(j, "ts"));
    ck_assert_ptr_nonnull(ts);
    int64_t ms;
    ck_assert_int_eq(ts_parse(ts, &ms), 0);
    ck_assert_int_eq(strlen(ts), 24);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")), "warn");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")),
                     "fetch failed after 42 ms");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "tenant")), "acme");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "resource")), "users");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "record_id")), "8205");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "trace_id")), "00112233445566ff");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error_class")), "transient");
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "http_status")), 503);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "attempt")), 2);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "delay_ms")), 1500);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "page")), "3");
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "records")), 250);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_json_omits_unset)
{
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    struct log_fields f = {.tenant = "acme", .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_INFO, &f, "scan complete");
    log_info("no fields");
    const char *s = logged();
    ck_assert_uint_eq(count_lines(s), 2);
    cJSON *j = cJSON_Parse(s);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetArraySize(j), 4); /* ts, level, msg, tenant */
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "http_status"));
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "delay_ms"));
    cJSON_Delete(j);
    j = cJSON_Parse(strchr(s, '\n') + 1);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetArraySize(j), 3);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")), "info");
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_json_escaping)
{
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    const char *nasty = "say \"hi\"\nback\\slash\ttab\x01\x1f end";
    struct log_fields f = {.tenant = "a\"b", .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_ERROR, &f, "%s", nasty);
    const char *s = logged();
    ck_assert_uint_eq(count_lines(s), 1); /* the newline inside was escaped */
    ck_assert_ptr_nonnull(strstr(s, "say \\\"hi\\\"\\nback\\\\slash\\ttab\\u0001\\u001f end"));
    cJSON *j = cJSON_Parse(s);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")), nasty);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "tenant")), "a\"b");
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_text_format)
{
    log_setup(LOG_DEBUG, LOG_FMT_TEXT, out);
    struct log_fields f = {
        .tenant = "acme", .resource = "groups", .http_status = 429, .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_WARN, &f, "rate limited");
    const char *s = logged();
    ck_assert_uint_eq(count_lines(s), 1);
    ck_assert_ptr_nonnull(strstr(s, "warn  rate limited tenant=acme resource=groups "
                                    "http_status=429\n"));
    ck_assert_ptr_null(strchr(s, '{'));
    char ts[TS_LEN];
    memcpy(ts, s, TS_LEN - 1);
    ts[TS_LEN - 1] = '\0';
    int64_t ms;
    ck_assert_int_eq(ts_parse(ts, &ms), 0);
}
END_TEST

START_TEST(test_level_filter)
{
    log_setup(LOG_WARN, LOG_FMT_JSON, out);
    ck_assert_int_eq(log_get_level(), LOG_WARN);
    log_debug("hidden debug");
    log_info("hidden info");
    log_warn("shown warn");
    log_error("shown error");
    const char *s = logged();
    ck_assert_uint_eq(count_lines(s), 2);
    ck_assert_ptr_null(strstr(s, "hidden"));
    ck_assert_ptr_nonnull(strstr(s, "shown warn"));
    ck_assert_ptr_nonnull(strstr(s, "shown error"));
}
END_TEST

START_TEST(test_parse_names)
{
    enum log_level l;
    enum log_format f;
    ck_assert_int_eq(log_level_parse("debug", &l), 0);
    ck_assert_int_eq(l, LOG_DEBUG);
    ck_assert_int_eq(log_level_parse("error", &l), 0);
    ck_assert_int_eq(l, LOG_ERROR);
    ck_assert_int_eq(log_level_parse("loud", &l), -EINVAL);
    ck_assert_int_eq(log_format_parse("journal", &f), 0);
    ck_assert_int_eq(f, LOG_FMT_JOURNAL);
    ck_assert_int_eq(log_format_parse("xml", &f), -EINVAL);
    ck_assert_str_eq(log_level_name(LOG_WARN), "warn");
    ck_assert_str_eq(log_format_name(LOG_FMT_TEXT), "text");
}
END_TEST

/* Writes a config with one webhook tenant and loads it (secrets read). */
static struct config *load_tenant_config(struct cfg_errors *errs)
{
    write_file("acme.token", TOKEN "\n", 0644); /* 0644: a warning is printed too */
    write_file("acme.secret", SECRET "\n", 0600);
    write_file("vomo-sync.ini",
               "[tenant.acme]\ntoken_file = acme.token\ndestination = webhook\n"
               "webhook_url = https://hooks.example.org/vomo\n"
               "webhook_secret_file = acme.secret\n",
               0600);
    char *p = xasprintf("%s/vomo-sync.ini", tmpdir);
    struct config *cfg;
    int rc = cfg_load(p, 0, &cfg, errs);
    free(p);
    if (rc != 0)
        cfg_errors_print(errs, stderr);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(cfg->tenants[0].token, TOKEN);
    ck_assert_str_eq(cfg->tenants[0].webhook_secret, SECRET);
    return cfg;
}

START_TEST(test_redacts_loaded_token)
{
    struct cfg_errors errs;
    struct config *cfg = load_tenant_config(&errs);
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    struct log_kv kv[] = {LOG_STR("authorization", "Bearer " TOKEN)};
    struct log_fields f = {.tenant = "acme", .kv = kv, .nkv = 1, .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_ERROR, &f, "request with token %s and secret %s failed", cfg->tenants[0].token,
             cfg->tenants[0].webhook_secret);
    const char *s = logged();
    ck_assert_ptr_null(strstr(s, TOKEN));
    ck_assert_ptr_null(strstr(s, SECRET));
    ck_assert_ptr_nonnull(strstr(s, "request with token [REDACTED] and secret [REDACTED] failed"));
    ck_assert_ptr_nonnull(strstr(s, "\"authorization\":\"Bearer [REDACTED]\""));
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/* Reads back everything written to a temporary file. */
static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    char *s = xmalloc((size_t)n + 1);
    rewind(f);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    return s;
}

/*
 * The whole path an operator sees: load (with warnings), print the
 * effective configuration to stdout, log errors about the tenant in both
 * formats: the token and the secret appear nowhere.
 */
START_TEST(test_secrets_never_written)
{
    struct cfg_errors errs;
    struct config *cfg = load_tenant_config(&errs);
    ck_assert_uint_eq(errs.nwarnings, 1);

    FILE *cap = tmpfile();
    ck_assert_ptr_nonnull(cap);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(cap), STDOUT_FILENO), 0);
    cfg_print(cfg, stdout);
    cfg_errors_print(&errs, stdout);
    fflush(stdout);
    ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
    close(saved);
    fseek(cap, 0, SEEK_END);
    char *printed = slurp(cap);
    fclose(cap);

    FILE *logf = tmpfile();
    ck_assert_ptr_nonnull(logf);
    const struct tenant_cfg *t = cfg_tenant(cfg, "acme");
    for (int fmt = LOG_FMT_JSON; fmt <= LOG_FMT_TEXT; fmt++) {
        log_setup(LOG_DEBUG, (enum log_format)fmt, logf);
        struct log_fields f = {
            .tenant = t->name, .error_class = "auth", .http_status = 401, .delay_ms = LOG_NO_DELAY};
        log_emit(LOG_ERROR, &f, "tenant %s: VOMO refused token %s from %s", t->name, t->token,
                 t->token_file);
        f.error_class = "validation";
        log_emit(LOG_ERROR, &f, "webhook %s rejected signature made with %s", t->webhook_url,
                 t->webhook_secret);
    }
    char *logs = slurp(logf);
    fclose(logf);

    ck_assert_ptr_nonnull(strstr(printed, "[tenant.acme]"));
    ck_assert_ptr_nonnull(strstr(printed, "[REDACTED]"));
    ck_assert_ptr_nonnull(strstr(printed, "chmod 600"));
    ck_assert_ptr_null(strstr(printed, TOKEN));
    ck_assert_ptr_null(strstr(printed, SECRET));
    ck_assert_uint_eq(count_lines(logs), 4);
    ck_assert_ptr_nonnull(strstr(logs, "acme.token"));
    ck_assert_ptr_null(strstr(logs, TOKEN));
    ck_assert_ptr_null(strstr(logs, SECRET));
    free(printed);
    free(logs);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/* The one JSON line logged since the last reset, parsed. */
static cJSON *last_json(void)
{
    const char *s = logged();
    ck_assert_uint_eq(count_lines(s), 1);
    cJSON *j = cJSON_Parse(s);
    ck_assert_msg(j != NULL, "not JSON: %s", s);
    return j;
}

static void reset_out(void)
{
    fclose(out);
    free(out_buf);
    out_buf = NULL;
    out = open_memstream(&out_buf, &out_len);
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
}

static void expect_msg(const char *logged_text, const char *want)
{
    reset_out();
    struct log_kv kv[] = {LOG_STR("detail", logged_text)};
    struct log_fields f = {.tenant = logged_text, .kv = kv, .nkv = 1, .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_ERROR, &f, "%s", logged_text);
    cJSON *j = last_json();
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")), want);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "tenant")), want);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "detail")), want);
    cJSON_Delete(j);
}

/* Issue 10 items 11, 17: secrets with JSON syntax in them, as fuzzing found. */
START_TEST(test_secret_with_json_syntax)
{
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    log_set_secret("/a.token", "ab\"cd-token");
    log_set_secret("/b.token", "back\\slash");
    log_set_secret("/c.secret", "\"msg");
    expect_msg("token ab\"cd-token and back\\slash", "token [REDACTED] and [REDACTED]");
    ck_assert_ptr_null(strstr(logged(), "cd-token"));
    ck_assert_ptr_null(strstr(logged(), "slash"));
    expect_msg("a \"msg here", "a [REDACTED] here");
    ck_assert_ptr_nonnull(strstr(logged(), "\"msg\":\"a [REDACTED] here\""));
}
END_TEST

/* A secret that is part of the marker itself ends (it looped forever). */
START_TEST(test_secret_inside_marker)
{
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    log_set_secret("/a.token", "EDAC");
    log_set_secret("/b.token", "]");
    expect_msg("xEDACy EDACEDAC z]", "x[REDACTED]y [REDACTED][REDACTED] z[REDACTED]");
}
END_TEST

/* Every secret counts, however short, and there is no fixed cap. */
START_TEST(test_short_and_many_secrets)
{
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    log_set_secret("/short.token", "q7");
    log_set_secret("/one.token", "%");
    expect_msg("aq7b 100%", "a[REDACTED]b 100[REDACTED]");
    log_clear_secrets();
    for (int i = 0; i < 200; i++) {
        char src[32], val[32];
        snprintf(src, sizeof(src), "/t%d.token", i);
        snprintf(val, sizeof(val), "tok-%03d-x", i);
        log_set_secret(src, val);
    }
    ck_assert_uint_eq(log_secret_count(), 200);
    expect_msg("first tok-000-x last tok-199-x", "first [REDACTED] last [REDACTED]");
}
END_TEST

/* Rotations replace: the value in force and the previous one are redacted,
 * the set does not grow. */
START_TEST(test_rotation_keeps_set_bounded)
{
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    char val[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(val, sizeof(val), "rotated-%04d", i);
        log_set_secret("/etc/vomo-sync/acme.token", val);
        log_set_secret("/etc/vomo-sync/acme.token", val); /* re-read, unchanged */
    }
    log_set_secret("/etc/vomo-sync/acme.secret", "whsec-1");
    ck_assert_uint_eq(log_secret_count(), 3);
    expect_msg("now rotated-0999 before rotated-0998 key whsec-1",
               "now [REDACTED] before [REDACTED] key [REDACTED]");
    expect_msg("long ago rotated-0001", "long ago rotated-0001");
    log_set_secret("/x", "");
    log_set_secret(NULL, "y");
    ck_assert_uint_eq(log_secret_count(), 3);
}
END_TEST

/* Invalid UTF-8 becomes U+FFFD, so the line is UTF-8 JSON. */
START_TEST(test_invalid_utf8_replaced)
{
    log_setup(LOG_DEBUG, LOG_FMT_JSON, out);
    expect_msg("\xff\xfe ok \xc3\x28 \xe2\x82\xac \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 \xe2\x82",
               "\xEF\xBF\xBD\xEF\xBF\xBD ok \xEF\xBF\xBD( \xe2\x82\xac \xEF\xBF\xBD\xEF\xBF\xBD"
               "\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
               "\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD");
    /* A replacement character cannot be used to spell a secret. */
    log_set_secret("/a.token", "x\xEF\xBF\xBDy");
    expect_msg("x\xffy", "[REDACTED]");
    /* Nor can a secret hide as part of a valid character. */
    log_clear_secrets();
    log_set_secret("/b.token", "\x82\xac");
    expect_msg("\xe2\x82\xac!", "\xEF\xBF\xBD[REDACTED]!");
}
END_TEST

/* The text and journal paths scrub the same way. */
START_TEST(test_text_format_scrubbed)
{
    log_set_secret("/a.token", "ab\"cd");
    log_setup(LOG_DEBUG, LOG_FMT_TEXT, out);
    struct log_fields f = {.tenant = "t-ab\"cd", .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_WARN, &f, "x ab\"cd \xff");
    ck_assert_ptr_nonnull(strstr(logged(), "x [REDACTED] \xEF\xBF\xBD tenant=t-[REDACTED]\n"));
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_json_fields);
    tcase_add_test(tc, test_json_omits_unset);
    tcase_add_test(tc, test_json_escaping);
    tcase_add_test(tc, test_text_format);
    tcase_add_test(tc, test_level_filter);
    tcase_add_test(tc, test_parse_names);
    tcase_add_test(tc, test_redacts_loaded_token);
    tcase_add_test(tc, test_secrets_never_written);
    tcase_add_test(tc, test_secret_with_json_syntax);
    tcase_add_test(tc, test_secret_inside_marker);
    tcase_add_test(tc, test_short_and_many_secrets);
    tcase_add_test(tc, test_rotation_keeps_set_bounded);
    tcase_add_test(tc, test_invalid_utf8_replaced);
    tcase_add_test(tc, test_text_format_scrubbed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
