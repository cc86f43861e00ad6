/*
 * check_config.c - the configuration module: unit parsers, URL rule,
 * defaults, every kind of bad value with its file/line/key, collection of
 * several errors at once, token and secret files, comments, cfg_print
 * (never a secret, and loadable again), the documented example config, and
 * `check-config` run as the real binary.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

#define TOKEN "tok-0123456789abcdef-TOPSECRET"
#define SECRET "whsec-fedcba9876543210-HUSH"
#define TENANT "[tenant.acme]\ntoken_file = acme.token\n"

static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vomo-cfg-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
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

static const struct cfg_error *find_err(const struct cfg_errors *e, int line, const char *key,
                                        const char *needle)
{
    for (size_t i = 0; i < e->count; i++) {
        const struct cfg_error *it = &e->items[i];
        if (it->line == line && (!key || (it->key && strcmp(it->key, key) == 0)) &&
            strstr(it->message, needle))
            return it;
    }
    return NULL;
}

static void dump(const struct cfg_errors *e)
{
    cfg_errors_print(e, stderr);
}

/* Loads text, expects exactly one error at line/key containing needle. */
static void expect_error(const char *text, int line, const char *key, const char *needle)
{
    struct config *cfg;
    struct cfg_errors errs;
    int rc = load_text(text, 0, &cfg, &errs);
    if (rc != -EINVAL || errs.count != 1 || !find_err(&errs, line, key, needle)) {
        fprintf(stderr, "--- for:\n%s--- expected %d %s '%s', got rc %d:\n", text, line,
                key ? key : "-", needle, rc);
        dump(&errs);
    }
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_ptr_nonnull(find_err(&errs, line, key, needle));
    char *p = tpath("vomo-sync.ini");
    ck_assert_str_eq(errs.items[0].file, p);
    free(p);
    cfg_errors_free(&errs);
}

static void expect_ok(const char *text, struct config **cfg, struct cfg_errors *errs)
{
    int rc = load_text(text, 0, cfg, errs);
    if (rc != 0)
        dump(errs);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(*cfg);
}

START_TEST(test_durations)
{
    int64_t v = -1;
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"0", 0},
        {"250ms", 250},
        {"30s", 30000},
        {"15m", 900000},
        {"6h", 21600000},
        {"2d", 172800000},
        {"45", 45000},
        {"  30s \t", 30000},
        {"1m", 60000},
        {"1ms", 1},
        {"0ms", 0},
        {"007s", 7000},
        {"9223372036854775807ms", INT64_MAX},
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        ck_assert_msg(cfg_parse_duration(ok[i].s, &v) == 0, "%s", ok[i].s);
        ck_assert_int_eq(v, ok[i].ms);
    }
    static const char *const bad[] = {"",   "  ", "s",    "5 s",   "-5s", "1.5s", "10x",
                                      "+5", "5S", "5sec", "1h30m", "5 ",  "ms5",  "0x10"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (strcmp(bad[i], "5 ") != 0)
            ck_assert_msg(cfg_parse_duration(bad[i], &v) == -EINVAL, "%s", bad[i]);
    ck_assert_int_eq(cfg_parse_duration("5 ", &v), 0); /* trailing white space is fine */
    ck_assert_int_eq(cfg_parse_duration(NULL, &v), -EINVAL);
    ck_assert_int_eq(cfg_parse_duration("9223372036854775807", &v), -ERANGE);
    ck_assert_int_eq(cfg_parse_duration("99999999999999999999ms", &v), -ERANGE);
    ck_assert_int_eq(cfg_parse_duration("106751991167301d", &v), -ERANGE);
}
END_TEST

