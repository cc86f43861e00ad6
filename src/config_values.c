/*
 * config_values.c - the keys of the configuration and their values: the
 * table of global keys with their bounds and defaults (the one place a
 * default is written down; cfg_print and the example config test read it
 * too), and the parsers that turn one value into a field of struct config
 * or an error that says what is accepted.
 */
#include "config_int.h"
#include "netaddr.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEY(sec, name, type, field, min, max, def)                                                 \
    {                                                                                              \
        sec, name, type, offsetof(struct config, field), min, max, def                             \
    }
#define MS(n) ((int64_t)(n))
#define SEC(n) ((int64_t)(n)*1000)
#define MIN(n) (SEC(n) * 60)
#define HOUR(n) (MIN(n) * 60)
#define DAY(n) (HOUR(n) * 24)

/* Every global key, its bounds and its default (ARCHITECTURE.md). */
const struct cfg_key cfg_keys[] = {
    KEY("daemon", "state_db", CFG_T_PATH, state_db, 0, 0, "/var/lib/vomo-sync/state.db"),
    KEY("daemon", "log_level", CFG_T_LEVEL, log_level, 0, 0, "info"),
    KEY("daemon", "log_format", CFG_T_FORMAT, log_format, 0, 0, "json"),
    KEY("daemon", "shutdown_timeout", CFG_T_DURATION, shutdown_timeout_ms, MS(1), MIN(10), "10s"),
    KEY("daemon", "litestream", CFG_T_REPLICA, litestream, 0, 0, "auto"),
    KEY("daemon", "litestream_wal_max", CFG_T_SIZE, litestream_wal_max, 64 * 1024,
        (int64_t)16 * 1024 * 1024 * 1024, "64MiB"),
    KEY("vomo", "base_url", CFG_T_URL, base_url, 0, 0, "https://api.vomo.org/v1"),
    KEY("vomo", "request_timeout", CFG_T_DURATION, request_timeout_ms, MS(1), HOUR(1), "30s"),
    KEY("vomo", "connect_timeout", CFG_T_DURATION, connect_timeout_ms, MS(1), HOUR(1), "10s"),
    KEY("vomo", "max_concurrency", CFG_T_INT, max_concurrency, 1, 64, "4"),
    KEY("vomo", "max_response_size", CFG_T_SIZE, max_response_size, 1024, 1024 * 1024 * 1024,
        "8MiB"),
    KEY("poll", "interval", CFG_T_DURATION, poll_interval_ms, MS(1), DAY(30), "15m"),
    KEY("poll", "reconcile_interval", CFG_T_DURATION, reconcile_interval_ms, MS(1), DAY(365),
        "24h"),
    KEY("poll", "jitter", CFG_T_DURATION, poll_jitter_ms, 0, DAY(1), "30s"),
    KEY("poll", "safety_margin", CFG_T_DURATION, safety_margin_ms, 0, HOUR(1), "5s"),
    KEY("poll", "scan_passes", CFG_T_INT, scan_passes, 1, 10, "3"),
    KEY("poll", "reconcile_max_deletes", CFG_T_INT, reconcile_max_deletes, 0, 1000000000, "1000"),
    KEY("poll", "hint_delete_interval", CFG_T_DURATION, hint_delete_interval_ms, MS(1), HOUR(1),
        "1s"),
    KEY("retry", "max_attempts", CFG_T_INT, retry_max_attempts, 1, 100, "5"),
    KEY("retry", "base_delay", CFG_T_DURATION, retry_base_delay_ms, MS(1), HOUR(1), "1s"),
    KEY("retry", "max_delay", CFG_T_DURATION, retry_max_delay_ms, MS(1), DAY(1), "60s"),
    KEY("retry", "budget", CFG_T_INT, retry_budget, 1, 1000000, "100"),
    KEY("retry", "budget_cost", CFG_T_INT, retry_budget_cost, 1, 1000000, "5"),
    KEY("retry", "budget_refill", CFG_T_INT, retry_budget_refill, 1, 1000000, "1"),
    KEY("breaker", "failure_threshold", CFG_T_INT, breaker_failure_threshold, 1, 1000, "5"),
    KEY("breaker", "open_timeout", CFG_T_DURATION, breaker_open_timeout_ms, MS(1), DAY(1), "60s"),
    KEY("dlq", "interval", CFG_T_DURATION, dlq_interval_ms, MS(1), DAY(1), "1m"),
    KEY("dlq", "max_attempts", CFG_T_INT, dlq_max_attempts, 1, 100, "10"),
    KEY("dlq", "base_delay", CFG_T_DURATION, dlq_base_delay_ms, MS(1), DAY(7), "1m"),
    KEY("dlq", "max_delay", CFG_T_DURATION, dlq_max_delay_ms, MS(1), DAY(30), "6h"),
    KEY("dlq", "batch_size", CFG_T_INT, dlq_batch_size, 1, 10000, "100"),
    KEY("webhook", "timeout", CFG_T_DURATION, webhook_timeout_ms, MS(1), HOUR(1), "10s"),
    KEY("webhook", "max_concurrency", CFG_T_INT, webhook_max_concurrency, 1, 64, "4"),
    KEY("http", "listen", CFG_T_LISTEN, http_listen, 0, 0, "127.0.0.1:9464"),
    KEY("http", "api_token_file", CFG_T_OPT_PATH, http_api_token_file, 0, 0, ""),
    KEY("http", "live_timeout", CFG_T_DURATION, http_live_timeout_ms, MS(1), MIN(1), "2s"),
    KEY("http", "max_stale", CFG_T_DURATION, http_max_stale_ms, MS(1), DAY(3650), "7d"),
    KEY("http", "api_time_per_second", CFG_T_DURATION, http_api_time_ms, MS(1), SEC(1), "250ms"),
    KEY("alerts", "webhook_url", CFG_T_OPT_URL, alert_webhook_url, 0, 0, ""),
    KEY("alerts", "webhook_secret_file", CFG_T_OPT_PATH, alert_webhook_secret_file, 0, 0, ""),
    KEY("alerts", "alertmanager_url", CFG_T_OPT_URL, alertmanager_url, 0, 0, ""),
    KEY("alerts", "interval", CFG_T_DURATION, alerts_interval_ms, MS(1), HOUR(1), "30s"),
    KEY("slo", "target", CFG_T_PERCENT, slo_target, 500000, 999999, "99.5%"),
    KEY("slo", "window", CFG_T_DURATION, slo_window_ms, HOUR(1), DAY(90), "30d"),
    KEY("slo", "pause_on_exhausted", CFG_T_PAUSE, slo_pause, 0, 0, "off"),
    KEY("slo", "min_operations", CFG_T_INT, slo_min_operations, 1, 1000000000, "100"),
};
const size_t cfg_nkeys = ARRAY_SIZE(cfg_keys);

