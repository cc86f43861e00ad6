/*
 * config.c - loads the INI configuration into a struct config.
 *
 * inih does the parsing; this file feeds it lines through its own reader,
 * which counts them (inih calls the key handler right after the line was
 * read, so the count is the key's line), accepts `;` and `#` comments
 * (whole-line, or inline after white space), strips leading white space (so
 * inih never mistakes an indented line for a continuation), and catches
 * lines inih would reject, so that every syntax error is reported, not just
 * the first.  Section headers are checked by the reader too, since inih
 * does not tell the handler about an empty section.  Values are checked
 * against the key table; cross-key rules, tenants and their secret files
 * are checked once the whole file has been read.  Every problem is
 * collected, with file, line and key, then sorted into file order.
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CFG_FILE_MAX (1024 * 1024)
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
};
const size_t cfg_nkeys = ARRAY_SIZE(cfg_keys);

static const char *const sections[] = {"daemon",  "vomo", "poll",   "retry",
                                       "breaker", "dlq",  "webhook"};

const char *const cfg_tenant_keys[CFG_TK_COUNT] = {
    "token_file",      "resources",   "destination",
    "checkpoint_mode", "webhook_url", "webhook_secret_file",
};

/* Line of each tenant key (0 = not set), parallel to cfg->tenants. */
struct tenant_lines {
    int line[CFG_TK_COUNT];
};

struct loader {
    struct config *cfg;
    struct cfg_errors *errs;
    unsigned flags;
    char *dir; /* of the config file, for relative paths */
    const char *data;
    size_t len, pos;
    int lineno;
    char *section; /* current section as the reader saw it ("#": ignore its keys) */
    int *key_line; /* parallel to cfg_keys */
    struct tenant_lines *tlines;
};