START_TEST(test_sizes)
{
    int64_t v = -1;
    ck_assert_int_eq(cfg_parse_size("0", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(cfg_parse_size("512KiB", &v), 0);
    ck_assert_int_eq(v, 512 * 1024);
    ck_assert_int_eq(cfg_parse_size(" 8MiB ", &v), 0);
    ck_assert_int_eq(v, 8 * 1024 * 1024);
    ck_assert_int_eq(cfg_parse_size("1GiB", &v), 0);
    ck_assert_int_eq(v, 1024 * 1024 * 1024);
    ck_assert_int_eq(cfg_parse_size("1000", &v), 0);
    ck_assert_int_eq(v, 1000);
    ck_assert_int_eq(cfg_parse_size("7B", &v), 0);
    ck_assert_int_eq(v, 7);
    static const char *const bad[] = {"8MB", "8KB",   "8k",   "8 MiB", "MiB",
                                      "",    "-1KiB", "8mib", "1.5MiB"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(cfg_parse_size(bad[i], &v) == -EINVAL, "%s", bad[i]);
    ck_assert_int_eq(cfg_parse_size("9999999999GiB", &v), -ERANGE);
}
END_TEST

START_TEST(test_format_units)
{
    char b[CFG_UNIT_LEN];
    static const struct {
        int64_t ms;
        const char *s;
    } d[] = {{900000, "15m"}, {1500, "1500ms"}, {0, "0"},   {86400000, "1d"},
             {90000, "90s"},  {60000, "1m"},    {1, "1ms"}, {21600000, "6h"}};
    for (size_t i = 0; i < ARRAY_SIZE(d); i++) {
        cfg_format_duration(d[i].ms, b);
        ck_assert_str_eq(b, d[i].s);
        int64_t back;
        ck_assert_int_eq(cfg_parse_duration(b, &back), 0);
        ck_assert_int_eq(back, d[i].ms);
    }
    cfg_format_size(8 * 1024 * 1024, b);
    ck_assert_str_eq(b, "8MiB");
    cfg_format_size(1000, b);
    ck_assert_str_eq(b, "1000");
    cfg_format_size(2048, b);
    ck_assert_str_eq(b, "2KiB");
    cfg_format_size(1536, b);
    ck_assert_str_eq(b, "1536");
}
END_TEST

START_TEST(test_urls)
{
    const char *why = NULL;
    static const char *const ok[] = {
        "https://api.vomo.org/v1", "https://h:8443",       "http://127.0.0.1:8080/v1",
        "http://127.5.6.7/",       "http://localhost:1/x", "http://LOCALHOST",
        "http://[::1]:99/",        "HTTPS://api.vomo.org",
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
        ck_assert_msg(cfg_check_url(ok[i], &why) == 0, "%s", ok[i]);
    ck_assert_int_eq(cfg_check_url("http://example.org/v1", &why), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "TLS verification is never turned off"));
    static const char *const bad[] = {
        "http://128.0.0.1/",
        "http://localhost.evil.com/",
        "http://127.0.0.1.evil.com",
        "http://[::2]/",
        "ftp://h/",
        "api.vomo.org",
        "https://",
        "https://u:p@h/",
        "https://h:99999/",
        "https://h:/",
        "https://h x/",
        "https://[::1",
        "http://10.0.0.1",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(cfg_check_url(bad[i], &why) == -EINVAL, "%s", bad[i]);
}
END_TEST

START_TEST(test_resources)
{
    enum resource r;
    ck_assert_str_eq(resource_name(RES_USERS), "users");
    ck_assert_str_eq(resource_name(RES_GROUPS), "groups");
    ck_assert_str_eq(resource_name(RES_PROJECTS), "projects");
    ck_assert_int_eq(resource_parse("groups", &r), 0);
    ck_assert_int_eq(r, RES_GROUPS);
    ck_assert_int_eq(resource_parse("Users", &r), -EINVAL);
    ck_assert_int_eq(resource_parse("", &r), -EINVAL);
}
END_TEST

START_TEST(test_defaults)
{
    struct config *cfg;
    struct cfg_errors errs;
    expect_ok(TENANT, &cfg, &errs);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_uint_eq(errs.nwarnings, 0);
    ck_assert_str_eq(cfg->state_db, "/var/lib/vomo-sync/state.db");
    ck_assert_int_eq(cfg->log_level, LOG_INFO);
    ck_assert_int_eq(cfg->log_format, LOG_FMT_JSON);
    ck_assert_int_eq(cfg->shutdown_timeout_ms, 10000);
    ck_assert_str_eq(cfg->base_url, "https://api.vomo.org/v1");
    ck_assert_int_eq(cfg->request_timeout_ms, 30000);
    ck_assert_int_eq(cfg->connect_timeout_ms, 10000);
    ck_assert_int_eq(cfg->max_concurrency, 4);
    ck_assert_int_eq(cfg->max_response_size, 8 * 1024 * 1024);
    ck_assert_int_eq(cfg->poll_interval_ms, 15 * 60000);
    ck_assert_int_eq(cfg->reconcile_interval_ms, 24 * 3600000LL);
    ck_assert_int_eq(cfg->poll_jitter_ms, 30000);
    ck_assert_int_eq(cfg->safety_margin_ms, 5000);
    ck_assert_int_eq(cfg->scan_passes, 3);
    ck_assert_int_eq(cfg->retry_max_attempts, 5);
    ck_assert_int_eq(cfg->retry_base_delay_ms, 1000);
    ck_assert_int_eq(cfg->retry_max_delay_ms, 60000);
    ck_assert_int_eq(cfg->retry_budget, 100);
    ck_assert_int_eq(cfg->retry_budget_cost, 5);
    ck_assert_int_eq(cfg->retry_budget_refill, 1);
    ck_assert_int_eq(cfg->breaker_failure_threshold, 5);
    ck_assert_int_eq(cfg->breaker_open_timeout_ms, 60000);
    ck_assert_int_eq(cfg->dlq_interval_ms, 60000);
    ck_assert_int_eq(cfg->dlq_max_attempts, 10);
    ck_assert_int_eq(cfg->dlq_base_delay_ms, 60000);
    ck_assert_int_eq(cfg->dlq_max_delay_ms, 6 * 3600000LL);
    ck_assert_int_eq(cfg->dlq_batch_size, 100);
    ck_assert_int_eq(cfg->webhook_timeout_ms, 10000);
    ck_assert_int_eq(cfg->webhook_max_concurrency, 4);
    ck_assert_uint_eq(cfg->ntenants, 1);
    const struct tenant_cfg *t = cfg_tenant(cfg, "acme");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(cfg_tenant(cfg, "other"));
    ck_assert_str_eq(t->name, "acme");
    ck_assert_uint_eq(t->resources,
                      RES_BIT(RES_USERS) | RES_BIT(RES_GROUPS) | RES_BIT(RES_PROJECTS));
    ck_assert_int_eq(t->destination, DEST_SQLITE);
    ck_assert_int_eq(t->checkpoint_mode, CKPT_DLQ);
    ck_assert_ptr_null(t->webhook_url);
    ck_assert_ptr_null(t->webhook_secret);
    ck_assert_str_eq(t->token, TOKEN);
    ck_assert_int_eq(t->line, 1);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_every_key)
{
    struct config *cfg;
    struct cfg_errors errs;
    write_file("b.secret", SECRET, 0600);
    expect_ok("[daemon]\nstate_db = state/s.db\nlog_level = debug\nlog_format = journal\n"
              "shutdown_timeout = 3s\n"
              "[vomo]\nbase_url = http://127.0.0.1:8080/v1/\nrequest_timeout = 250ms\n"
              "connect_timeout = 100ms\nmax_concurrency = 64\nmax_response_size = 1KiB\n"
              "[poll]\ninterval = 20ms\nreconcile_interval = 2d\njitter = 0\n"
              "safety_margin = 0s\nscan_passes = 10\n"
              "[retry]\nmax_attempts = 100\nbase_delay = 1ms\nmax_delay = 1ms\nbudget = 7\n"
              "budget_cost = 7\nbudget_refill = 2\n"
              "[breaker]\nfailure_threshold = 2\nopen_timeout = 5ms\n"
              "[dlq]\ninterval = 10ms\nmax_attempts = 1\nbase_delay = 2ms\nmax_delay = 2ms\n"
              "batch_size = 3\n"
              "[webhook]\ntimeout = 1h\nmax_concurrency = 1\n"
              "[tenant.a-b_C9]\ntoken_file = acme.token\nresources = projects ,users\n"
              "destination = webhook\ncheckpoint_mode = hold\n"
              "webhook_url = https://hooks.example.org/vomo/\nwebhook_secret_file = b.secret\n"
              "[tenant.two]\ntoken_file = acme.token\nresources=groups\n",
              &cfg, &errs);
    char *db = tpath("state/s.db");
    ck_assert_str_eq(cfg->state_db, db);
    free(db);
    ck_assert_int_eq(cfg->log_level, LOG_DEBUG);
    ck_assert_int_eq(cfg->log_format, LOG_FMT_JOURNAL);
    ck_assert_int_eq(cfg->shutdown_timeout_ms, 3000);
    ck_assert_str_eq(cfg->base_url, "http://127.0.0.1:8080/v1");
    ck_assert_int_eq(cfg->request_timeout_ms, 250);
    ck_assert_int_eq(cfg->connect_timeout_ms, 100);
    ck_assert_int_eq(cfg->max_concurrency, 64);
    ck_assert_int_eq(cfg->max_response_size, 1024);
    ck_assert_int_eq(cfg->poll_interval_ms, 20);
    ck_assert_int_eq(cfg->reconcile_interval_ms, 172800000);
    ck_assert_int_eq(cfg->poll_jitter_ms, 0);
    ck_assert_int_eq(cfg->safety_margin_ms, 0);
    ck_assert_int_eq(cfg->scan_passes, 10);
    ck_assert_int_eq(cfg->retry_max_attempts, 100);
    ck_assert_int_eq(cfg->retry_base_delay_ms, 1);
    ck_assert_int_eq(cfg->retry_max_delay_ms, 1);
    ck_assert_int_eq(cfg->retry_budget, 7);
    ck_assert_int_eq(cfg->retry_budget_cost, 7);
    ck_assert_int_eq(cfg->retry_budget_refill, 2);
    ck_assert_int_eq(cfg->breaker_failure_threshold, 2);
    ck_assert_int_eq(cfg->breaker_open_timeout_ms, 5);
    ck_assert_int_eq(cfg->dlq_interval_ms, 10);
    ck_assert_int_eq(cfg->dlq_max_attempts, 1);
    ck_assert_int_eq(cfg->dlq_base_delay_ms, 2);
    ck_assert_int_eq(cfg->dlq_max_delay_ms, 2);
    ck_assert_int_eq(cfg->dlq_batch_size, 3);
    ck_assert_int_eq(cfg->webhook_timeout_ms, 3600000);
    ck_assert_int_eq(cfg->webhook_max_concurrency, 1);
    ck_assert_uint_eq(cfg->ntenants, 2);
    const struct tenant_cfg *t = &cfg->tenants[0];
    ck_assert_str_eq(t->name, "a-b_C9");
    ck_assert_uint_eq(t->resources, RES_BIT(RES_USERS) | RES_BIT(RES_PROJECTS));
    ck_assert_int_eq(t->destination, DEST_WEBHOOK);
    ck_assert_int_eq(t->checkpoint_mode, CKPT_HOLD);
    ck_assert_str_eq(t->webhook_url, "https://hooks.example.org/vomo/");
    ck_assert_str_eq(t->webhook_secret, SECRET);
    ck_assert_int_eq(t->line, 37);
    ck_assert_uint_eq(cfg->tenants[1].resources, RES_BIT(RES_GROUPS));
    ck_assert_str_eq(cfg->tenants[1].token, TOKEN);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/* One bad value per key family: the error names line 2 and the key. */
START_TEST(test_bad_values)
{
    static const struct {
        const char *text, *key, *needle;
    } cases[] = {
        {"[daemon]\nlog_level = loud\n", "daemon.log_level", "debug, info, warn, error"},
        {"[daemon]\nlog_format = xml\n", "daemon.log_format", "json, text, journal"},
        {"[daemon]\nstate_db =\n", "daemon.state_db", "empty value"},
        {"[daemon]\nshutdown_timeout = 0\n", "daemon.shutdown_timeout", "1ms..10m"},
        {"[vomo]\nbase_url = http://example.org\n", "vomo.base_url", "never turned off"},
        {"[vomo]\nbase_url = api.vomo.org\n", "vomo.base_url", "https://"},
        {"[vomo]\nrequest_timeout = 5 s\n", "vomo.request_timeout", "ms, s, m, h or d"},
        {"[vomo]\nrequest_timeout = 2h\n", "vomo.request_timeout",
         "out of range; accepted: 1ms..1h"},
        {"[vomo]\nrequest_timeout = 0ms\n", "vomo.request_timeout", "out of range"},
        {"[vomo]\nconnect_timeout = -1s\n", "vomo.connect_timeout", "negative"},
        {"[vomo]\nmax_concurrency = 0\n", "vomo.max_concurrency", "1..64"},
        {"[vomo]\nmax_concurrency = 65\n", "vomo.max_concurrency", "1..64"},
        {"[vomo]\nmax_concurrency = four\n", "vomo.max_concurrency", "whole number"},
        {"[vomo]\nmax_concurrency = 4.5\n", "vomo.max_concurrency", "whole number"},
        {"[vomo]\nmax_response_size = 8MB\n", "vomo.max_response_size", "KiB, MiB or GiB"},
        {"[vomo]\nmax_response_size = 512\n", "vomo.max_response_size", "1KiB..1GiB"},
        {"[vomo]\nmax_response_size = 2GiB\n", "vomo.max_response_size", "1KiB..1GiB"},
        {"[poll]\ninterval = 0\n", "poll.interval", "1ms"},
        {"[poll]\ninterval = 99999999999999999999d\n", "poll.interval", "out of range"},
        {"[poll]\nreconcile_interval = soon\n", "poll.reconcile_interval", "not valid"},
        {"[poll]\nscan_passes = 0\n", "poll.scan_passes", "1..10"},
        {"[retry]\nmax_attempts = 0\n", "retry.max_attempts", "1..100"},
        {"[retry]\nmax_attempts = 101\n", "retry.max_attempts", "1..100"},
        {"[retry]\nbudget_refill = 0\n", "retry.budget_refill", "out of range"},
        {"[breaker]\nfailure_threshold = 99999999999999999999\n", "breaker.failure_threshold",
         "out of range"},
        {"[breaker]\nopen_timeout = 1x\n", "breaker.open_timeout", "not valid"},
        {"[dlq]\nmax_attempts = 1000\n", "dlq.max_attempts", "1..100"},
        {"[dlq]\nbatch_size = 0\n", "dlq.batch_size", "1..10000"},
        {"[webhook]\ntimeout = 2h\n", "webhook.timeout", "1ms..1h"},
        {"[webhook]\nmax_concurrency = 100\n", "webhook.max_concurrency", "1..64"},
        {"[retry]\nbase_delay = 2m\n", "retry.base_delay", "must not exceed"},
        {"[retry]\nbudget_cost = 101\n", "retry.budget_cost", "must not exceed"},
        {"[dlq]\nbase_delay = 7h\n", "dlq.base_delay", "must not exceed"},
        {"[daemon]\nbogus = 1\n", "daemon.bogus", "accepts: state_db, log_level"},
        {"[daemon]\nLog_Level = info\n", "daemon.Log_Level", "unknown key"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *text = xasprintf("%s" TENANT, cases[i].text);
        expect_error(text, 2, cases[i].key, cases[i].needle);
        free(text);
    }
}
END_TEST

START_TEST(test_bad_tenant_values)
{
    static const struct {
        const char *text, *key, *needle;
    } cases[] = {
        {"destination = s3\n", "tenant.acme.destination", "sqlite, webhook"},
        {"checkpoint_mode = later\n", "tenant.acme.checkpoint_mode", "dlq, hold"},
        {"resources = users, events\n", "tenant.acme.resources", "unknown resource 'events'"},
        {"resources = users, users\n", "tenant.acme.resources", "listed twice"},
        {"resources = users,,groups\n", "tenant.acme.resources", "empty item"},
        {"resources =\n", "tenant.acme.resources", "empty value"},
        {"webhook_url = http://hooks.example.org/\n", "tenant.acme.webhook_url",
         "never turned off"},
        {"token = abc\n", "tenant.acme.token", "accepts: token_file"},
        {"token_file = acme.token\n", "tenant.acme.token_file", "already set at line 2"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *text = xasprintf(TENANT "%s", cases[i].text);
        expect_error(text, 3, cases[i].key, cases[i].needle);
        free(text);
    }
}
END_TEST

START_TEST(test_structure_errors)
{
    expect_error("[daemon]\nlog_level = info\nlog_level = debug\n" TENANT, 3, "daemon.log_level",
                 "already set at line 2");
    expect_error("[wat]\nx = 1\n" TENANT, 1, NULL, "unknown section [wat]");
    expect_error("[tenant]\nx = 1\n" TENANT, 1, NULL, "unknown section [tenant]");
    expect_error("log_level = info\n" TENANT, 1, "log_level", "outside of any section");
    expect_error("[daemon]\nlog_level info\n" TENANT, 2, NULL, "expected `key = value`");
    expect_error("[daemon]\nlog_level: info\n" TENANT, 2, NULL, "not key: value");
    expect_error("[daemon]\n= info\n" TENANT, 2, NULL, "missing key name");
    expect_error("[daemon\n" TENANT, 1, NULL, "closing ']'");
    expect_error("[tenant.bad name]\n" TENANT, 1, NULL, "invalid tenant name 'bad name'");
    expect_error("[tenant.]\n" TENANT, 1, NULL, "invalid tenant name ''");
    expect_error("[tenant.a.b]\n" TENANT, 1, NULL, "invalid tenant name 'a.b'");
    expect_error("[tenant."
                 "x123456789x123456789x123456789x123456789x123456789x123456789xxxxx]\n" TENANT,
                 1, NULL, "invalid tenant name");
    expect_error(TENANT "[tenant.acme]\nresources = users\n", 3, NULL, "repeats the one at line 1");
    expect_error("[tenant.b]\nresources = users\n" TENANT, 1, "tenant.b.token_file", "missing");
    /* A 64-character name is fine. */
    struct config *cfg;
    struct cfg_errors errs;
    expect_ok("[tenant.x123456789x123456789x123456789x123456789x123456789x123456789xxxx]\n"
              "token_file = acme.token\n",
              &cfg, &errs);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_no_tenant)
{
    struct config *cfg;
    struct cfg_errors errs;
    ck_assert_int_eq(load_text("[daemon]\nlog_level = info\n", 0, &cfg, &errs), -EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_int_eq(errs.items[0].line, 0);
    ck_assert_ptr_nonnull(strstr(errs.items[0].message, "[tenant.NAME]"));
    ck_assert_ptr_nonnull(strstr(errs.items[0].file, "vomo-sync.ini"));
    cfg_errors_free(&errs);
    /* An empty file gives the same answer. */
    ck_assert_int_eq(load_text("", 0, &cfg, &errs), -EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_missing_file)
{
    struct config *cfg = (struct config *)1;
    struct cfg_errors errs;
    char *p = tpath("nope.ini");
    ck_assert_int_eq(cfg_load(p, 0, &cfg, &errs), -ENOENT);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].file, p);
    ck_assert_ptr_nonnull(strstr(errs.items[0].message, "cannot read"));
    free(p);
    cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_many_errors)
{
    struct config *cfg;
    struct cfg_errors errs;
    int rc = load_text("[daemon]\n"                        /* 1 */
                       "log_level = loud\n"                /* 2 */
                       "; a comment\n"                     /* 3 */
                       "[vomo]\n"                          /* 4 */
                       "base_url = http://vomo.example/\n" /* 5 */
                       "max_response_size = 8MB\n"         /* 6 */
                       "\n"                                /* 7 */
                       "[poll]\n"                          /* 8 */
                       "interval = 5 m\n"                  /* 9 */
                       "nonsense\n"                        /* 10 */
                       "[tenant.acme]\n"                   /* 11 */
                       "token_file = missing.token\n"      /* 12 */
                       "destination = webhook\n"           /* 13 */
                       "[dlq]\n"                           /* 14 */
                       "max_attempts = 0\n"                /* 15 */
                       "max_attempts = 3\n",               /* 16 */
                       0, &cfg, &errs);
    ck_assert_int_eq(rc, -EINVAL);
    static const struct {
        int line;
        const char *key;
    } want[] = {
        {2, "daemon.log_level"},
        {5, "vomo.base_url"},
        {6, "vomo.max_response_size"},
        {9, "poll.interval"},
        {10, NULL},
        {12, "tenant.acme.token_file"},
        {13, "tenant.acme.webhook_url"},
        {13, "tenant.acme.webhook_secret_file"},
        {15, "dlq.max_attempts"},
        {16, "dlq.max_attempts"},
    };
    if (errs.count != ARRAY_SIZE(want))
        dump(&errs);
    ck_assert_uint_eq(errs.count, ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        ck_assert_int_eq(errs.items[i].line, want[i].line);
        if (want[i].key)
            ck_assert_str_eq(errs.items[i].key, want[i].key);
        else
            ck_assert_ptr_null(errs.items[i].key);
    }
    /* The printed form is FILE:LINE: KEY: MESSAGE. */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    cfg_errors_print(&errs, f);
    fclose(f);
    char *want_line = xasprintf("%s/vomo-sync.ini:6: vomo.max_response_size: '8MB'", tmpdir);
    ck_assert_ptr_nonnull(strstr(out, want_line));
    free(want_line);
    free(out);
    cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_comments)
{
    struct config *cfg;
    struct cfg_errors errs;
    expect_ok("; a full-line comment\n"
              "# another one\n"
              "[daemon] ; section comment\n"
              "log_level = debug ; inline semicolon\n"
              "log_format = text # inline hash\n"
              "state_db = /srv/a#b;c.db\n"
              "\t  shutdown_timeout = 2s\t# indented key\n"
              "[vomo]\n"
              "base_url = https://api.vomo.org/v1#frag # fragment kept\n"
              "[poll]\r\n"
              "interval = 5m\r\n" TENANT,
              &cfg, &errs);
    ck_assert_int_eq(cfg->log_level, LOG_DEBUG);
    ck_assert_int_eq(cfg->log_format, LOG_FMT_TEXT);
    ck_assert_str_eq(cfg->state_db, "/srv/a#b;c.db");
    ck_assert_int_eq(cfg->shutdown_timeout_ms, 2000);
    ck_assert_str_eq(cfg->base_url, "https://api.vomo.org/v1#frag");
    ck_assert_int_eq(cfg->poll_interval_ms, 300000);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_long_line)
{
    char *text = xasprintf("[daemon]\nstate_db = /%0300d\n" TENANT, 0);
    expect_error(text, 2, NULL, "longer than");
    free(text);
}
END_TEST

START_TEST(test_token_files)
{
    struct config *cfg;
    struct cfg_errors errs;
    char *sub = tpath("keys");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    free(sub);
    write_file("keys/t", "\n  " TOKEN " \r\n\n", 0600);
    expect_ok("[tenant.acme]\ntoken_file = keys/t\n", &cfg, &errs);
    char *want = tpath("keys/t");
    ck_assert_str_eq(cfg->tenants[0].token_file, want);
    ck_assert_str_eq(cfg->tenants[0].token, TOKEN);
    ck_assert_uint_eq(errs.nwarnings, 0);
    cfg_free(cfg);
    cfg_errors_free(&errs);
    /* An absolute path works as well. */
    char *text = xasprintf("[tenant.acme]\ntoken_file = %s\n", want);
    expect_ok(text, &cfg, &errs);
    ck_assert_str_eq(cfg->tenants[0].token, TOKEN);
    cfg_free(cfg);
    cfg_errors_free(&errs);
    free(text);
    free(want);

    expect_error("[tenant.acme]\ntoken_file = none.token\n", 2, "tenant.acme.token_file",
                 "No such file");
    write_file("empty.token", " \n\t\n", 0600);
    expect_error("[tenant.acme]\ntoken_file = empty.token\n", 2, "tenant.acme.token_file",
                 "is empty");
    write_file("two.token", "abcdefgh\nijklmnop\n", 0600);
    expect_error("[tenant.acme]\ntoken_file = two.token\n", 2, "tenant.acme.token_file",
                 "line break");
    write_file("locked.token", TOKEN, 0000);
    if (geteuid() != 0)
        expect_error("[tenant.acme]\ntoken_file = locked.token\n", 2, "tenant.acme.token_file",
                     "Permission denied");
    expect_error("[tenant.acme]\ntoken_file = keys\n", 2, "tenant.acme.token_file",
                 "not a regular file");
    char *big = xmalloc(70 * 1024 + 1);
    memset(big, 'x', 70 * 1024);
    big[70 * 1024] = '\0';
    write_file("big.token", big, 0600);
    free(big);
    expect_error("[tenant.acme]\ntoken_file = big.token\n", 2, "tenant.acme.token_file",
                 "larger than 64 KiB");
}
END_TEST

START_TEST(test_skip_secrets)
{
    struct config *cfg;
    struct cfg_errors errs;
    ck_assert_int_eq(
        load_text("[tenant.acme]\ntoken_file = none.token\n", CFG_SKIP_SECRETS, &cfg, &errs), 0);
    ck_assert_ptr_null(cfg->tenants[0].token);
    char *p = tpath("none.token");
    ck_assert_str_eq(cfg->tenants[0].token_file, p);
    free(p);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_permission_warning)
{
    struct config *cfg;
    struct cfg_errors errs;
    write_file("open.token", TOKEN, 0644);
    expect_ok("[tenant.acme]\ntoken_file = open.token\n", &cfg, &errs);
    ck_assert_str_eq(cfg->tenants[0].token, TOKEN);
    ck_assert_uint_eq(errs.nwarnings, 1);
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], "chmod 600"));
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], ":2: tenant.acme.token_file:"));
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], "0644"));
    ck_assert_ptr_null(strstr(errs.warnings[0], TOKEN));
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_webhook)
{
    struct config *cfg;
    struct cfg_errors errs;
    int rc = load_text(TENANT "destination = webhook\n", 0, &cfg, &errs);
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_uint_eq(errs.count, 2);
    ck_assert_ptr_nonnull(find_err(&errs, 3, "tenant.acme.webhook_url", "missing"));
    ck_assert_ptr_nonnull(find_err(&errs, 3, "tenant.acme.webhook_secret_file", "missing"));
    cfg_errors_free(&errs);

    expect_error(TENANT "destination = webhook\nwebhook_url = https://h/\n", 3,
                 "tenant.acme.webhook_secret_file", "missing");
    expect_error(TENANT "destination = webhook\nwebhook_url = https://h/\n"
                        "webhook_secret_file = no.secret\n",
                 5, "tenant.acme.webhook_secret_file", "No such file");

    /* With destination = sqlite the webhook keys are only a warning. */
    expect_ok(TENANT "webhook_url = https://h/\nwebhook_secret_file = no.secret\n", &cfg, &errs);
    ck_assert_uint_eq(errs.nwarnings, 2);
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], "tenant.acme.webhook_url: ignored"));
    ck_assert_ptr_null(cfg->tenants[0].webhook_secret);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    write_file("acme.secret", SECRET "\n", 0600);
    expect_ok(TENANT "destination = webhook\nwebhook_url = http://localhost:9/hook\n"
                     "webhook_secret_file = acme.secret\n",
              &cfg, &errs);
    ck_assert_str_eq(cfg->tenants[0].webhook_secret, SECRET);
    ck_assert_str_eq(cfg->tenants[0].webhook_url, "http://localhost:9/hook");
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/*
 * Issue 10 item 9: a lowered request_timeout alone is a valid configuration:
 * the default connect timeout follows it (min of 10s and it), and an
 * explicit larger connect_timeout is a warning, bounded by the request
 * timeout.
 */
