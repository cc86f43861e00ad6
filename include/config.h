/*
 * config.h - the daemon's configuration, loaded from one INI file (parsed
 * by inih) plus the token and secret files it names.
 *
 * cfg_load() fills a struct config with defaults, applies the file, checks
 * every value and range, reads token and secret files, and collects every
 * error (file, line, key, what is wrong) instead of stopping at the first.
 * Ownership: the struct config and all its strings belong to the caller and
 * are freed with cfg_free().
 */
#ifndef VOMO_CONFIG_H
#define VOMO_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "util.h"

/* The resources the daemon syncs; a tenant's `resources` is a bitmask. */
enum resource { RES_USERS, RES_GROUPS, RES_PROJECTS, RES_COUNT };
#define RES_BIT(r) (1u << (r))
const char *resource_name(enum resource r);
int resource_parse(const char *s, enum resource *out) WUR;

enum dest_kind { DEST_SQLITE, DEST_WEBHOOK };
enum checkpoint_mode { CKPT_DLQ, CKPT_HOLD };
/* [daemon] litestream: whether Litestream replicates the state database, so
 * that checkpoints are left to it (off: SQLite's own, on: Litestream's,
 * auto: on when Litestream's traces are found beside or in the database). */
enum litestream_mode { LITESTREAM_OFF, LITESTREAM_ON, LITESTREAM_AUTO };
const char *litestream_mode_name(enum litestream_mode m);
/* [slo] pause_on_exhausted: what an exhausted error budget stops. */
enum slo_pause { SLO_PAUSE_OFF, SLO_PAUSE_WRITES };
const char *slo_pause_name(enum slo_pause p);

struct tenant_cfg {
    char *name; /* from [tenant.NAME] */
    char *token_file;
    char *token;        /* file contents, surrounding white space trimmed */
    unsigned resources; /* RES_BIT() mask, never 0 */
    enum dest_kind destination;
    enum checkpoint_mode checkpoint_mode;
    char *webhook_url; /* required when destination = webhook */
    char *webhook_secret_file;
    char *webhook_secret;
    /* vomo_webhook_secret_file: enables POST /hooks/vomo/NAME (VOMO's own
     * webhooks, verified with this secret); NULL when not set */
    char *vomo_webhook_secret_file;
    char *vomo_webhook_secret;
    int line; /* line of the section header, for messages */
};

struct config {
    char *path;
    char *dir; /* relative paths were resolved from here ("" for /) */

    /* [daemon] */
    char *state_db;
    enum log_level log_level;
    enum log_format log_format;
    int64_t shutdown_timeout_ms;     /* shutdown_timeout = 10s */
    enum litestream_mode litestream; /* litestream = auto */
    int64_t litestream_wal_max;      /* litestream_wal_max = 64MiB: TRUNCATE backstop */

    /* [vomo] */
    char *base_url; /* no trailing slash */
    int64_t request_timeout_ms;
    int64_t connect_timeout_ms; /* default min(10s, request_timeout); never above it */
    int max_concurrency;        /* requests in flight per tenant */
    int64_t max_response_size;  /* bytes */

    /* [poll] */
    int64_t poll_interval_ms;
    int64_t reconcile_interval_ms;
    int64_t poll_jitter_ms;   /* random 0..jitter added per schedule; default 10% of
                               * interval, at most 30s */
    int64_t safety_margin_ms; /* safety_margin = 5s: checkpoint <= server time - margin */
    int scan_passes;          /* scan_passes = 3: bound on repeated incomplete scans */
    /* reconcile_max_deletes = 1000: more records missing than this (or than a
     * tenth of those held) and a reconciliation deletes none */
    int reconcile_max_deletes;
    /* hint_delete_interval = 1s: after a burst of HINTPACE_BURST, the reads by id
     * that deletion hints cause begin at most one per this, per tenant and resource */
    int64_t hint_delete_interval_ms;

    /* [retry] */
    int retry_max_attempts;
    int64_t retry_base_delay_ms;
    int64_t retry_max_delay_ms;
    int retry_budget;        /* budget = 100: retry token bucket capacity per tenant */
    int retry_budget_cost;   /* budget_cost = 5: tokens one retry spends */
    int retry_budget_refill; /* budget_refill = 1: tokens one success earns */

    /* [breaker] */
    int breaker_failure_threshold;
    int64_t breaker_open_timeout_ms;

    /* [dlq] */
    int64_t dlq_interval_ms;
    int dlq_max_attempts;
    int64_t dlq_base_delay_ms;
    int64_t dlq_max_delay_ms;
    int dlq_batch_size; /* batch_size = 100: rows one tick takes at most */

    /* [webhook]: delivery to webhook destinations */
    int64_t webhook_timeout_ms;  /* timeout = 10s */
    int webhook_max_concurrency; /* max_concurrency = 4, per tenant */

