/*
 * config_read.c - the line-level half of loading the INI file.  inih does
 * the parsing; this file feeds it lines through its own reader, which
 * counts them (inih calls the key handler right after the line was read,
 * so the count is the key's line), accepts `;` and `#` comments (whole
 * line, or inline after white space), strips leading white space (so inih
 * never mistakes an indented line for a continuation), and catches lines
 * inih would reject, so that every syntax error is reported, not just the
 * first.  Section headers are checked here too, since inih says nothing
 * about an empty section and truncates long names.  The handler routes each
 * key to its parser in config_values.c and catches unknown and duplicate
 * keys.
 */
#include "config_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const sections[] = {"daemon", "vomo",    "poll", "retry",  "breaker",
                                       "dlq",    "webhook", "http", "alerts", "slo"};

char *cfg_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
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
        cfg_add_error(L, L->lineno, NULL,
                      "unknown section [%s]; accepted: [daemon], [vomo], [poll], [retry], "
                      "[breaker], [dlq], [webhook], [http], [alerts], [slo], [tenant.NAME]",
                      name);
        return "#";
    }
    const char *tn = name + 7;
    if (!tenant_name_ok(tn)) {
        cfg_add_error(L, L->lineno, NULL,
                      "invalid tenant name '%s' in [%s]; accepted: 1 to 64 of A-Z a-z 0-9 _ -", tn,
                      name);
        return "#";
    }
    int i = cfg_tenant_index(L->cfg, tn);
    if (i >= 0) {
        cfg_add_error(L, L->lineno, NULL,
                      "section [%s] repeats the one at line %d; each tenant has one section", name,
                      L->cfg->tenants[i].line);
        return "#";
    }
    add_tenant(L, tn);
    return name;
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
        cfg_add_error(L, L->lineno, NULL, "cannot parse '%s': write `key = value` (not key: value)",
                      s);
        return -1;
    }
    if (!eq) {
        cfg_add_error(L, L->lineno, NULL,
                      "cannot parse '%s': expected `key = value`, a [section] or a comment", s);
        return -1;
    }
    if (eq == s) {
        cfg_add_error(L, L->lineno, NULL, "missing key name before '=' in '%s'", s);
        return -1;
    }
    return 0;
}

/* Turns one raw line into what inih should see; the caller frees it. */
static char *cook_line(struct loader *L, char *line, size_t rawlen)
{
    if (memchr(line, '\0', rawlen)) {
        cfg_add_error(L, L->lineno, NULL, "line contains a NUL byte; the file must be text");
        return xstrdup("");
    }
    if (L->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3;
    cut_comment(line);
    char *s = cfg_trim(line);
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']') {
            cfg_add_error(L, L->lineno, NULL, "section header '%s' lacks its closing ']'", s);
            free(L->section);
            L->section = xstrdup("#");
            return xstrdup("[#]");
        }
        s[n - 1] = '\0';
        free(L->section);
        L->section = xstrdup(check_section(L, cfg_trim(s + 1)));
        return xasprintf("[%s]", L->section);
    }
    if (*s && check_key_line(L, s) < 0)
        return xstrdup("");
    return xstrdup(s);
}

/* inih's reader: hands over the next line of L->data, cooked. */
char *cfg_read_line(char *str, int num, void *stream)
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
        cfg_add_error(L, L->lineno, NULL,
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
        cfg_add_error(L, L->lineno, key, "unknown key; [%s] accepts: %s", section, acc);
        free(acc);
    } else if (L->key_line[i]) {
        cfg_add_error(L, L->lineno, key,
                      "duplicate key: already set at line %d (set each key once)",
                      abs(L->key_line[i]));
    } else {
        size_t before = L->errs->count;
        if (!*value && cfg_keys[i].def[0])
            cfg_add_error(L, L->lineno, key, "empty value; remove the line to use the default (%s)",
                          cfg_keys[i].def);
        else
            cfg_set_value(L, &cfg_keys[i], key, value);
        /* A negative line marks a key whose value was wrong. */
        L->key_line[i] = L->errs->count > before ? -L->lineno : L->lineno;
    }
    free(key);
}

static void tenant_key(struct loader *L, const char *section, const char *name, const char *value)
{
    int ti = cfg_tenant_index(L->cfg, section + 7);
    if (ti < 0)
        return; /* the header was reported */
    char *key = xasprintf("%s.%s", section, name);
    int tk;
    for (tk = 0; tk < CFG_TK_COUNT; tk++)
        if (strcmp(cfg_tenant_keys[tk], name) == 0)
            break;
    int *seen = tk < CFG_TK_COUNT ? &L->tlines[ti].line[tk] : NULL;
    if (!seen)
        cfg_add_error(L, L->lineno, key,
                      "unknown key; [tenant.NAME] accepts: token_file, "
                      "resources, destination, checkpoint_mode, webhook_url, webhook_secret_file, "
                      "vomo_webhook_secret_file");
    else if (*seen)
        cfg_add_error(L, L->lineno, key,
                      "duplicate key: already set at line %d (set each key once)", *seen);
    else if (!*value)
        cfg_add_error(L, L->lineno, key, "empty value");
    if (seen && !*seen) {
        *seen = L->lineno;
        if (*value)
            cfg_tenant_value(L, &L->cfg->tenants[ti], (enum cfg_tenant_key)tk, key, value);
    }
    free(key);
}

/*
 * inih's handler: one key = value.  The section comes from the reader, not
 * from inih, which truncates long section names.
 */
int cfg_on_key(void *user, const char *inih_section, const char *name, const char *value)
{
    struct loader *L = user;
    const char *section = L->section ? L->section : "";
    (void)inih_section;
    if (section[0] == '#')
        return 1; /* in a section already reported as wrong */
    if (section[0] == '\0')
        cfg_add_error(L, L->lineno, name, "key outside of any section; put it under its [section]");
    else if (strncmp(section, "tenant.", 7) == 0)
        tenant_key(L, section, name, value);
    else
        global_key(L, section, name, value);
    return 1;
}