START_TEST(test_connect_timeout_follows_request_timeout)
{
    struct config *cfg;
    struct cfg_errors errs;
    expect_ok("[vomo]\nrequest_timeout = 5s\n" TENANT, &cfg, &errs);
    ck_assert_uint_eq(errs.nwarnings, 0);
    ck_assert_int_eq(cfg->request_timeout_ms, 5000);
    ck_assert_int_eq(cfg->connect_timeout_ms, 5000);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    expect_ok("[vomo]\nrequest_timeout = 2m\n" TENANT, &cfg, &errs);
    ck_assert_int_eq(cfg->connect_timeout_ms, 10000);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    expect_ok("[vomo]\nrequest_timeout = 5s\nconnect_timeout = 40s\n" TENANT, &cfg, &errs);
    ck_assert_uint_eq(errs.nwarnings, 1);
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], ":3: vomo.connect_timeout: "));
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], "request_timeout"));
    ck_assert_int_eq(cfg->connect_timeout_ms, 5000);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    /* The documented example with only request_timeout lowered loads. */
    char *text;
    ck_assert_int_eq(read_whole_file(SOURCE_ROOT "/config/vomo-sync.ini", 1 << 20, &text, NULL), 0);
    char *at = strstr(text, "\nrequest_timeout = 30s\n");
    ck_assert_ptr_nonnull(at);
    char *lowered = xasprintf("%.*s\nrequest_timeout = 5s\n%s", (int)(at - text), text,
                              at + strlen("\nrequest_timeout = 30s\n"));
    int rc = load_text(lowered, CFG_SKIP_SECRETS, &cfg, &errs);
    if (rc != 0)
        dump(&errs);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(cfg->request_timeout_ms, 5000);
    ck_assert_int_eq(cfg->connect_timeout_ms, 5000);
    cfg_free(cfg);
    cfg_errors_free(&errs);
    free(lowered);
    free(text);
}
END_TEST

