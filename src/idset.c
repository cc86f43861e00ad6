/*
 * idset.c - the id -> version hash map of idset.h (FNV-1a, linear probing,
 * grown at 50% load so probes stay short).
 */
#include "idset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void idset_init(struct idset *s)
{
    s->slots = NULL;
    s->cap = 0;
    s->count = 0;
}

void idset_free(struct idset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].id);
    free(s->slots);
    idset_init(s);
}

static struct idset_entry *find(const struct idset *s, const char *id)
{
    if (!s->cap)
        return NULL;
    size_t i = hash_str(id) & (s->cap - 1);
    while (s->slots[i].id) {
        if (strcmp(s->slots[i].id, id) == 0)
            return &s->slots[i];
        i = (i + 1) & (s->cap - 1);
    }
    return &s->slots[i];
}

static void grow(struct idset *s)
{
    struct idset old = *s;
    s->cap = old.cap ? old.cap * 2 : 64;
    s->slots = xcalloc(s->cap, sizeof(*s->slots));
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].id)
            continue;
        struct idset_entry *e = find(s, old.slots[i].id);
        *e = old.slots[i];
    }
    free(old.slots);
}

const char *idset_get(const struct idset *s, const char *id)
{
    struct idset_entry *e = find(s, id);
    return e && e->id ? e->version : NULL;
}

void idset_put(struct idset *s, const char *id, const char *version)
{
    if ((s->count + 1) * 2 > s->cap)
        grow(s);
    struct idset_entry *e = find(s, id);
    if (!e->id) {
        e->id = xstrdup(id);
        s->count++;
    }
    snprintf(e->version, TS_LEN, "%s", version ? version : "");
}
