/*
 * dest_sqlite.c - the embedded default destination: the `records` table of
 * the state database itself.  The scan writes a record in its page's
 * transaction, together with the page's dead letters and (after the last
 * page) the checkpoint, so delivery is exactly-once; there is nothing to
 * send, and a delivery succeeds at once.
 */
#include <stdlib.h>

#include "dest.h"
#include "util.h"

static void sqlite_deliver(struct dest *d, struct delivery *dl)
{
    (void)d;
    struct delivery_result r = {.cls = EC_NONE};
    dl->done(dl, &r);
}

static void sqlite_free(struct dest *d)
{
    claims_free(&d->claims);
    free(d);
}

static const struct dest_ops sqlite_ops = {
    .kind = "sqlite",
    .deliver = sqlite_deliver,
    .free = sqlite_free,
};

struct dest *dest_sqlite_new(struct tenant *t)
{
    struct dest *d = xcalloc(1, sizeof(*d));
    d->ops = &sqlite_ops;
    d->tenant = t;
    claims_init(&d->claims);
    return d;
}