/* Issue 10 item 10: the default jitter is 10% of the interval, at most 30s;
 * an explicit jitter wins. */
START_TEST(test_jitter_scales_with_interval)
{
    static const struct {
        const char *text;
        int64_t jitter;
    } cases[] = {
        {"", 30000},
        {"[poll]\ninterval = 1s\n", 100},
        {"[poll]\ninterval = 1m\n", 6000},
        {"[poll]\ninterval = 5m\n", 30000},
        {"[poll]\ninterval = 5ms\n", 0},
        {"[poll]\ninterval = 1s\njitter = 2s\n", 2000},
        {"[poll]\njitter = 0\ninterval = 1h\n", 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct config *cfg;
        struct cfg_errors errs;
        char *text = xasprintf("%s" TENANT, cases[i].text);
        expect_ok(text, &cfg, &errs);
        ck_assert_msg(cfg->poll_jitter_ms == cases[i].jitter, "%s: jitter %lld, want %lld",
                      cases[i].text, (long long)cfg->poll_jitter_ms, (long long)cases[i].jitter);
        cfg_free(cfg);
        cfg_errors_free(&errs);
        free(text);
    }
}
END_TEST

static char *print_to_string(const struct config *cfg)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cfg_print(cfg, f);
    fclose(f);
    return out;
}

