/*
 * idset.h - a hash map from record id to the newest version (updated_at)
 * a scan has handled: de-duplication within a scan, the union of ids over
 * a scan's passes, and the "seen" set reconciliation diffs against.
 * Open addressing with linear probing; keys and values are copied.
 */
#ifndef VOMO_IDSET_H
#define VOMO_IDSET_H

#include <stddef.h>

#include "util.h"

struct idset_entry {
    char *id;
    char version[TS_LEN];
};

struct idset {
    struct idset_entry *slots;
    size_t cap;
    size_t count;
};

void idset_init(struct idset *s);
void idset_free(struct idset *s);
/* The version stored for id, or NULL. */
const char *idset_get(const struct idset *s, const char *id);
/* Inserts or overwrites id's version. */
void idset_put(struct idset *s, const char *id, const char *version);

#endif
