/*
 * config.c - loads the INI configuration into a struct config: reads the
 * file, has inih parse it through the reader in config_read.c, then checks
 * what only the whole file can tell (a tenant at all, cross-key rules,
 * required tenant keys), resolves relative paths and reads the token and
 * secret files.  Every problem is collected with file, line and key, then
 * sorted into file order; nothing stops at the first error.
 */
#include "config_int.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

#define CFG_FILE_MAX (1024 * 1024)

void cfg_add_error(struct loader *L, int line, const char *key, const char *fmt, ...)
{
    struct cfg_errors *e = L->errs;
    e->items = xrealloc(e->items, (e->count + 1) * sizeof(*e->items));
    struct cfg_error *it = &e->items[e->count++];
    va_list ap;
    va_start(ap, fmt);
    it->message = xvasprintf(fmt, ap);
    va_end(ap);
    it->file = xstrdup(L->cfg->path);
    it->line = line;
    it->key = key ? xstrdup(key) : NULL;
}

void cfg_add_warning(struct loader *L, int line, const char *key, const char *msg)
{
    struct cfg_errors *e = L->errs;
    e->warnings = xrealloc(e->warnings, (e->nwarnings + 1) * sizeof(*e->warnings));
    e->warnings[e->nwarnings++] = xasprintf("%s:%d: %s: %s", L->cfg->path, line, key, msg);
}

int cfg_tenant_index(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntenants; i++)
        if (strcmp(cfg->tenants[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int key_line(const struct loader *L, const char *section, const char *name)
{
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].name, name) == 0)
            return L->key_line[i];
    return 0;
}

/*
 * Checks that lo_key <= hi_key; the error goes on whichever of the two was
 * set last in the file.  Skipped when either value was itself wrong.
 */
static void check_order(struct loader *L, const char *sec, const char *lo_key, const char *hi_key,
                        int64_t lo, int64_t hi, const char *what)
{
    int l1 = key_line(L, sec, lo_key), l2 = key_line(L, sec, hi_key);
    if (l1 < 0 || l2 < 0 || lo <= hi)
        return;
    const char *name = l1 > l2 ? lo_key : hi_key;
    char *key = xasprintf("%s.%s", sec, name);
    cfg_add_error(L, l1 > l2 ? l1 : l2, key, "%s.%s must not exceed %s.%s (%s)", sec, lo_key, sec,
                  hi_key, what);
    free(key);
}

#define CONNECT_TIMEOUT_DEFAULT_MS 10000
#define JITTER_DEFAULT_MAX_MS 30000

/*
 * Connecting is part of the request, so the request timeout bounds the
 * connect timeout: unset, it is min(10s, request_timeout), so lowering the
 * request timeout alone is a valid configuration; set larger, it could
 * never take effect, which is worth a warning but not a refusal.
 */
static void settle_connect_timeout(struct loader *L)
{
    struct config *c = L->cfg;
    int line = key_line(L, "vomo", "connect_timeout");
    if (line < 0 || key_line(L, "vomo", "request_timeout") < 0)
        return;
    if (line == 0) {
        c->connect_timeout_ms = c->request_timeout_ms < CONNECT_TIMEOUT_DEFAULT_MS
                                    ? c->request_timeout_ms
                                    : CONNECT_TIMEOUT_DEFAULT_MS;
        return;
    }
    if (c->connect_timeout_ms <= c->request_timeout_ms)
        return;
    char conn[CFG_UNIT_LEN], req[CFG_UNIT_LEN];
    cfg_format_duration(c->connect_timeout_ms, conn);
    cfg_format_duration(c->request_timeout_ms, req);
    char *msg = xasprintf("%s exceeds request_timeout (%s), which bounds the whole request; "
                          "connecting is limited to %s",
                          conn, req, req);
    cfg_add_warning(L, line, "vomo.connect_timeout", msg);
    free(msg);
    c->connect_timeout_ms = c->request_timeout_ms;
}

/* Unset, the jitter is 10% of the poll interval, at most 30s: a fixed 30s
 * would turn `interval = 1s` into 1..31s. */
static void settle_jitter(struct loader *L)
{
    struct config *c = L->cfg;
    if (key_line(L, "poll", "jitter") != 0 || key_line(L, "poll", "interval") < 0)
        return;
    int64_t j = c->poll_interval_ms / 10;
    c->poll_jitter_ms = j < JITTER_DEFAULT_MAX_MS ? j : JITTER_DEFAULT_MAX_MS;
}

static void check_globals(struct loader *L)
{
    const struct config *c = L->cfg;
    settle_connect_timeout(L);
    settle_jitter(L);
    check_order(L, "retry", "base_delay", "max_delay", c->retry_base_delay_ms,
                c->retry_max_delay_ms, "the first delay is capped by the largest");
    check_order(L, "retry", "budget_cost", "budget", c->retry_budget_cost, c->retry_budget,
                "otherwise no retry could ever be afforded");
    check_order(L, "dlq", "base_delay", "max_delay", c->dlq_base_delay_ms, c->dlq_max_delay_ms,
                "the first delay is capped by the largest");
}