START_TEST(test_print)
{
    struct config *cfg;
    struct cfg_errors errs;
    write_file("acme.secret", SECRET, 0600);
    expect_ok("[vomo]\nbase_url = https://api.example.org/v2/\n[poll]\ninterval = 1500ms\n" TENANT
              "resources = groups, users\ndestination = webhook\n"
              "webhook_url = https://hooks.example.org/x\nwebhook_secret_file = acme.secret\n",
              &cfg, &errs);
    char *out = print_to_string(cfg);
    ck_assert_ptr_null(strstr(out, TOKEN));
    ck_assert_ptr_null(strstr(out, SECRET));
    ck_assert_ptr_nonnull(strstr(out, "; token: [REDACTED] (30 bytes from "));
    ck_assert_ptr_nonnull(strstr(out, "; webhook secret: [REDACTED] (27 bytes from "));
    ck_assert_ptr_nonnull(strstr(out, "\n[daemon]\nstate_db = /var/lib/vomo-sync/state.db\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nbase_url = https://api.example.org/v2\n"));
    ck_assert_ptr_nonnull(strstr(out, "\ninterval = 1500ms\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nmax_response_size = 8MiB\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nmax_delay = 6h\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nresources = users, groups\n"));
    ck_assert_ptr_nonnull(strstr(out, "\ndestination = webhook\n"));

    /* The printed configuration loads again to the same configuration. */
    write_file("printed.ini", out, 0600);
    struct config *again;
    struct cfg_errors errs2;
    char *p = tpath("printed.ini");
    ck_assert_int_eq(cfg_load(p, 0, &again, &errs2), 0);
    char *out2 = print_to_string(again);
    ck_assert_str_eq(strchr(out2, '\n'), strchr(out, '\n')); /* all but the header line */
    free(p);
    free(out2);
    cfg_free(again);
    cfg_errors_free(&errs2);
    free(out);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/*
 * [alerts]: the optional targets.  Empty means not configured; webhook_url
 * needs webhook_secret_file, whose contents are read, never printed, and
 * the printed configuration loads again; a plain-http non-loopback target
 * is refused like every other URL.
 */
START_TEST(test_alert_targets)
{
    struct config *cfg;
    struct cfg_errors errs;
    expect_ok("[alerts]\nwebhook_url =\nalertmanager_url =\n" TENANT, &cfg, &errs);
    ck_assert_ptr_null(cfg->alert_webhook_url);
    ck_assert_ptr_null(cfg->alertmanager_url);
    ck_assert_uint_eq(errs.nwarnings, 0);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    expect_error("[alerts]\nwebhook_url = https://alerts.example.org/in\n" TENANT, 2,
                 "alerts.webhook_secret_file", "missing");
    expect_error("[alerts]\nwebhook_url = https://alerts.example.org/in\n"
                 "webhook_secret_file = no.secret\n" TENANT,
                 3, "alerts.webhook_secret_file", "No such file");
    expect_error("[alerts]\nalertmanager_url = http://am.example.org:9093\n" TENANT, 2,
                 "alerts.alertmanager_url", "");
    expect_error("[alerts]\ninterval_x = 1s\n" TENANT, 2, "alerts.interval_x", "unknown key");

    expect_ok("[alerts]\nwebhook_secret_file = alerts.secret\n" TENANT, &cfg, &errs);
    ck_assert_uint_eq(errs.nwarnings, 1);
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], "alerts.webhook_secret_file: ignored"));
    cfg_free(cfg);
    cfg_errors_free(&errs);

    write_file("alerts.secret", SECRET "\n", 0600);
    expect_ok(
        "[alerts]\nwebhook_url = https://alerts.example.org/in\n"
        "webhook_secret_file = alerts.secret\nalertmanager_url = http://127.0.0.1:9093/\n" TENANT,
        &cfg, &errs);
    ck_assert_str_eq(cfg->alert_webhook_url, "https://alerts.example.org/in");
    ck_assert_str_eq(cfg->alert_webhook_secret, SECRET);
    ck_assert_str_eq(cfg->alertmanager_url, "http://127.0.0.1:9093/");
    ck_assert_int_eq(cfg->alert_webhook_secret_file[0], '/');
    char *out = print_to_string(cfg);
    ck_assert_ptr_null(strstr(out, SECRET));
    ck_assert_ptr_nonnull(strstr(out, "\n[alerts]\nwebhook_url = https://alerts.example.org/in\n"));
    ck_assert_ptr_nonnull(strstr(out, "; alerts webhook secret: [REDACTED] (27 bytes from "));
    write_file("printed.ini", out, 0600);
    struct config *again;
    struct cfg_errors errs2;
    char *p = tpath("printed.ini");
    ck_assert_int_eq(cfg_load(p, 0, &again, &errs2), 0);
    ck_assert_str_eq(again->alert_webhook_secret, SECRET);
    char *out2 = print_to_string(again);
    ck_assert_str_eq(strchr(out2, '\n'), strchr(out, '\n'));
    free(out2);
    free(p);
    cfg_free(again);
    cfg_errors_free(&errs2);
    free(out);
    cfg_free(cfg);
    cfg_errors_free(&errs);

    /* Read-only commands do not read the secret. */
    ck_assert_int_eq(load_text("[alerts]\nwebhook_url = https://a.example.org/\n"
                               "webhook_secret_file = alerts.secret\n" TENANT,
                               CFG_SKIP_SECRETS, &cfg, &errs),
                     0);
    ck_assert_ptr_null(cfg->alert_webhook_secret);
    cfg_free(cfg);
    cfg_errors_free(&errs);
}
END_TEST