static void add_error(struct loader *L, int line, const char *key, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
static void add_error(struct loader *L, int line, const char *key, const char *fmt, ...)
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

static void add_warning(struct loader *L, int line, const char *key, const char *msg)
{
    struct cfg_errors *e = L->errs;
    e->warnings = xrealloc(e->warnings, (e->nwarnings + 1) * sizeof(*e->warnings));
    e->warnings[e->nwarnings++] = xasprintf("%s:%d: %s: %s", L->cfg->path, line, key, msg);
}

static int tenant_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static int known_section(const char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
        if (strcmp(s, sections[i]) == 0)
            return 1;
    return 0;
}

static int tenant_index(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntenants; i++)
        if (strcmp(cfg->tenants[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void add_tenant(struct loader *L, const char *name)
{
    struct config *cfg = L->cfg;
    cfg->tenants = xrealloc(cfg->tenants, (cfg->ntenants + 1) * sizeof(*cfg->tenants));
    L->tlines = xrealloc(L->tlines, (cfg->ntenants + 1) * sizeof(*L->tlines));
    struct tenant_cfg *t = &cfg->tenants[cfg->ntenants];
    memset(t, 0, sizeof(*t));
    memset(&L->tlines[cfg->ntenants], 0, sizeof(*L->tlines));
    t->name = xstrdup(name);
    t->resources = RES_BIT(RES_USERS) | RES_BIT(RES_GROUPS) | RES_BIT(RES_PROJECTS);
    t->destination = DEST_SQLITE;
    t->checkpoint_mode = CKPT_DLQ;
    t->line = L->lineno;
    cfg->ntenants++;
}

/*
 * Checks a section header's name (already trimmed) and returns the name
 * inih should see: the name itself, or "#" for a section whose keys are to
 * be ignored because the header was already reported as wrong.
 */
static const char *check_section(struct loader *L, const char *name)
{
    if (known_section(name))
        return name;
    if (strncmp(name, "tenant.", 7) != 0) {
        add_error(L, L->lineno, NULL,
                  "unknown section [%s]; accepted: [daemon], [vomo], [poll], [retry], "
                  "[breaker], [dlq], [webhook], [tenant.NAME]",
                  name);
        return "#";
    }
    const char *tn = name + 7;
    if (!tenant_name_ok(tn)) {
        add_error(L, L->lineno, NULL,
                  "invalid tenant name '%s' in [%s]; accepted: 1 to 64 of A-Z a-z 0-9 _ -", tn,
                  name);
        return "#";
    }
    int i = tenant_index(L->cfg, tn);
    if (i >= 0) {
        add_error(L, L->lineno, NULL,
                  "section [%s] repeats the one at line %d; each tenant has one section", name,
                  L->cfg->tenants[i].line);
        return "#";
    }
    add_tenant(L, tn);
    return name;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Cuts a `;` or `#` comment that starts the line or follows white space. */
static void cut_comment(char *s)
{
    for (char *p = s; *p; p++)
        if ((*p == ';' || *p == '#') && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
}

/* Checks a key line; returns 0 when inih can take it as it is. */
static int check_key_line(struct loader *L, const char *s)
{
    const char *eq = strchr(s, '=');
    const char *colon = strchr(s, ':');
    if (colon && (!eq || colon < eq)) {
        add_error(L, L->lineno, NULL, "cannot parse '%s': write `key = value` (not key: value)", s);
        return -1;
    }
    if (!eq) {
        add_error(L, L->lineno, NULL,
                  "cannot parse '%s': expected `key = value`, a [section] or a comment", s);
        return -1;
    }
    if (eq == s) {
        add_error(L, L->lineno, NULL, "missing key name before '=' in '%s'", s);
        return -1;
    }
    return 0;
}

/* Turns one raw line into what inih should see; the caller frees it. */
static char *cook_line(struct loader *L, char *line, size_t rawlen)
{
    if (memchr(line, '\0', rawlen)) {
        add_error(L, L->lineno, NULL, "line contains a NUL byte; the file must be text");
        return xstrdup("");
    }
    if (L->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3;
    cut_comment(line);
    char *s = trim(line);
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']') {
            add_error(L, L->lineno, NULL, "section header '%s' lacks its closing ']'", s);
            free(L->section);
            L->section = xstrdup("#");
            return xstrdup("[#]");
        }
        s[n - 1] = '\0';
        free(L->section);
        L->section = xstrdup(check_section(L, trim(s + 1)));
        return xasprintf("[%s]", L->section);
    }
    if (*s && check_key_line(L, s) < 0)
        return xstrdup("");
    return xstrdup(s);
}

/* inih's reader: hands over the next line of L->data, cooked. */
static char *read_line(char *str, int num, void *stream)
{
    struct loader *L = stream;
    if (L->pos >= L->len)
        return NULL;
    const char *start = L->data + L->pos;
    const char *nl = memchr(start, '\n', L->len - L->pos);
    size_t n = nl ? (size_t)(nl - start) : L->len - L->pos;
    L->pos += n + (nl ? 1 : 0);
    L->lineno++;
    char *line = xstrndup(start, n);
    char *cooked = cook_line(L, line, n);
    if (strlen(cooked) + 2 > (size_t)num) {
        add_error(L, L->lineno, NULL,
                  "line is longer than %d characters (without comments); use a shorter "
                  "path (relative paths start at the config file's directory)",
                  num - 2);
        cooked[0] = '\0';
    }
    snprintf(str, (size_t)num, "%s\n", cooked);
    free(cooked);
    free(line);
    return str;
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
        add_error(L, L->lineno, key, "'%s' is negative; accepted: %s", value, range);
    else if (rc == -EINVAL)
        add_error(L, L->lineno, key, "'%s' is not valid; accepted: %s, in %s", value,
                  syntax_hint(k->type), range);
    else if (rc < 0 || v < k->min || v > k->max)
        add_error(L, L->lineno, key, "'%s' is out of range; accepted: %s", value, range);
    else if (k->type == CFG_T_INT)
        *CFG_FIELD(L->cfg, k, int) = (int)v;
    else
        *CFG_FIELD(L->cfg, k, int64_t) = v;
    free(range);
}

/* Stores value into the field k describes, or records why it cannot. */
static void set_value(struct loader *L, const struct cfg_key *k, const char *key, const char *value)
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
            add_error(L, L->lineno, key,
                      "'%s' is not a log level; accepted: debug, info, "
                      "warn, error",
                      value);
        break;
    case CFG_T_FORMAT:
        if (log_format_parse(value, CFG_FIELD(L->cfg, k, enum log_format)) < 0)
            add_error(L, L->lineno, key,
                      "'%s' is not a log format; accepted: json, text, "
                      "journal",
                      value);
        break;
    case CFG_T_URL:
        if (cfg_check_url(value, &why) < 0) {
            add_error(L, L->lineno, key, "'%s' %s", value, why);
            break;
        }
        free(*str);
        *str = xstrdup(value);
        for (size_t n = strlen(*str); n > 8 && (*str)[n - 1] == '/'; n--)
            (*str)[n - 1] = '\0';
        break;
    default:
        set_number(L, k, key, value);
    }
}

static char *accepted_keys(const char *section)
{
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (strcmp(cfg_keys[i].section, section) == 0)
            (void)!buf_printf(&b, "%s%s", b.len ? ", " : "", cfg_keys[i].name);
    return buf_steal(&b);
}

static void global_key(struct loader *L, const char *section, const char *name, const char *value)
{
    char *key = xasprintf("%s.%s", section, name);
    size_t i;
    for (i = 0; i < cfg_nkeys; i++)
        if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].name, name) == 0)
            break;
    if (i == cfg_nkeys) {
        char *acc = accepted_keys(section);
        add_error(L, L->lineno, key, "unknown key; [%s] accepts: %s", section, acc);
        free(acc);
    } else if (L->key_line[i]) {
        add_error(L, L->lineno, key, "duplicate key: already set at line %d (set each key once)",
                  abs(L->key_line[i]));
    } else {
        size_t before = L->errs->count;
        if (!*value)
            add_error(L, L->lineno, key, "empty value; remove the line to use the default (%s)",
                      cfg_keys[i].def);
        else
            set_value(L, &cfg_keys[i], key, value);
        /* A negative line marks a key whose value was wrong. */
        L->key_line[i] = L->errs->count > before ? -L->lineno : L->lineno;
    }
    free(key);
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
        char *item = trim(p);
        enum resource r;
        if (!*item) {
            add_error(L, L->lineno, key,
                      "empty item in '%s'; accepted: a comma-separated list "
                      "of users, groups, projects",
                      value);
            mask = 0;
        } else if (resource_parse(item, &r) < 0) {
            add_error(L, L->lineno, key,
                      "unknown resource '%s'; accepted: users, groups, "
                      "projects",
                      item);
            mask = 0;
        } else if (mask & RES_BIT(r)) {
            add_error(L, L->lineno, key, "resource '%s' is listed twice", item);
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

static void tenant_value(struct loader *L, struct tenant_cfg *t, enum cfg_tenant_key tk,
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
    case CFG_TK_RESOURCES:
        if ((mask = parse_resources(L, key, value)) != 0)
            t->resources = mask;
        break;
    case CFG_TK_DESTINATION:
        if (strcmp(value, "sqlite") == 0 || strcmp(value, "webhook") == 0)
            t->destination = value[0] == 's' ? DEST_SQLITE : DEST_WEBHOOK;
        else
            add_error(L, L->lineno, key, "'%s' is not a destination; accepted: sqlite, webhook",
                      value);
        break;
    case CFG_TK_CHECKPOINT_MODE:
        if (strcmp(value, "dlq") == 0 || strcmp(value, "hold") == 0)
            t->checkpoint_mode = value[0] == 'd' ? CKPT_DLQ : CKPT_HOLD;
        else
            add_error(L, L->lineno, key, "'%s' is not a checkpoint mode; accepted: dlq, hold",
                      value);
        break;
    case CFG_TK_WEBHOOK_URL:
        if (cfg_check_url(value, &why) < 0)
            add_error(L, L->lineno, key, "'%s' %s", value, why);
        else
            t->webhook_url = xstrdup(value);
        break;
    default:
        break;
    }
}

static void tenant_key(struct loader *L, const char *section, const char *name, const char *value)
{
    int ti = tenant_index(L->cfg, section + 7);
    if (ti < 0)
        return; /* the header was reported */
    char *key = xasprintf("%s.%s", section, name);
    int tk;
    for (tk = 0; tk < CFG_TK_COUNT; tk++)
        if (strcmp(cfg_tenant_keys[tk], name) == 0)
            break;
    int *seen = tk < CFG_TK_COUNT ? &L->tlines[ti].line[tk] : NULL;
    if (!seen)
        add_error(L, L->lineno, key,
                  "unknown key; [tenant.NAME] accepts: token_file, "
                  "resources, destination, checkpoint_mode, webhook_url, webhook_secret_file");
    else if (*seen)
        add_error(L, L->lineno, key, "duplicate key: already set at line %d (set each key once)",
                  *seen);
    else if (!*value)
        add_error(L, L->lineno, key, "empty value");
    if (seen && !*seen) {
        *seen = L->lineno;
        if (*value)
            tenant_value(L, &L->cfg->tenants[ti], (enum cfg_tenant_key)tk, key, value);
    }
    free(key);
}

/*
 * inih's handler: one key = value.  The section comes from the reader, not
 * from inih, which truncates long section names.
 */
static int on_key(void *user, const char *inih_section, const char *name, const char *value)
{
    struct loader *L = user;
    const char *section = L->section ? L->section : "";
    (void)inih_section;
    if (section[0] == '#')
        return 1; /* in a section already reported as wrong */
    if (section[0] == '\0')
        add_error(L, L->lineno, name, "key outside of any section; put it under its [section]");
    else if (strncmp(section, "tenant.", 7) == 0)
        tenant_key(L, section, name, value);
    else
        global_key(L, section, name, value);
    return 1;
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
    add_error(L, l1 > l2 ? l1 : l2, key, "%s.%s must not exceed %s.%s (%s)", sec, lo_key, sec,
              hi_key, what);
    free(key);
}

static void check_globals(struct loader *L)
{
    const struct config *c = L->cfg;
    check_order(L, "vomo", "connect_timeout", "request_timeout", c->connect_timeout_ms,
                c->request_timeout_ms, "the connect phase is part of the request");
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
        add_error(L, line, key, "%s", why);
        free(why);
    } else {
        log_add_secret(*out);
        if (warning)
            add_warning(L, line, key, warning);
        free(warning);
    }
    free(key);
}

