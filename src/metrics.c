/*
 * metrics.c - the metrics registry and its Prometheus text writer (see
 * metrics.h).  Each family keeps its series in a hash table (for the
 * increments, which happen per request) and in a list in creation order
 * (for the writer, so a scrape is stable and readable).
 */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct series {
    struct series *hnext; /* hash chain */
    struct series *next;  /* creation order */
    uint64_t hash;
    char *values[METRICS_MAX_LABELS];
    char *labels_text; /* a="x",b="y": escaped once, when the series is made */
    size_t labels_len;
    double value; /* counter or gauge; histogram: sum */
    uint64_t count;
    uint64_t *buckets; /* histogram: cumulative counts are computed when written */
};

struct metric_family {
    struct metric_family *next;
    enum metric_kind kind;
    char *name, *help;
    char *labels[METRICS_MAX_LABELS];
    size_t nlabels;
    double bounds[METRICS_MAX_BUCKETS];
    char bound_text[METRICS_MAX_BUCKETS][40]; /* le values, formatted once */
    size_t nbuckets;
    struct series **table;
    size_t table_size, nseries;
    struct series *head, **tail;
    uint64_t dropped;
};

struct collector {
    struct collector *next;
    metrics_collect_fn fn;
    void *arg;
};

struct metrics {
    struct metric_family *families, **tail;
    struct collector *collectors, **ctail;
};

static size_t format_value(double v, char out[40]);

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));
    m->tail = &m->families;
    m->ctail = &m->collectors;
    return m;
}

static void series_free(struct series *s)
{
    for (size_t i = 0; i < METRICS_MAX_LABELS; i++)
        free(s->values[i]);
    free(s->labels_text);
    free(s->buckets);
    free(s);
}