const char *const cfg_tenant_keys[CFG_TK_COUNT] = {
    "token_file",
    "resources",
    "destination",
    "checkpoint_mode",
    "webhook_url",
    "webhook_secret_file",
    "vomo_webhook_secret_file",
};

static const char *const litestream_names[] = {"off", "on", "auto"};
static const char *const pause_names[] = {"off", "writes"};

const char *slo_pause_name(enum slo_pause p)
{
    return (unsigned)p < ARRAY_SIZE(pause_names) ? pause_names[p] : "?";
}

/*
 * [slo] target: a percentage "99.5%" (the % may be left out), stored as a
 * share (0.995).  Bounds are in millionths: 50%..99.9999%.
 */
static void set_percent(struct loader *L, const struct cfg_key *k, const char *key,
                        const char *value)
{
    char *end = NULL;
    double v = strtod(value, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (end && *end == '%')
        end++;
    while (end && isspace((unsigned char)*end))
        end++;
    if (end == value || !end || *end || v != v) {
        cfg_add_error(L, L->lineno, key, "'%s' is not a percentage; write e.g. 99.5%%", value);
        return;
    }
    double share = v / 100.0;
    if (share * 1e6 < (double)k->min - 1e-6 || share * 1e6 > (double)k->max + 1e-6) {
        cfg_add_error(L, L->lineno, key, "'%s' is out of range; accepted: 50%% to 99.9999%%",
                      value);
        return;
    }
    *CFG_FIELD(L->cfg, k, double) = share;
}

const char *litestream_mode_name(enum litestream_mode m)
{
    return (unsigned)m < ARRAY_SIZE(litestream_names) ? litestream_names[m] : "?";
}

static int litestream_mode_parse(const char *s, enum litestream_mode *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(litestream_names); i++)
        if (strcmp(s, litestream_names[i]) == 0) {
            *out = (enum litestream_mode)i;
            return 0;
        }
    return -EINVAL;
}