/* Makes path absolute against the config file's directory (in place). */
static void resolve_path(const struct loader *L, char **path)
{
    if (*path && (*path)[0] != '/' && strcmp(*path, ":memory:") != 0) {
        char *abs = xasprintf("%s/%s", L->dir, *path);
        free(*path);
        *path = abs;
    }
}

/* Reads one secret file into *out and registers it for redaction. */
static void load_secret(struct loader *L, const struct tenant_cfg *t, int line, const char *keyname,
                        const char *path, char **out)
{
    char *why, *warning;
    char *key = xasprintf("tenant.%s.%s", t->name, keyname);
    if (cfg_secret_read(path, out, &why, &warning) < 0) {
        cfg_add_error(L, line, key, "%s", why);
        free(why);
    } else {
        log_set_secret(path, *out);
        if (warning)
            cfg_add_warning(L, line, key, warning);
        free(warning);
    }
    free(key);
}

static void tenant_error(struct loader *L, const struct tenant_cfg *t, int line,
                         enum cfg_tenant_key tk, const char *msg)
{
    char *key = xasprintf("tenant.%s.%s", t->name, cfg_tenant_keys[tk]);
    cfg_add_error(L, line, key, "%s", msg);
    free(key);
}

static void check_tenant(struct loader *L, size_t i)
{
    struct tenant_cfg *t = &L->cfg->tenants[i];
    const int *lines = L->tlines[i].line;
    if (!lines[CFG_TK_TOKEN_FILE])
        tenant_error(L, t, t->line, CFG_TK_TOKEN_FILE,
                     "missing: every tenant needs the file holding its VOMO API token "
                     "(token_file = /etc/vomo-sync/NAME.token)");
    if (t->destination == DEST_WEBHOOK) {
        if (!lines[CFG_TK_WEBHOOK_URL])
            tenant_error(L, t, lines[CFG_TK_DESTINATION], CFG_TK_WEBHOOK_URL,
                         "missing: destination = webhook needs webhook_url = https://...");
        if (!lines[CFG_TK_WEBHOOK_SECRET_FILE])
            tenant_error(L, t, lines[CFG_TK_DESTINATION], CFG_TK_WEBHOOK_SECRET_FILE,
                         "missing: destination = webhook needs the file holding the "
                         "HMAC signing secret");
    } else {
        for (int k = CFG_TK_WEBHOOK_URL; k <= CFG_TK_WEBHOOK_SECRET_FILE; k++)
            if (lines[k]) {
                char *key = xasprintf("tenant.%s.%s", t->name, cfg_tenant_keys[k]);
                cfg_add_warning(L, lines[k], key, "ignored: destination is sqlite");
                free(key);
            }
    }
    resolve_path(L, &t->token_file);
    resolve_path(L, &t->webhook_secret_file);
    resolve_path(L, &t->vomo_webhook_secret_file);
    if (!(L->flags & CFG_SKIP_SECRETS) && t->token_file)
        load_secret(L, t, lines[CFG_TK_TOKEN_FILE], "token_file", t->token_file, &t->token);
    if (!(L->flags & CFG_SKIP_SECRETS) && t->webhook_secret_file && t->destination == DEST_WEBHOOK)
        load_secret(L, t, lines[CFG_TK_WEBHOOK_SECRET_FILE], "webhook_secret_file",
                    t->webhook_secret_file, &t->webhook_secret);
    if (!(L->flags & CFG_SKIP_SECRETS) && t->vomo_webhook_secret_file)
        load_secret(L, t, lines[CFG_TK_VOMO_WEBHOOK_SECRET_FILE], "vomo_webhook_secret_file",
                    t->vomo_webhook_secret_file, &t->vomo_webhook_secret);
}

/* Stable sort by line, errors without a line last. */
static void sort_errors(struct cfg_errors *e)
{
    for (size_t i = 1; i < e->count; i++) {
        struct cfg_error x = e->items[i];
        unsigned xl = (unsigned)x.line - 1; /* line 0 sorts last */
        size_t j = i;
        while (j > 0 && (unsigned)e->items[j - 1].line - 1 > xl) {
            e->items[j] = e->items[j - 1];
            j--;
        }
        e->items[j] = x;
    }
}

static char *config_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    char *real = realpath(*dir ? dir : "/", NULL);
    if (real) {
        free(dir);
        dir = xstrdup(strcmp(real, "/") == 0 ? "" : real);
        free(real);
    }
    return dir;
}

/*
 * The read API serves the mirror's records, so off loopback it needs a
 * bearer token (api_token_file): without one the configuration is refused.
 * The token is read like a tenant's (and redacted from logs).
 */