/* [http] for the read API: defaults; a non-loopback listen needs
 * api_token_file (an error naming the key otherwise); the token is read,
 * registered as a secret and redacted by check-config; bad values. */
START_TEST(test_http_api_keys)
{
    struct config *cfg;
    struct cfg_errors errs;
    expect_ok(TENANT, &cfg, &errs);
    ck_assert_int_eq(cfg->http_live_timeout_ms, 2000);
    ck_assert_int_eq(cfg->http_max_stale_ms, 7LL * 24 * 3600 * 1000);
    ck_assert_ptr_null(cfg->http_api_token_file);
    ck_assert_ptr_null(cfg->http_api_token);
    cfg_free(cfg);
    cfg_errors_free(&errs);
    expect_error("[http]\nlisten = 0.0.0.0:9464\n" TENANT, 2, "http.listen", "api_token_file");
    expect_error("[http]\nlisten = [::]:9464\n" TENANT, 2, "http.listen", "api_token_file");
    write_file("api.token", "api-" TOKEN "\n", 0600);
    expect_ok("[http]\nlisten = 0.0.0.0:9464\napi_token_file = api.token\nlive_timeout = "
              "250ms\nmax_stale = 2d\n" TENANT,
              &cfg, &errs);
    ck_assert_str_eq(cfg->http_api_token, "api-" TOKEN);
    ck_assert_int_eq(cfg->http_live_timeout_ms, 250);
    ck_assert_int_eq(cfg->http_max_stale_ms, 2LL * 24 * 3600 * 1000);
    ck_assert_uint_eq(errs.nwarnings, 1); /* /metrics and /status stay open */
    ck_assert_ptr_nonnull(strstr(errs.warnings[0], "no authentication"));
    char *out = print_to_string(cfg);
    ck_assert_ptr_null(strstr(out, "api-" TOKEN));
    ck_assert_msg(strstr(out, "; api token: [REDACTED]"), "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "api_token_file = /"));
    free(out);
    cfg_free(cfg);
    cfg_errors_free(&errs);
    expect_error("[http]\napi_token_file = missing.token\n" TENANT, 2, "http.api_token_file",
                 "missing.token");
    expect_error("[http]\nlive_timeout = 0\n" TENANT, 2, "http.live_timeout", "out of range");
    expect_error("[http]\nlive_timeout = 2m\n" TENANT, 2, "http.live_timeout", "out of range");
    expect_error("[http]\nmax_stale = soon\n" TENANT, 2, "http.max_stale", "not valid");
}
END_TEST

/* The documented example config loads, holds every key, shows the defaults. */
START_TEST(test_example_config)
{
    struct config *cfg, *def;
    struct cfg_errors errs;
    const char *path = SOURCE_ROOT "/config/vomo-sync.ini";
    int rc = cfg_load(path, CFG_SKIP_SECRETS, &cfg, &errs);
    if (rc != 0)
        dump(&errs);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(errs.nwarnings, 0);
    cfg_errors_free(&errs);
    expect_ok(TENANT, &def, &errs);
    cfg_errors_free(&errs);
    char *a = print_to_string(cfg), *b = print_to_string(def);
    char *ta = strstr(a, "\n[tenant."), *tb = strstr(b, "\n[tenant.");
    *ta = *tb = '\0';
    ck_assert_str_eq(strchr(a, '\n'), strchr(b, '\n'));
    char *text;
    ck_assert_int_eq(read_whole_file(path, 1 << 20, &text, NULL), 0);
    static const char *const keys[] = {
        "state_db",
        "log_level",
        "log_format",
        "shutdown_timeout",
        "litestream",
        "litestream_wal_max",
        "base_url",
        "request_timeout",
        "connect_timeout",
        "max_concurrency",
        "max_response_size",
        "interval",
        "reconcile_interval",
        "jitter",
        "safety_margin",
        "scan_passes",
        "max_attempts",
        "base_delay",
        "max_delay",
        "budget",
        "budget_cost",
        "budget_refill",
        "failure_threshold",
        "open_timeout",
        "batch_size",
        "timeout",
        "token_file",
        "resources",
        "destination",
        "checkpoint_mode",
        "webhook_url",
        "webhook_secret_file",
        "alertmanager_url",
        "live_timeout",
        "max_stale",
        "api_token_file",
        "target",
        "window",
        "pause_on_exhausted",
        "min_operations",
    };
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        char *k = xasprintf("\n%s =", keys[i]);
        ck_assert_msg(strstr(text, k) != NULL, "example config lacks %s", keys[i]);
        free(k);
    }
    free(text);
    free(a);
    free(b);
    cfg_free(cfg);
    cfg_free(def);
}
END_TEST