/* "1ms..1h" for a key's bounds, in its own units. */
static char *range_text(const struct cfg_key *k)
{
    char lo[CFG_UNIT_LEN], hi[CFG_UNIT_LEN];
    if (k->type == CFG_T_DURATION) {
        cfg_format_duration(k->min, lo);
        cfg_format_duration(k->max, hi);
    } else if (k->type == CFG_T_SIZE) {
        cfg_format_size(k->min, lo);
        cfg_format_size(k->max, hi);
    } else {
        snprintf(lo, sizeof(lo), "%lld", (long long)k->min);
        snprintf(hi, sizeof(hi), "%lld", (long long)k->max);
    }
    return xasprintf("%s..%s", lo, hi);
}

static const char *syntax_hint(enum cfg_type type)
{
    switch (type) {
    case CFG_T_DURATION:
        return "a whole number directly followed by ms, s, m, h or d (a bare number is "
               "seconds), e.g. 250ms, 30s, 15m, 6h, 2d";
    case CFG_T_SIZE:
        return "a whole number directly followed by KiB, MiB or GiB (a bare number is bytes), "
               "e.g. 512KiB, 8MiB, 1GiB; KB, MB and GB are not accepted";
    default:
        return "a whole number";
    }
}

/* Parses a number with units or a plain integer and checks its bounds. */
static void set_number(struct loader *L, const struct cfg_key *k, const char *key,
                       const char *value)
{
    int64_t v = 0;
    int rc;
    if (k->type == CFG_T_DURATION)
        rc = cfg_parse_duration(value, &v);
    else if (k->type == CFG_T_SIZE)
        rc = cfg_parse_size(value, &v);
    else
        rc = parse_i64(value, &v);
    char *range = range_text(k);
    const char *p = value;
    while (isspace((unsigned char)*p))
        p++;
    if (rc == -EINVAL && *p == '-')
        cfg_add_error(L, L->lineno, key, "'%s' is negative; accepted: %s", value, range);
    else if (rc == -EINVAL)
        cfg_add_error(L, L->lineno, key, "'%s' is not valid; accepted: %s, in %s", value,
                      syntax_hint(k->type), range);
    else if (rc < 0 || v < k->min || v > k->max)
        cfg_add_error(L, L->lineno, key, "'%s' is out of range; accepted: %s", value, range);
    else if (k->type == CFG_T_INT)
        *CFG_FIELD(L->cfg, k, int) = (int)v;
    else
        *CFG_FIELD(L->cfg, k, int64_t) = v;
    free(range);
}

/*
 * [http] listen: "off" or a numeric address.  Anything but loopback is
 * allowed (a container may need it) but warned about: /metrics and
 * /status have no authentication (and the read API then needs
 * api_token_file: config.c checks that once the whole file is read).
 */
static void set_listen(struct loader *L, const char *key, const char *value, char **str)
{
    struct netaddr a;
    const char *why;
    if (strcmp(value, "off") != 0 && netaddr_parse(value, &a, &why) < 0) {
        cfg_add_error(L, L->lineno, key, "'%s' is not valid; %s", value, why);
        return;
    }
    if (strcmp(value, "off") != 0 && !netaddr_is_loopback(&a)) {
        char *w = xasprintf("listen = %s is not a loopback address: /metrics and /status have no "
                            "authentication, so anyone who can reach them reads status and "
                            "metrics; firewall it or use 127.0.0.1",
                            value);
        cfg_add_warning(L, L->lineno, key, w);
        free(w);
    }
    free(*str);
    *str = xstrdup(value);
}

/* Stores value into the field k describes, or records why it cannot. */
void cfg_set_value(struct loader *L, const struct cfg_key *k, const char *key, const char *value)
{
    const char *why;
    char **str = CFG_FIELD(L->cfg, k, char *);
    switch (k->type) {
    case CFG_T_PATH:
        free(*str);
        *str = xstrdup(value);
        break;
    case CFG_T_LEVEL:
        if (log_level_parse(value, CFG_FIELD(L->cfg, k, enum log_level)) < 0)
            cfg_add_error(L, L->lineno, key,
                          "'%s' is not a log level; accepted: debug, info, "
                          "warn, error",
                          value);
        break;
    case CFG_T_FORMAT:
        if (log_format_parse(value, CFG_FIELD(L->cfg, k, enum log_format)) < 0)
            cfg_add_error(L, L->lineno, key,
                          "'%s' is not a log format; accepted: json, text, "
                          "journal",
                          value);
        break;
    case CFG_T_REPLICA:
        if (litestream_mode_parse(value, CFG_FIELD(L->cfg, k, enum litestream_mode)) < 0)
            cfg_add_error(L, L->lineno, key, "'%s' is not valid; accepted: on, off, auto", value);
        break;
    case CFG_T_URL:
        if (cfg_check_url(value, &why) < 0) {
            cfg_add_error(L, L->lineno, key, "'%s' %s", value, why);
            break;
        }
        free(*str);
        *str = xstrdup(value);
        for (size_t n = strlen(*str); n > 8 && (*str)[n - 1] == '/'; n--)
            (*str)[n - 1] = '\0';
        break;
    case CFG_T_LISTEN:
        set_listen(L, key, value, str);
        break;
    case CFG_T_OPT_URL:
        if (*value && cfg_check_url(value, &why) < 0) {
            cfg_add_error(L, L->lineno, key, "'%s' %s", value, why);
            break;
        }
        free(*str);
        *str = *value ? xstrdup(value) : NULL;
        break;
    case CFG_T_OPT_PATH:
        free(*str);
        *str = *value ? xstrdup(value) : NULL;
        break;
    case CFG_T_PERCENT:
        set_percent(L, k, key, value);
        break;
    case CFG_T_PAUSE:
        if (strcmp(value, "off") == 0 || strcmp(value, "writes") == 0)
            *CFG_FIELD(L->cfg, k, enum slo_pause) =
                value[0] == 'o' ? SLO_PAUSE_OFF : SLO_PAUSE_WRITES;
        else
            cfg_add_error(L, L->lineno, key, "'%s' is not valid; accepted: off, writes", value);
        break;
    default:
        set_number(L, k, key, value);
    }
}