static void check_http(struct loader *L)
{
    struct config *c = L->cfg;
    int line = key_line(L, "http", "listen");
    int tline = key_line(L, "http", "api_token_file");
    struct netaddr a;
    const char *why;
    bool open = strcmp(c->http_listen, "off") != 0 &&
                netaddr_parse(c->http_listen, &a, &why) == 0 && !netaddr_is_loopback(&a);
    if (!c->http_api_token_file) {
        if (open && line > 0)
            cfg_add_error(L, line, "http.listen",
                          "listen = %s is not a loopback address: the read API (/api/v1/) then "
                          "needs a bearer token; set [http] api_token_file = FILE (one line, "
                          "chmod 600), or listen on 127.0.0.1",
                          c->http_listen);
        return;
    }
    resolve_path(L, &c->http_api_token_file);
    if (L->flags & CFG_SKIP_SECRETS || tline < 0)
        return;
    char *why_read, *warning;
    if (cfg_secret_read(c->http_api_token_file, &c->http_api_token, &why_read, &warning) < 0) {
        cfg_add_error(L, tline, "http.api_token_file", "%s", why_read);
        free(why_read);
        return;
    }
    log_set_secret(c->http_api_token_file, c->http_api_token);
    if (warning)
        cfg_add_warning(L, tline, "http.api_token_file", warning);
    free(warning);
}

static void parse_and_check(struct loader *L)
{
    cfg_apply_defaults(L);
    (void)ini_parse_stream(cfg_read_line, L, cfg_on_key, L); /* every problem is in L->errs */
    if (L->cfg->ntenants == 0)
        cfg_add_error(L, 0, NULL,
                      "no [tenant.NAME] section: at least one tenant is required, e.g. "
                      "[tenant.acme] with token_file = /etc/vomo-sync/acme.token");
    check_globals(L);
    check_http(L);
    resolve_path(L, &L->cfg->state_db);
    for (size_t i = 0; i < L->cfg->ntenants; i++)
        check_tenant(L, i);
    cfg_check_alerts(L);
}

int cfg_load(const char *path, unsigned flags, struct config **out, struct cfg_errors *errs)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    struct loader L = {.cfg = cfg, .errs = errs, .flags = flags};
    char *data = NULL;
    size_t len = 0;
    cfg_errors_init(errs);
    *out = NULL;
    cfg->path = xstrdup(path);
    int rc = read_whole_file(path, CFG_FILE_MAX, &data, &len);
    if (rc < 0) {
        if (rc == -EFBIG)
            cfg_add_error(&L, 0, NULL, "the configuration file is larger than %d KiB",
                          CFG_FILE_MAX / 1024);
        else
            cfg_add_error(&L, 0, NULL, "cannot read the configuration file: %s%s", strerror(-rc),
                          rc == -ENOENT ? " (give another with --config FILE)" : "");
        cfg_free(cfg);
        return rc;
    }
    L.data = data;
    L.len = len;
    L.dir = config_dir(path);
    L.key_line = xcalloc(cfg_nkeys, sizeof(*L.key_line));
    parse_and_check(&L);
    free(data);
    cfg->dir = L.dir;
    free(L.key_line);
    free(L.tlines);
    free(L.section);
    sort_errors(errs);
    if (errs->count) {
        cfg_free(cfg);
        return -EINVAL;
    }
    *out = cfg;
    return 0;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void cfg_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->ntenants; i++) {
        struct tenant_cfg *t = &cfg->tenants[i];
        free(t->name);
        free(t->token_file);
        free_secret(t->token);
        free(t->webhook_url);
        free(t->webhook_secret_file);
        free_secret(t->webhook_secret);
        free(t->vomo_webhook_secret_file);
        free_secret(t->vomo_webhook_secret);
    }
    free(cfg->tenants);
    free(cfg->path);
    free(cfg->dir);
    free(cfg->state_db);
    free(cfg->base_url);
    free(cfg->http_listen);
    free(cfg->alert_webhook_url);
    free(cfg->alert_webhook_secret_file);
    free_secret(cfg->alert_webhook_secret);
    free(cfg->alertmanager_url);
    free(cfg->http_api_token_file);
    free_secret(cfg->http_api_token);
    free(cfg);
}

void cfg_errors_init(struct cfg_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
}

void cfg_errors_free(struct cfg_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++) {
        free(errs->items[i].file);
        free(errs->items[i].key);
        free(errs->items[i].message);
    }
    free(errs->items);
    for (size_t i = 0; i < errs->nwarnings; i++)
        free(errs->warnings[i]);
    free(errs->warnings);
    cfg_errors_init(errs);
}

const struct tenant_cfg *cfg_tenant(const struct config *cfg, const char *name)
{
    int i = cfg_tenant_index(cfg, name);
    return i < 0 ? NULL : &cfg->tenants[i];
}
