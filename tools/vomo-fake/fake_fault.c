/*
 * fake_fault.c - scriptable fault rules: adding, matching (method, path glob,
 * tenant, body substring), probability and next-N accounting, and the
 * "key=value" spelling used by scenario files and the command line.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_int.h"

static const char *const kind_names[] = {"status", "delay", "reset", "hang", "malformed", "lose",
                                         "stall"};

const char *fake_fault_kind_name(enum fake_fault_kind k)
{
    return (size_t)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

int fake_fault_kind_parse(const char *s, enum fake_fault_kind *out)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(kind_names); i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (enum fake_fault_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

static char *dup_opt(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

int fake_add_fault(struct fake *f, const struct fake_fault *rule)
{
    if (!rule || (size_t)rule->kind >= ARRAY_SIZE(kind_names) || rule->count < 0)
        return -EINVAL;
    if (rule->kind == FAKE_FAULT_STATUS && (rule->status < 100 || rule->status > 599))
        return -EINVAL;
    if (rule->kind == FAKE_FAULT_DELAY && rule->delay_ms < 0)
        return -EINVAL;
    struct fake_rule r = {0};
    r.method = dup_opt(rule->method && strcmp(rule->method, "*") != 0 ? rule->method : NULL);
    r.path = dup_opt(rule->path);
    r.tenant = dup_opt(rule->tenant);
    r.body_contains = dup_opt(rule->body_contains);
    r.retry_after = dup_opt(rule->retry_after);
    r.body = rule->body ? xstrdup(rule->body) : NULL;
    r.probability = rule->probability;
    r.limited = rule->count > 0;
    r.count = rule->count;
    r.kind = rule->kind;
    r.status = rule->status;
    r.delay_ms = rule->delay_ms;
    pthread_mutex_lock(&f->mu);
    r.id = f->next_rule_id++;
    f->rules = xrealloc(f->rules, (f->nrules + 1) * sizeof(*f->rules));
    f->rules[f->nrules++] = r;
    pthread_mutex_unlock(&f->mu);
    return r.id;
}

int fake_fault_hits(struct fake *f, int id)
{
    int hits = -ENOENT;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nrules; i++)
        if (f->rules[i].id == id)
            hits = f->rules[i].hits;
    pthread_mutex_unlock(&f->mu);
    return hits;
}

static void rule_free(struct fake_rule *r)
{
    free(r->method);
    free(r->path);
    free(r->tenant);
    free(r->body_contains);
    free(r->retry_after);
    free(r->body);
}

void fake_rules_free_locked(struct fake *f)
{
    for (size_t i = 0; i < f->nrules; i++)
        rule_free(&f->rules[i]);
    free(f->rules);
    f->rules = NULL;
    f->nrules = 0;
}

void fake_clear_faults(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    fake_rules_free_locked(f);
    pthread_mutex_unlock(&f->mu);
}

static bool rule_matches(const struct fake_rule *r, const char *method, const char *path,
                         const char *tenant, const char *body)
{
    if (r->limited && r->count <= 0)
        return false;
    if (r->method && strcasecmp(r->method, method) != 0)
        return false;
    if (r->path && fnmatch(r->path, path, 0) != 0)
        return false;
    if (r->tenant && (!tenant || strcmp(r->tenant, tenant) != 0))
        return false;
    if (r->body_contains && (!body || !strstr(body, r->body_contains)))
        return false;
    return true;
}

bool fake_fault_pick_locked(struct fake *f, const char *method, const char *path,
                            const char *tenant, const char *body, struct fake_rule *out)
{
    for (size_t i = 0; i < f->nrules; i++) {
        struct fake_rule *r = &f->rules[i];
        if (!rule_matches(r, method, path, tenant, body))
            continue;
        if (r->probability > 0 && r->probability < 1) {
            double roll = (double)(fake_rand_locked(f) >> 11) / (double)(1ULL << 53);
            if (roll >= r->probability)
                continue;
        }
        if (r->limited)
            r->count--;
        r->hits++;
        *out = *r;
        return true;
    }
    return false;
}

static void json_opt(struct buf *b, const char *key, const char *v)
{
    if (!v)
        return;
    (void)!buf_printf(b, ",\"%s\":\"", key);
    (void)!buf_json_escape(b, v);
    (void)!buf_puts(b, "\"");
}

char *fake_rules_json_locked(struct fake *f)
{
    struct buf b;
    buf_init(&b, 0);
    (void)!buf_puts(&b, "[");
    for (size_t i = 0; i < f->nrules; i++) {
        const struct fake_rule *r = &f->rules[i];
        (void)!buf_printf(&b, "%s{\"id\":%d,\"kind\":\"%s\",\"hits\":%d", i ? "," : "", r->id,
                          fake_fault_kind_name(r->kind), r->hits);
        if (r->limited)
            (void)!buf_printf(&b, ",\"count_left\":%d", r->count);
        (void)!buf_printf(&b, ",\"probability\":%g,\"status\":%d,\"delay_ms\":%d", r->probability,
                          r->status, r->delay_ms);
        json_opt(&b, "method", r->method);
        json_opt(&b, "path", r->path);
        json_opt(&b, "tenant", r->tenant);
        json_opt(&b, "body_contains", r->body_contains);
        json_opt(&b, "retry_after", r->retry_after);
        (void)!buf_puts(&b, "}");
    }
    (void)!buf_puts(&b, "]");
    return buf_steal(&b);
}

static int parse_int_word(const char *v, int *out)
{
    int64_t x;
    if (parse_i64(v, &x) < 0 || x < 0 || x > 1000000000)
        return -EINVAL;
    *out = (int)x;
    return 0;
}

static int fault_set_key(struct fake_fault *o, const char *k, const char *v)
{
    char *end;
    if (strcmp(k, "method") == 0)
        o->method = v;
    else if (strcmp(k, "path") == 0)
        o->path = v;
    else if (strcmp(k, "tenant") == 0)
        o->tenant = v;
    else if (strcmp(k, "body_contains") == 0)
        o->body_contains = v;
    else if (strcmp(k, "retry_after") == 0)
        o->retry_after = v;
    else if (strcmp(k, "kind") == 0)
        return fake_fault_kind_parse(v, &o->kind);
    else if (strcmp(k, "status") == 0)
        return parse_int_word(v, &o->status);
    else if (strcmp(k, "count") == 0)
        return parse_int_word(v, &o->count);
    else if (strcmp(k, "delay_ms") == 0)
        return parse_int_word(v, &o->delay_ms);
    else if (strcmp(k, "probability") == 0) {
        o->probability = strtod(v, &end);
        return end != v && *end == '\0' ? 0 : -EINVAL;
    } else
        return -EINVAL;
    return 0;
}

int fake_fault_parse(char *buf, struct fake_fault *out)
{
    memset(out, 0, sizeof(*out));
    bool have_kind = false;
    char *p = buf;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
        char *eq = strchr(w, '=');
        if (!eq)
            return -EINVAL;
        *eq = '\0';
        if (fault_set_key(out, w, eq + 1) < 0)
            return -EINVAL;
        have_kind |= strcmp(w, "kind") == 0;
    }
    return have_kind ? 0 : -EINVAL;
}
