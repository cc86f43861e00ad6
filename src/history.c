/*
 * history.c - the in-memory accumulator of the alert history (see
 * history.h): a dense array of entries indexed by an open-addressing hash
 * table of the key (series, tenant, resource, bucket), and a small list of
 * each slot's last complete scan.
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct slot_seen {
    char tenant[HISTORY_TENANT_LEN];
    char resource[HISTORY_RESOURCE_LEN];
    int64_t at_ms;
};

struct history {
    int64_t resolution_ms;
    struct history_entry *v;
    size_t n, cap;
    uint32_t *index;  /* 0 = empty, else entry index + 1 */
    size_t index_cap; /* a power of two, > 2 * cap */
    uint64_t dropped;
    struct slot_seen *slots;
    size_t nslots, slots_cap;
};

static struct history *global;

static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull;
}

static uint64_t key_hash(const char *series, const char *tenant, const char *resource, int64_t at)
{
    uint64_t h = 14695981039346656037ull;
    h = hash_str(hash_str(hash_str(h, series), tenant), resource);
    return (h ^ (uint64_t)at) * 1099511628211ull;
}

struct history *history_new(int64_t resolution_ms)
{
    struct history *h = xcalloc(1, sizeof(*h));
    h->resolution_ms = resolution_ms > 0 ? resolution_ms : 60000;
    return h;
}

void history_free(struct history *h)
{
    if (!h)
        return;
    free(h->v);
    free(h->index);
    free(h->slots);
    free(h);
}

int64_t history_resolution(const struct history *h)
{
    return h->resolution_ms;
}

void history_set_resolution(struct history *h, int64_t resolution_ms)
{
    if (resolution_ms > 0)
        h->resolution_ms = resolution_ms;
}

int64_t history_bucket(const struct history *h, int64_t now_ms)
{
    int64_t r = h->resolution_ms;
    int64_t q = now_ms / r;
    if (now_ms < 0 && q * r != now_ms)
        q--;
    return q * r;
}

static void reindex(struct history *h, size_t new_cap)
{
    free(h->index);
    h->index_cap = new_cap;
    h->index = xcalloc(new_cap, sizeof(*h->index));
    for (size_t i = 0; i < h->n; i++) {
        const struct history_entry *e = &h->v[i];
        size_t j = key_hash(e->series, e->tenant, e->resource, e->at_ms) & (new_cap - 1);
        while (h->index[j])
            j = (j + 1) & (new_cap - 1);
        h->index[j] = (uint32_t)(i + 1);
    }
}

/* The entry of the key, created at 0 when new; NULL when the buffer is full. */
static struct history_entry *entry_for(struct history *h, int64_t at, const char *series,
                                       const char *tenant, const char *resource, bool sample)
{
    struct history_entry k;
    copy_cut(k.series, sizeof(k.series), series);
    copy_cut(k.tenant, sizeof(k.tenant), tenant);
    copy_cut(k.resource, sizeof(k.resource), resource);
    if (h->index_cap == 0)
        reindex(h, 64);
    size_t mask = h->index_cap - 1;
    size_t j = key_hash(k.series, k.tenant, k.resource, at) & mask;
    for (; h->index[j]; j = (j + 1) & mask) {
        struct history_entry *e = &h->v[h->index[j] - 1];
        if (e->at_ms == at && strcmp(e->series, k.series) == 0 &&
            strcmp(e->tenant, k.tenant) == 0 && strcmp(e->resource, k.resource) == 0)
            return e;
    }
    if (h->n >= HISTORY_MAX_ENTRIES) {
        h->dropped++;
        return NULL;
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 32;
        h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    struct history_entry *e = &h->v[h->n];
    *e = k;
    e->at_ms = at;
    e->value = 0;
    e->sample = sample;
    h->index[j] = (uint32_t)(++h->n);
    if (h->n * 2 >= h->index_cap)
        reindex(h, h->index_cap * 2);
    return &h->v[h->n - 1];
}

void history_add(struct history *h, int64_t now_ms, const char *series, const char *tenant,
                 const char *resource, int64_t n)
{
    struct history_entry *e =
        entry_for(h, history_bucket(h, now_ms), series, tenant, resource, false);
    if (e)
        e->value += n;
}

void history_sample(struct history *h, int64_t now_ms, const char *series, const char *tenant,
                    const char *resource, int64_t value)
{
    struct history_entry *e =
        entry_for(h, history_bucket(h, now_ms), series, tenant, resource, true);
    if (e)
        e->value = value;
}

const struct history_entry *history_entries(const struct history *h, size_t *n)
{
    *n = h->n;
    return h->v;
}

void history_clear(struct history *h)
{
    h->n = 0;
    if (h->index)
        memset(h->index, 0, h->index_cap * sizeof(*h->index));
}

uint64_t history_dropped(const struct history *h)
{
    return h->dropped;
}

static struct slot_seen *find_slot(const struct history *h, const char *tenant,
                                   const char *resource)
{
    for (size_t i = 0; i < h->nslots; i++)
        if (strcmp(h->slots[i].tenant, tenant) == 0 && strcmp(h->slots[i].resource, resource) == 0)
            return &h->slots[i];
    return NULL;
}

void history_scan_complete(struct history *h, const char *tenant, const char *resource,
                           int64_t at_ms)
{
    struct slot_seen *s = find_slot(h, tenant, resource);
    if (!s) {
        if (h->nslots >= HISTORY_MAX_SLOTS)
            return;
        if (h->nslots == h->slots_cap) {
            h->slots_cap = h->slots_cap ? h->slots_cap * 2 : 16;
            h->slots = xrealloc(h->slots, h->slots_cap * sizeof(*h->slots));
        }
        s = &h->slots[h->nslots++];
        copy_cut(s->tenant, sizeof(s->tenant), tenant);
        copy_cut(s->resource, sizeof(s->resource), resource);
        s->at_ms = 0;
    }
    if (at_ms > s->at_ms)
        s->at_ms = at_ms;
}

int64_t history_last_complete(const struct history *h, const char *tenant, const char *resource)
{
    const struct slot_seen *s = find_slot(h, tenant, resource);
    return s ? s->at_ms : 0;
}

void history_open(int64_t resolution_ms)
{
    if (!global)
        global = history_new(resolution_ms);
    else
        history_set_resolution(global, resolution_ms);
}

void history_close(void)
{
    history_free(global);
    global = NULL;
}

struct history *history_global(void)
{
    return global;
}

void history_hook_add(const char *series, const char *tenant, const char *resource, int64_t n)
{
    if (global && tenant)
        history_add(global, clock_wall_ms(), series, tenant, resource ? resource : "", n);
}

void history_hook_scan_complete(const char *tenant, const char *resource)
{
    if (global && tenant && resource)
        history_scan_complete(global, tenant, resource, clock_wall_ms());
}