static void tenant_error(struct loader *L, const struct tenant_cfg *t, int line,
                         enum cfg_tenant_key tk, const char *msg)
{
    char *key = xasprintf("tenant.%s.%s", t->name, cfg_tenant_keys[tk]);
    add_error(L, line, key, "%s", msg);
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
                add_warning(L, lines[k], key, "ignored: destination is sqlite");
                free(key);
            }
    }
    resolve_path(L, &t->token_file);
    resolve_path(L, &t->webhook_secret_file);
    if (!(L->flags & CFG_SKIP_SECRETS) && t->token_file)
        load_secret(L, t, lines[CFG_TK_TOKEN_FILE], "token_file", t->token_file, &t->token);
    if (!(L->flags & CFG_SKIP_SECRETS) && t->webhook_secret_file && t->destination == DEST_WEBHOOK)
        load_secret(L, t, lines[CFG_TK_WEBHOOK_SECRET_FILE], "webhook_secret_file",
                    t->webhook_secret_file, &t->webhook_secret);
}

/* Fills cfg with every default, parsed from the key table. */
static void apply_defaults(struct loader *L)
{
    for (size_t i = 0; i < cfg_nkeys; i++) {
        size_t before = L->errs->count;
        set_value(L, &cfg_keys[i], cfg_keys[i].def, cfg_keys[i].def);
        if (L->errs->count != before)
            abort(); /* a default outside its own bounds is a bug */
    }
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

static void parse_and_check(struct loader *L)
{
    apply_defaults(L);
    (void)ini_parse_stream(read_line, L, on_key, L); /* every problem is in L->errs */
    if (L->cfg->ntenants == 0)
        add_error(L, 0, NULL,
                  "no [tenant.NAME] section: at least one tenant is required, e.g. "
                  "[tenant.acme] with token_file = /etc/vomo-sync/acme.token");
    check_globals(L);
    resolve_path(L, &L->cfg->state_db);
    for (size_t i = 0; i < L->cfg->ntenants; i++)
        check_tenant(L, i);
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
            add_error(&L, 0, NULL, "the configuration file is larger than %d KiB",
                      CFG_FILE_MAX / 1024);
        else
            add_error(&L, 0, NULL, "cannot read the configuration file: %s%s", strerror(-rc),
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
    free(L.dir);
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
    }
    free(cfg->tenants);
    free(cfg->path);
    free(cfg->state_db);
    free(cfg->base_url);
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
    int i = tenant_index(cfg, name);
    return i < 0 ? NULL : &cfg->tenants[i];
}