    /* [http]: the local HTTP endpoint (metrics, status, health, read API) */
    char *http_listen;            /* listen = 127.0.0.1:9464: HOST:PORT, [IPV6]:PORT, or "off" */
    char *http_api_token_file;    /* api_token_file = "": the read API's bearer token ("" none);
                                   * required when listen is not loopback */
    char *http_api_token;         /* its contents (NULL when none or not read) */
    int64_t http_live_timeout_ms; /* live_timeout = 2s: how long a live read waits for VOMO */
    int64_t http_max_stale_ms;    /* max_stale = 7d: older mirrors are refused (503) */
    /* api_time_per_second = 250ms: the event loop's time the read API's
     * answers from the mirror may take in each second (429 beyond) */
    int64_t http_api_time_ms;

    /* [alerts]: the optional targets of the built-in alerts (alertsink.h);
     * NULL when not configured */
    char *alert_webhook_url;         /* webhook_url: POST per firing/resolved transition */
    char *alert_webhook_secret_file; /* webhook_secret_file: required with webhook_url */
    char *alert_webhook_secret;      /* its contents (never printed) */
    char *alertmanager_url;          /* alertmanager_url: base URL of Alertmanager */

    /* [alerts]: the built-in alert evaluator */
    int64_t alerts_interval_ms; /* interval = 30s */

    /* [slo]: the error budget */
    double slo_target;        /* target = 99.5% (stored as 0.995) */
    int64_t slo_window_ms;    /* window = 30d */
    enum slo_pause slo_pause; /* pause_on_exhausted = off */
    int slo_min_operations;   /* min_operations = 100: volume guard */

    struct tenant_cfg *tenants;
    size_t ntenants;
};

/* One problem found while loading: all of them are reported, in file order. */
struct cfg_error {
    char *file;
    int line;  /* 0 when not tied to a line (e.g. a missing section) */
    char *key; /* "section.key", or NULL */
    char *message;
};

struct cfg_errors {
    struct cfg_error *items;
    size_t count;
    char **warnings; /* e.g. token file readable by others */
    size_t nwarnings;
};

/*
 * Loads path into *out.  Returns 0 when the configuration is valid (warnings
 * may still be present), -EINVAL when errs holds at least one error (and
 * *out is NULL), or a negative errno when the file cannot be read at all
 * (also recorded in errs).  cfg_load initialises errs itself (pass a fresh
 * or freed one); it must be released with cfg_errors_free() in every case.
 * Every token and secret read is registered with log_add_secret().
 * Relative token_file, webhook_secret_file and state_db paths are resolved
 * from the directory of the config file.
 */
#define CFG_SKIP_SECRETS 0x1u /* do not read token/secret files (read-only CLI commands) */
int cfg_load(const char *path, unsigned flags, struct config **out, struct cfg_errors *errs) WUR;
void cfg_free(struct config *cfg);
void cfg_errors_init(struct cfg_errors *errs);
void cfg_errors_free(struct cfg_errors *errs);
/* Prints "FILE:LINE: KEY: MESSAGE" lines (and "warning: ..." lines). */
void cfg_errors_print(const struct cfg_errors *errs, FILE *out);

/*
 * Reads a token or secret file: at most CFG_SECRET_MAX bytes, surrounding
 * white space trimmed, not empty, no control characters inside.  Returns 0
 * and a new string in *out, or a negative errno with a message (caller
 * frees) in *why.  *warning gets a message (caller frees) when the file is
 * readable or writable by group or others, else NULL.
 */
#define CFG_SECRET_MAX (64 * 1024)
int cfg_secret_read(const char *path, char **out, char **why, char **warning) WUR;

/*
 * Adds warnings to errs about the other *.ini files in the folder of cfg
 * (the other instances of vomo-sync@.service): a tenant whose VOMO token
 * (compared by content, or by file when unreadable) another one also
 * configures, and a state database another one also uses.  Invalid
 * siblings are skipped.  No token is ever part of a message.
 */
void cfg_check_siblings(const struct config *cfg, struct cfg_errors *errs);

/* The effective configuration as INI text; secrets print as "[REDACTED]". */
void cfg_print(const struct config *cfg, FILE *out);

/* Finds a tenant by name, or NULL. */
const struct tenant_cfg *cfg_tenant(const struct config *cfg, const char *name);

/* Unit parsers: "250ms", "30s", "15m", "6h", "2d" (bare number = seconds);
 * "512KiB", "8MiB", "1GiB" (bare number = bytes).  0 or -EINVAL/-ERANGE. */
int cfg_parse_duration(const char *s, int64_t *ms) WUR;
int cfg_parse_size(const char *s, int64_t *bytes) WUR;

/* Formats a duration or size with the largest unit that divides it exactly
 * ("15m", "1500ms", "8MiB", "1000"), so cfg_parse_* reads it back. */
#define CFG_UNIT_LEN 32
void cfg_format_duration(int64_t ms, char out[CFG_UNIT_LEN]);
void cfg_format_size(int64_t bytes, char out[CFG_UNIT_LEN]);

/* Checks a base or webhook URL: https://HOST..., or http:// to a loopback
 * host (127.0.0.0/8, localhost, [::1]) only.  0, or -EINVAL with *why set
 * to a static explanation. */
int cfg_check_url(const char *url, const char **why) WUR;

/* The config file when neither --config nor $VOMO_SYNC_CONFIG names one. */
#define CFG_DEFAULT_PATH "/etc/vomo-sync/vomo-sync.ini"

#endif
