/*
 * dest.h - where records go.  A destination takes one record (an upsert or
 * a delete) at a time and reports exactly once whether it holds it.  The
 * records table is written by the scan in the page's transaction for every
 * destination: for `sqlite` that write IS the delivery (exactly-once with
 * the checkpoint); for `webhook` it is the memory of what was delivered
 * (at-least-once: a crash between the 2xx and the commit re-sends with the
 * same Idempotency-Key).  Another destination is one new dest_X.c.
 */
#ifndef VOMO_DEST_H
#define VOMO_DEST_H

#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "claim.h"
#include "classify.h"

struct dest;
struct delivery;
struct tenant;

struct delivery_result {
    enum err_class cls; /* EC_NONE: the destination holds the record */
    /* TR_DEAD_LETTER: a person must look at this record now (manual
     * review), whatever the class says about retrying in general. */
    enum treatment treatment;
    long status;
    bool cancelled; /* shutting down: nothing is known, nothing is recorded */
    char message[256];
};

typedef void (*delivery_done_fn)(struct delivery *dl, const struct delivery_result *r);

struct delivery {
    /* set by the owner; borrowed, valid until done */
    const char *resource;
    const char *id;
    const char *updated_at; /* normalised; the deletion time for a delete */
    const char *payload;    /* the record's JSON; NULL for a delete */
    bool is_delete;
    const char *trace_id;
    delivery_done_fn done;
    void *arg;
    /* private to the destination */
    struct call call;
    long paused_status;      /* the answer with which this record paused the destination */
    uint64_t paused_at_mark; /* the destination's delivered count at that moment */
};

struct dest_ops {
    const char *kind;
    /* Starts a delivery; done runs exactly once (possibly before return). */
    void (*deliver)(struct dest *d, struct delivery *dl);
    void (*free)(struct dest *d);
};

struct dest {
    const struct dest_ops *ops;
    struct tenant *tenant;
    /* The records with a delivery in flight: whoever hands a record to
     * this destination claims it first (claim.h), so one record never has
     * two deliveries in flight and an older version never overtakes a
     * newer one.  Initialised and freed by each dest_X.c. */
    struct claims claims;
};

struct dest *dest_sqlite_new(struct tenant *t);
struct dest *dest_webhook_new(struct tenant *t);

static inline void dest_deliver(struct dest *d, struct delivery *dl)
{
    d->ops->deliver(d, dl);
}

/* The webhook body of the contract; the caller frees it. */
char *dest_webhook_body(const char *tenant, const struct delivery *dl);

#endif