/* Runs the real binary; stdout and stderr land in files under tmpdir. */
static int run_bin(const char *const argv[], char **out, char **err)
{
    char *po = tpath("stdout"), *pe = tpath("stderr");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    extern char **environ;
    ck_assert_int_eq(posix_spawn(&pid, VOMO_SYNC_BIN, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(read_whole_file(po, 1 << 20, out, NULL), 0);
    ck_assert_int_eq(read_whole_file(pe, 1 << 20, err, NULL), 0);
    free(po);
    free(pe);
    return WEXITSTATUS(status);
}

/* [tenant.X] vomo_webhook_secret_file: read, redacted when printed, and
 * a missing file is an error naming the key; allowed with either
 * destination. */
START_TEST(test_vomo_webhook_secret)
{
    struct config *cfg;
    struct cfg_errors errs;
    write_file("acme.vomo", "vomo-" SECRET "\n", 0600);
    expect_ok(TENANT "vomo_webhook_secret_file = acme.vomo\n", &cfg, &errs);
    ck_assert_str_eq(cfg->tenants[0].vomo_webhook_secret, "vomo-" SECRET);
    ck_assert_ptr_nonnull(strstr(cfg->tenants[0].vomo_webhook_secret_file, "/acme.vomo"));
    char *out = print_to_string(cfg);
    ck_assert_ptr_null(strstr(out, SECRET));
    ck_assert_ptr_nonnull(strstr(out, "\nvomo_webhook_secret_file = "));
    ck_assert_ptr_nonnull(strstr(out, "; VOMO webhook secret: [REDACTED] (32 bytes from "));
    free(out);
    cfg_free(cfg);
    cfg_errors_free(&errs);
    expect_error(TENANT "vomo_webhook_secret_file = missing.vomo\n", 3,
                 "tenant.acme.vomo_webhook_secret_file", "missing.vomo");
}
END_TEST

START_TEST(test_cli)
{
    char *out, *err;
    write_file("acme.token", TOKEN, 0600);
    write_file("good.ini", "[poll]\ninterval = 90s\n" TENANT, 0600);
    write_file("bad.ini", "[daemon]\nlog_level = loud\n[poll]\ninterval = 5 m\n" TENANT, 0600);
    char *good = tpath("good.ini"), *bad = tpath("bad.ini"), *none = tpath("none.ini");

    const char *a1[] = {"vomo-sync", "--config", good, "check-config", NULL};
    ck_assert_int_eq(run_bin(a1, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "[tenant.acme]"));
    ck_assert_ptr_nonnull(strstr(out, "interval = 90s"));
    ck_assert_ptr_nonnull(strstr(out, "[REDACTED]"));
    ck_assert_ptr_null(strstr(out, TOKEN));
    ck_assert_ptr_null(strstr(err, TOKEN));
    free(out);
    free(err);

    const char *a2[] = {"vomo-sync", "check-config", "--config", bad, NULL};
    ck_assert_int_eq(run_bin(a2, &out, &err), 2);
    ck_assert_str_eq(out, "");
    char *l2 = xasprintf("%s:2: daemon.log_level: 'loud'", bad);
    char *l4 = xasprintf("%s:4: poll.interval: '5 m'", bad);
    ck_assert_ptr_nonnull(strstr(err, l2));
    ck_assert_ptr_nonnull(strstr(err, l4));
    ck_assert(strstr(err, l2) < strstr(err, l4));
    free(l2);
    free(l4);
    free(out);
    free(err);

    const char *a3[] = {"vomo-sync", "--config", good, "check-config", "--quiet", NULL};
    ck_assert_int_eq(run_bin(a3, &out, &err), 0);
    ck_assert_str_eq(out, "");
    free(out);
    free(err);

    const char *a4[] = {"vomo-sync", "check-config", "--help", NULL};
    ck_assert_int_eq(run_bin(a4, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: vomo-sync [--config FILE] check-config"));
    free(out);
    free(err);

    const char *a5[] = {"vomo-sync", "--config", good, "check-config", "--bogus", NULL};
    ck_assert_int_eq(run_bin(a5, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "usage:"));
    ck_assert_ptr_nonnull(strstr(err, "--bogus"));
    free(out);
    free(err);

    const char *a6[] = {"vomo-sync", "--config", none, "check-config", NULL};
    ck_assert_int_eq(run_bin(a6, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "cannot read the configuration file"));
    free(out);
    free(err);
    free(good);
    free(bad);
    free(none);
}
END_TEST

/*
 * Issue 10 item 18: what check-config prints loads again, even when a
 * relative state_db or token_file resolves to an absolute path longer than
 * a line may be.
 */
START_TEST(test_print_long_paths)
{
    char name[181];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    char *tok = xasprintf("%.174s.token", name);
    write_file(tok, TOKEN "\n", 0600);
    char *text =
        xasprintf("[daemon]\nstate_db = %s.db\n[tenant.acme]\ntoken_file = %s\n", name, tok);
    write_file("long.ini", text, 0600);
    char *ini = tpath("long.ini"), *out, *err;
    const char *argv[] = {"vomo-sync", "--config", ini, "check-config", NULL};
    ck_assert_int_eq(run_bin(argv, &out, &err), 0);
    write_file("printed.ini", out, 0600);

    struct config *a, *b;
    struct cfg_errors errs;
    ck_assert_int_eq(cfg_load(ini, 0, &a, &errs), 0);
    cfg_errors_free(&errs);
    char *printed = tpath("printed.ini");
    int rc = cfg_load(printed, 0, &b, &errs);
    if (rc != 0) {
        fprintf(stderr, "%s", out);
        dump(&errs);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_gt(strlen(a->state_db), 198);
    ck_assert_str_eq(b->state_db, a->state_db);
    ck_assert_str_eq(b->tenants[0].token_file, a->tenants[0].token_file);
    ck_assert_str_eq(b->tenants[0].token, TOKEN);
    cfg_errors_free(&errs);
    cfg_free(a);
    cfg_free(b);
    free(printed);
    free(ini);
    free(out);
    free(err);
    free(text);
    free(tok);
}
END_TEST

/* Two instances' INI files in one folder: the same token (by content, from
 * two files, or the same file) and the same state database are warned
 * about, without ever printing the token; distinct ones are not. */
START_TEST(test_sibling_instances)
{
    char *out, *err;
    write_file("acme.token", TOKEN, 0600);
    write_file("copy.token", "  " TOKEN "\n", 0600);
    write_file("other.token", "tok-another-one", 0600);
    char *db1 = tpath("one.db"), *db2 = tpath("two.db");
    char *one = xasprintf("[daemon]\nstate_db = %s\n" TENANT, db1);
    char *two = xasprintf("[daemon]\nstate_db = %s\n[tenant.x]\ntoken_file = other.token\n"
                          "[tenant.acme2]\ntoken_file = copy.token\n",
                          db2);
    write_file("shard1.ini", one, 0600);
    write_file("shard2.ini", two, 0600);
    write_file("broken.ini", "[daemon]\nlog_level = loud\n" TENANT, 0600);
    char *p1 = tpath("shard1.ini"), *p2 = tpath("shard2.ini");
    const char *a1[] = {"vomo-sync", "--config", p1, "check-config", NULL};
    ck_assert_int_eq(run_bin(a1, &out, &err), 0);
    char *want = xasprintf("warning: %s:3: tenant.acme.token_file: [tenant.acme2] in %s has the "
                           "same VOMO token",
                           p1, p2);
    ck_assert_msg(strstr(err, want), "no warning in:\n%s", err);
    ck_assert_ptr_null(strstr(err, "[tenant.x]"));
    ck_assert_ptr_null(strstr(err, "broken.ini")); /* invalid siblings are skipped */
    ck_assert_ptr_null(strstr(err, "state database"));
    ck_assert_ptr_null(strstr(err, TOKEN));
    ck_assert_ptr_null(strstr(out, TOKEN));
    free(want);
    free(out);
    free(err);

    /* The very same token file counts too, and so does the same state
     * database. */
    free(two);
    two = xasprintf("[daemon]\nstate_db = %s\n[tenant.b]\ntoken_file = acme.token\n", db1);
    write_file("shard2.ini", two, 0600);
    ck_assert_int_eq(run_bin(a1, &out, &err), 0);
    want = xasprintf("%s:3: tenant.acme.token_file: [tenant.b] in %s has the same", p1, p2);
    ck_assert_msg(strstr(err, want), "no warning in:\n%s", err);
    free(want);
    want = xasprintf("%s: daemon.state_db: %s uses the same state database", p1, p2);
    ck_assert_msg(strstr(err, want), "no state_db warning in:\n%s", err);
    free(want);
    free(out);
    free(err);

    /* Distinct tokens and databases: nothing to say. */
    free(two);
    two = xasprintf("[daemon]\nstate_db = %s\n[tenant.x]\ntoken_file = other.token\n", db2);
    write_file("shard2.ini", two, 0600);
    ck_assert_int_eq(run_bin(a1, &out, &err), 0);
    ck_assert_msg(!strstr(err, "warning"), "unexpected warning:\n%s", err);
    free(out);
    free(err);
    free(one);
    free(two);
    free(db1);
    free(db2);
    free(p1);
    free(p2);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("units");
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_format_units);
    tcase_add_test(tc, test_urls);
    tcase_add_test(tc, test_resources);
    suite_add_tcase(s, tc);
    tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_every_key);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_bad_tenant_values);
    tcase_add_test(tc, test_structure_errors);
    tcase_add_test(tc, test_no_tenant);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_many_errors);
    tcase_add_test(tc, test_comments);
    tcase_add_test(tc, test_long_line);
    tcase_add_test(tc, test_token_files);
    tcase_add_test(tc, test_skip_secrets);
    tcase_add_test(tc, test_permission_warning);
    tcase_add_test(tc, test_webhook);
    tcase_add_test(tc, test_connect_timeout_follows_request_timeout);
    tcase_add_test(tc, test_jitter_scales_with_interval);
    tcase_add_test(tc, test_print);
    tcase_add_test(tc, test_vomo_webhook_secret);
    tcase_add_test(tc, test_print_long_paths);
    tcase_add_test(tc, test_alert_targets);
    tcase_add_test(tc, test_example_config);
    tcase_add_test(tc, test_http_api_keys);
    tcase_add_test(tc, test_sibling_instances);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
