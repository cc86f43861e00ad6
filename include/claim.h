/*
 * claim.h - at most one delivery of a record in flight.  A scan, the DLQ
 * processor and a reconciliation's deletion each claim (resource, id)
 * before handing a record to the destination, and give the claim back only
 * once the destination's memory (the records table) says what it holds:
 * so a delivery can never overtake another one of the same record, and
 * whoever comes second decides from what the first one left (a DLQ row
 * whose version is older than what a scan just delivered resolves as
 * superseded instead of overwriting it at the receiver).
 *
 * A claim that is taken while another holds the record waits in a FIFO and
 * is handed the record when it is released: granted() then runs with the
 * claim held, and the new holder checks again what the destination holds.
 * Claims of the same owner (the records of one page) never wait for each
 * other, so a page cannot wait for itself.
 *
 * Ownership: the table (struct claims) is embedded in its destination;
 * claims are embedded in their owners, which must keep them alive until
 * released.  Nothing here does I/O or keeps time: a table of who holds
 * what, on the event loop's thread.
 */
#ifndef VOMO_CLAIM_H
#define VOMO_CLAIM_H

#include <stdbool.h>
#include <stddef.h>

struct claim_entry;

enum claim_state { CLAIM_IDLE, CLAIM_HELD, CLAIM_WAITING };

struct claim {
    /* set by owner */
    void (*granted)(struct claim *c); /* a waiting claim now holds the record */
    const void *owner;                /* claims of one owner never wait for each other */
    /* private */
    enum claim_state state;
    struct claim_entry *entry;
    struct claim *next; /* in the entry's queue of waiting claims */
};

struct claims {
    struct claim_entry **buckets;
    size_t nbuckets;
    size_t count; /* records held or waited for */
};

void claims_init(struct claims *cs);
/* Frees the table; claims still in it are forgotten (their owners are gone). */
void claims_free(struct claims *cs);
/* Claims (resource, id) for c, which must be idle (zero-initialised with
 * granted and owner set).  true: c holds it now; false: c waits and
 * granted(c) runs when it is c's turn. */
bool claim_take(struct claims *cs, struct claim *c, const char *resource, const char *id);
/* Gives back a held claim (the next waiting one is granted it, possibly
 * before this returns) or withdraws a waiting one; an idle claim is left as
 * it is.  c is idle afterwards. */
void claim_release(struct claims *cs, struct claim *c);
/* How many records are held or waited for (for tests and status). */
size_t claims_count(const struct claims *cs);

#endif
