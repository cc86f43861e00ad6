/*
 * idset.c - the id -> version map of idset.h: open addressing with linear
 * probing over (id, version) integer pairs, grown at 75% load; a linear side
 * table for the rare keys that are not plain decimal ids.
 */
#include "idset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_VERSION INT64_MIN

/* A canonical decimal id (no sign, no leading zero, fits) as an integer. */
static bool numeric_key(const char *id, uint64_t *key)
{
    size_t n = strlen(id);
    if (n == 0 || n > 18 || (n > 1 && id[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (id[i] < '0' || id[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(id[i] - '0');
    }
    *key = v + 1;
    return true;
}

/* Versions are normalised timestamps (util.h), exact to the millisecond;
 * anything else counts as "no version". */
static int64_t numeric_version(const char *version)
{
    int64_t ms;
    if (!version || !*version || ts_parse(version, &ms) < 0)
        return NO_VERSION;
    return ms;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

void idset_init(struct idset *s)
{
    memset(s, 0, sizeof(*s));
}

void idset_free(struct idset *s)
{
    for (size_t i = 0; i < s->nstrs; i++)
        free(s->strs[i].id);
    free(s->strs);
    free(s->slots);
    idset_init(s);
}

/*
 * The home slot of a key.  VOMO hands ids out in sequence and a page holds
 * neighbours, so runs of IDSET_RUN consecutive ids share one home block of
 * slots (one cache line or two): the block is chosen by mixing the id's
 * high bits, the slot within it by its low bits.  A scan that walks ids in
 * order then touches each cache line once for IDSET_RUN ids instead of
 * once for every id (with 100,000 ids the table is 4 MiB, and every miss
 * went to memory); ids that are not neighbours still spread over the
 * table as the mixing spreads them.
 */
#define IDSET_RUN_BITS 3
static size_t home(const struct idset *s, uint64_t key)
{
    uint64_t block = mix(key >> IDSET_RUN_BITS) << IDSET_RUN_BITS;
    return (size_t)((block | (key & ((1u << IDSET_RUN_BITS) - 1))) & (s->cap - 1));
}

static struct idset_num *find(const struct idset *s, uint64_t key)
{
    if (!s->cap)
        return NULL;
    size_t i = home(s, key);
    while (s->slots[i].key && s->slots[i].key != key)
        i = (i + 1) & (s->cap - 1);
    return &s->slots[i];
}

static void grow(struct idset *s)
{
    struct idset_num *old = s->slots;
    size_t oldcap = s->cap;
    s->cap = oldcap ? oldcap * 2 : 1024;
    s->slots = xcalloc(s->cap, sizeof(*s->slots));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key)
            *find(s, old[i].key) = old[i];
    free(old);
}

static struct idset_str *find_str(const struct idset *s, const char *id)
{
    for (size_t i = 0; i < s->nstrs; i++)
        if (strcmp(s->strs[i].id, id) == 0)
            return &s->strs[i];
    return NULL;
}

bool idset_get(const struct idset *s, const char *id, char version[TS_LEN])
{
    uint64_t key;
    if (numeric_key(id, &key)) {
        struct idset_num *e = find(s, key);
        if (e && e->key) {
            if (version && e->version == NO_VERSION)
                version[0] = '\0';
            else if (version)
                ts_format(e->version, version);
            return true;
        }
        return false;
    }
    const struct idset_str *e = find_str(s, id);
    if (e && version)
        snprintf(version, TS_LEN, "%s", e->version);
    return e != NULL;
}

void idset_put(struct idset *s, const char *id, const char *version)
{
    uint64_t key;
    if (numeric_key(id, &key)) {
        if ((s->used + 1) * 4 > s->cap * 3)
            grow(s);
        struct idset_num *e = find(s, key);
        if (!e->key) {
            e->key = key;
            s->used++;
            s->count++;
        }
        e->version = numeric_version(version);
        return;
    }
    struct idset_str *e = find_str(s, id);
    if (!e) {
        s->strs = xrealloc(s->strs, (s->nstrs + 1) * sizeof(*s->strs));
        e = &s->strs[s->nstrs++];
        e->id = xstrdup(id);
        s->count++;
    }
    snprintf(e->version, TS_LEN, "%s", version ? version : "");
}
