/*
 * idset.h - a hash map from record id to the newest version (updated_at)
 * a scan has handled: de-duplication within a scan, the union of ids over
 * a scan's passes, and the "seen" set reconciliation diffs against.
 *
 * It holds one entry per record of a full scan, so it is compact: VOMO ids
 * (decimal digits once normalised) and versions (normalised timestamps) are
 * stored as two 64-bit integers, 16 bytes an entry at up to 75% load.  Any
 * other key (e.g. the content hash standing for a record without an id) goes
 * to a small side table of strings.  Keys and versions are copied.
 */
#ifndef VOMO_IDSET_H
#define VOMO_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct idset_num {
    uint64_t key;    /* id + 1, so 0 marks an empty slot */
    int64_t version; /* ms since the epoch; INT64_MIN for "no version" */
};

struct idset_str {
    char *id;
    char version[TS_LEN];
};

struct idset {
    struct idset_num *slots;
    size_t cap, used;
    struct idset_str *strs;
    size_t nstrs;
    size_t count; /* distinct ids, both kinds */
};

void idset_init(struct idset *s);
void idset_free(struct idset *s);
/* Whether id is present; its version (normalised, "" when none) goes to
 * version when non-NULL. */
bool idset_get(const struct idset *s, const char *id, char version[TS_LEN]);
/* Inserts or overwrites id's version: a normalised timestamp (util.h), or
 * "" / NULL for none. */
void idset_put(struct idset *s, const char *id, const char *version);

#endif