/* Parses "users, groups, projects" into a mask; 0 and an error if bad. */
static unsigned parse_resources(struct loader *L, const char *key, const char *value)
{
    char *copy = xstrdup(value);
    unsigned mask = 0;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *item = cfg_trim(p);
        enum resource r;
        if (!*item) {
            cfg_add_error(L, L->lineno, key,
                          "empty item in '%s'; accepted: a comma-separated list "
                          "of users, groups, projects",
                          value);
            mask = 0;
        } else if (resource_parse(item, &r) < 0) {
            cfg_add_error(L, L->lineno, key,
                          "unknown resource '%s'; accepted: users, groups, "
                          "projects",
                          item);
            mask = 0;
        } else if (mask & RES_BIT(r)) {
            cfg_add_error(L, L->lineno, key, "resource '%s' is listed twice", item);
            mask = 0;
        } else {
            mask |= RES_BIT(r);
        }
        if (!comma || !mask)
            break;
        p = comma + 1;
    }
    free(copy);
    return mask;
}

void cfg_tenant_value(struct loader *L, struct tenant_cfg *t, enum cfg_tenant_key tk,
                      const char *key, const char *value)
{
    const char *why;
    unsigned mask;
    switch (tk) {
    case CFG_TK_TOKEN_FILE:
        t->token_file = xstrdup(value);
        break;
    case CFG_TK_WEBHOOK_SECRET_FILE:
        t->webhook_secret_file = xstrdup(value);
        break;
    case CFG_TK_VOMO_WEBHOOK_SECRET_FILE:
        t->vomo_webhook_secret_file = xstrdup(value);
        break;
    case CFG_TK_RESOURCES:
        if ((mask = parse_resources(L, key, value)) != 0)
            t->resources = mask;
        break;
    case CFG_TK_DESTINATION:
        if (strcmp(value, "sqlite") == 0 || strcmp(value, "webhook") == 0)
            t->destination = value[0] == 's' ? DEST_SQLITE : DEST_WEBHOOK;
        else
            cfg_add_error(L, L->lineno, key, "'%s' is not a destination; accepted: sqlite, webhook",
                          value);
        break;
    case CFG_TK_CHECKPOINT_MODE:
        if (strcmp(value, "dlq") == 0 || strcmp(value, "hold") == 0)
            t->checkpoint_mode = value[0] == 'd' ? CKPT_DLQ : CKPT_HOLD;
        else
            cfg_add_error(L, L->lineno, key, "'%s' is not a checkpoint mode; accepted: dlq, hold",
                          value);
        break;
    case CFG_TK_WEBHOOK_URL:
        if (cfg_check_url(value, &why) < 0)
            cfg_add_error(L, L->lineno, key, "'%s' %s", value, why);
        else
            t->webhook_url = xstrdup(value);
        break;
    default:
        break;
    }
}

/* Fills cfg with every default, parsed from the key table. */
void cfg_apply_defaults(struct loader *L)
{
    for (size_t i = 0; i < cfg_nkeys; i++) {
        size_t before = L->errs->count;
        cfg_set_value(L, &cfg_keys[i], cfg_keys[i].def, cfg_keys[i].def);
        if (L->errs->count != before)
            abort(); /* a default outside its own bounds is a bug */
    }
}