void metrics_clear(struct metric_family *f)
{
    if (!f)
        return;
    for (struct series *s = f->head, *next; s; s = next) {
        next = s->next;
        series_free(s);
    }
    memset(f->table, 0, f->table_size * sizeof(*f->table));
    f->head = NULL;
    f->tail = &f->head;
    f->nseries = 0;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (struct metric_family *f = m->families, *next; f; f = next) {
        next = f->next;
        metrics_clear(f);
        free(f->table);
        free(f->name);
        free(f->help);
        for (size_t i = 0; i < f->nlabels; i++)
            free(f->labels[i]);
        free(f);
    }
    for (struct collector *c = m->collectors, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; no ':' in label names, and
 * label names starting with "__" are reserved. */
static bool valid_name(const char *s, bool label)
{
    if (!s || !*s || (label && s[0] == '_' && s[1] == '_'))
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (!label && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_labels(enum metric_kind kind, const char *const *labels, size_t *n)
{
    *n = 0;
    for (; labels && labels[*n]; (*n)++) {
        if (*n >= METRICS_MAX_LABELS || !valid_name(labels[*n], true))
            return false;
        if (kind == METRIC_HISTOGRAM && strcmp(labels[*n], "le") == 0)
            return false;
    }
    return true;
}

static bool valid_buckets(enum metric_kind kind, const double *b, size_t n)
{
    if (kind != METRIC_HISTOGRAM)
        return n == 0;
    if (n == 0 || n > METRICS_MAX_BUCKETS)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
            return false;
    return true;
}

struct metric_family *metrics_register(struct metrics *m, enum metric_kind kind, const char *name,
                                       const char *help, const char *const *labels,
                                       const double *buckets, size_t nbuckets)
{
    size_t nl;
    if (!valid_name(name, false) || metrics_find(m, name) || !valid_labels(kind, labels, &nl) ||
        !valid_buckets(kind, buckets, nbuckets))
        return NULL;
    struct metric_family *f = xcalloc(1, sizeof(*f));
    f->kind = kind;
    f->name = xstrdup(name);
    f->help = xstrdup(help ? help : "");
    f->nlabels = nl;
    for (size_t i = 0; i < nl; i++)
        f->labels[i] = xstrdup(labels[i]);
    f->nbuckets = nbuckets;
    if (nbuckets)
        memcpy(f->bounds, buckets, nbuckets * sizeof(double));
    for (size_t i = 0; i < nbuckets; i++)
        (void)format_value(buckets[i], f->bound_text[i]);
    f->table_size = 64;
    f->table = xcalloc(f->table_size, sizeof(*f->table));
    f->tail = &f->head;
    *m->tail = f;
    m->tail = &f->next;
    return f;
}

struct metric_family *metrics_find(const struct metrics *m, const char *name)
{
    for (struct metric_family *f = m->families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static uint64_t hash_values(const struct metric_family *f, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values[i] ? values[i] : "";
        for (size_t k = 0; v[k] && k < METRICS_MAX_VALUE; k++)
            h = (h ^ (unsigned char)v[k]) * 1099511628211ULL;
        h = (h ^ 0xffu) * 1099511628211ULL;
    }
    return h;
}

static bool same_values(const struct metric_family *f, const struct series *s,
                        const char *const *values)
{
    /* Stored values are cut at METRICS_MAX_VALUE bytes: compare that much. */
    for (size_t i = 0; i < f->nlabels; i++)
        if (strncmp(s->values[i], values[i] ? values[i] : "", METRICS_MAX_VALUE) != 0)
            return false;
    return true;
}

static void grow(struct metric_family *f)
{
    size_t n = f->table_size * 2;
    struct series **t = xcalloc(n, sizeof(*t));
    for (struct series *s = f->head; s; s = s->next) {
        s->hnext = t[s->hash & (n - 1)];
        t[s->hash & (n - 1)] = s;
    }
    free(f->table);
    f->table = t;
    f->table_size = n;
}

static struct series *lookup(const struct metric_family *f, const char *const *values, uint64_t h)
{
    for (struct series *s = f->table[h & (f->table_size - 1)]; s; s = s->hnext)
        if (s->hash == h && same_values(f, s, values))
            return s;
    return NULL;
}

static size_t metrics_escape(const char *in, char *out, size_t outlen);

/* The label part of every sample of the series, escaped once. */
static void label_text(const struct metric_family *f, struct series *s)
{
    size_t cap = 1, n = 0;
    for (size_t i = 0; i < f->nlabels; i++)
        cap += strlen(f->labels[i]) + 2 * strlen(s->values[i]) + 4;
    s->labels_text = xmalloc(cap);
    for (size_t i = 0; i < f->nlabels; i++) {
        n += (size_t)snprintf(s->labels_text + n, cap - n, "%s%s=\"", i ? "," : "", f->labels[i]);
        n += metrics_escape(s->values[i], s->labels_text + n, cap - n);
        s->labels_text[n++] = '"';
    }
    s->labels_text[n] = '\0';
    s->labels_len = n;
}

/* The series for these values, created at zero when absent; NULL when the
 * family is full. */
static struct series *series_get(struct metric_family *f, const char *const *values)
{
    uint64_t h = hash_values(f, values);
    struct series *s = lookup(f, values, h);
    if (s)
        return s;
    if (f->nseries >= METRICS_MAX_SERIES) {
        f->dropped++;
        return NULL;
    }
    if (f->nseries >= f->table_size)
        grow(f);
    s = xcalloc(1, sizeof(*s));
    s->hash = h;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values[i] ? values[i] : "";
        s->values[i] = xstrndup(v, strnlen(v, METRICS_MAX_VALUE));
    }
    if (f->kind == METRIC_HISTOGRAM)
        s->buckets = xcalloc(f->nbuckets, sizeof(uint64_t));
    label_text(f, s);
    s->hnext = f->table[h & (f->table_size - 1)];
    f->table[h & (f->table_size - 1)] = s;
    *f->tail = s;
    f->tail = &s->next;
    f->nseries++;
    return s;
}

void metrics_touch(struct metric_family *f, const char *const *values)
{
    if (f)
        (void)series_get(f, values);
}

void metrics_add(struct metric_family *f, const char *const *values, double by)
{
    if (!f || f->kind == METRIC_HISTOGRAM || (f->kind == METRIC_COUNTER && !(by >= 0)))
        return;
    struct series *s = series_get(f, values);
    if (s)
        s->value += by;
}

void metrics_set(struct metric_family *f, const char *const *values, double v)
{
    if (!f || f->kind != METRIC_GAUGE)
        return;
    struct series *s = series_get(f, values);
    if (s)
        s->value = v;
}

void metrics_observe(struct metric_family *f, const char *const *values, double v)
{
    if (!f || f->kind != METRIC_HISTOGRAM || isnan(v))
        return;
    struct series *s = series_get(f, values);
    if (!s)
        return;
    for (size_t i = 0; i < f->nbuckets; i++)
        if (v <= f->bounds[i]) {
            s->buckets[i]++;
            break;
        }
    s->count++;
    s->value += v;
}

uint64_t metrics_dropped(const struct metric_family *f)
{
    return f ? f->dropped : 0;
}

double metrics_value(const struct metric_family *f, const char *const *values)
{
    if (!f)
        return -1;
    struct series *s = lookup(f, values, hash_values(f, values));
    if (!s)
        return -1;
    return f->kind == METRIC_HISTOGRAM ? (double)s->count : s->value;
}

void metrics_on_collect(struct metrics *m, metrics_collect_fn fn, void *arg)
{
    struct collector *c = xcalloc(1, sizeof(*c));
    c->fn = fn;
    c->arg = arg;
    *m->ctail = c;
    m->ctail = &c->next;
}

/* ---- the text format ---- */

size_t metrics_escape_label(const char *in, char *out, size_t outlen)
{
    return metrics_escape(in, out, outlen);
}

static size_t metrics_escape(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 3 <= outlen; p++) {
        if (*p == '\\' || *p == '"') {
            out[o++] = '\\';
            out[o++] = *p;
        } else if (*p == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *p;
        }
    }
    if (outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
    return o;
}

/* HELP text escapes only \ and newline. */
static int put_help(struct buf *b, const char *help)
{
    int rc = 0;
    for (const char *p = help; *p && rc == 0; p++) {
        if (*p == '\\')
            rc = buf_append(b, "\\\\", 2);
        else if (*p == '\n')
            rc = buf_append(b, "\\n", 2);
        else
            rc = buf_append(b, p, 1);
    }
    return rc;
}

/* Decimal digits of v into out (no terminator); returns their count. */
static size_t put_u64(uint64_t v, char *out)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Integers print as integers (without printf: most samples are counters
 * and a scrape writes thousands of them); other values with as many
 * digits as it takes to read the same double back.  Returns the length. */
static size_t format_value(double v, char out[40])
{
    if (isnan(v))
        return (size_t)snprintf(out, 40, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, 40, v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) < 1e15) {
        size_t n = 0;
        if (v < 0)
            out[n++] = '-';
        n += put_u64((uint64_t)fabs(v), out + n);
        out[n] = '\0';
        return n;
    }
    int n = snprintf(out, 40, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = snprintf(out, 40, "%.17g", v);
    return (size_t)n;
}

/* name{l1="v1",l2="v2"[,le="x"]} value\n, from the pre-escaped labels,
 * assembled in one piece and appended once. */
static int put_sample(struct buf *b, const struct metric_family *f, const struct series *s,
                      const char *suffix, const char *le, double v)
{
    char line[2048];
    size_t nl = strlen(f->name), sl = strlen(suffix), ll = le ? strlen(le) : 0;
    if (nl + sl + s->labels_len + ll + 64 > sizeof(line))
        return -E2BIG;
    size_t n = 0;
    memcpy(line + n, f->name, nl);
    n += nl;
    memcpy(line + n, suffix, sl);
    n += sl;
    if (s->labels_len || le)
        line[n++] = '{';
    memcpy(line + n, s->labels_text, s->labels_len);
    n += s->labels_len;
    if (le) {
        if (s->labels_len)
            line[n++] = ',';
        memcpy(line + n, "le=\"", 4);
        n += 4;
        memcpy(line + n, le, ll);
        n += ll;
        line[n++] = '"';
    }
    if (s->labels_len || le)
        line[n++] = '}';
    line[n++] = ' ';
    n += format_value(v, line + n);
    line[n++] = '\n';
    return buf_append(b, line, n);
}

static int put_histogram(struct buf *b, const struct metric_family *f, const struct series *s)
{
    uint64_t cum = 0;
    int rc = 0;
    for (size_t i = 0; i < f->nbuckets && rc == 0; i++) {
        cum += s->buckets[i];
        rc = put_sample(b, f, s, "_bucket", f->bound_text[i], (double)cum);
    }
    if (rc == 0)
        rc = put_sample(b, f, s, "_bucket", "+Inf", (double)s->count);
    if (rc == 0)
        rc = put_sample(b, f, s, "_sum", NULL, s->value);
    if (rc == 0)
        rc = put_sample(b, f, s, "_count", NULL, (double)s->count);
    return rc;
}

static const char *kind_name(enum metric_kind k)
{
    return k == METRIC_COUNTER ? "counter" : k == METRIC_GAUGE ? "gauge" : "histogram";
}

static int put_family(struct buf *b, const struct metric_family *f)
{
    if (!f->head)
        return 0; /* a family without series is left out, as client libraries do */
    int rc = buf_printf(b, "# HELP %s ", f->name);
    if (rc == 0)
        rc = put_help(b, f->help);
    if (rc == 0)
        rc = buf_printf(b, "\n# TYPE %s %s\n", f->name, kind_name(f->kind));
    for (const struct series *s = f->head; s && rc == 0; s = s->next)
        rc = f->kind == METRIC_HISTOGRAM ? put_histogram(b, f, s)
                                         : put_sample(b, f, s, "", NULL, s->value);
    return rc;
}

int metrics_write(struct metrics *m, struct buf *out)
{
    for (struct collector *c = m->collectors; c; c = c->next)
        c->fn(m, c->arg);
    int rc = 0;
    for (const struct metric_family *f = m->families; f && rc == 0; f = f->next)
        rc = put_family(out, f);
    return rc;
}
