/*
 * classify.h - the one place that turns a raw outcome (libcurl code, HTTP
 * status, what was being done) into an error class, and an error class into
 * a treatment.  No other code decides anything from raw status codes.
 */
#ifndef VOMO_CLASSIFY_H
#define VOMO_CLASSIFY_H

#include <stdbool.h>

#include "util.h"

enum err_class {
    EC_NONE,         /* success */
    EC_TRANSIENT,    /* 502/503/504, timeout, refused, reset, DNS; webhook 408 and 5xx */
    EC_RATE_LIMITED, /* 429 */
    EC_AUTH,         /* 401 */
    EC_FORBIDDEN,    /* 403 */
    EC_NOT_FOUND,    /* 404 (and webhook 410) */
    EC_VALIDATION,   /* 422; webhook 400/413/422 and every 4xx not listed elsewhere */
    EC_SERVER_ERROR, /* 500 and other 5xx not listed above */
    EC_CONFLICT,     /* 409 (VOMO and webhook) */
    EC_BAD_DATA,     /* 2xx whose body is not the expected JSON, or too large */
    EC_UNKNOWN,      /* anything else */
    EC_COUNT
};

/* Where the outcome happened: the same status means different things. */
enum op_context { OP_VOMO_LIST, OP_VOMO_GET, OP_VOMO_WRITE, OP_VOMO_DELETE, OP_WEBHOOK };

enum treatment {
    TR_DONE,              /* success: nothing to do */
    TR_RETRY_BACKOFF,     /* retry with exponential backoff and jitter */
    TR_WAIT_RETRY_AFTER,  /* pause the whole token until Retry-After, then retry */
    TR_STOP_TENANT,       /* stop the tenant until its token changes (401) */
    TR_STOP_OPERATION,    /* stop this resource or operation (403) */
    TR_DEAD_LETTER,       /* no retry: straight to manual review */
    TR_REREAD_RETRY,      /* re-read the resource, re-apply, retry once (409) */
    TR_RETRY_THEN_GONE,   /* retry after a delay, then treat as gone (404 on GET) */
    TR_RETRY_FEW,         /* retry a few times, then surface (500) */
    TR_PAUSE_DESTINATION, /* webhook endpoint misconfigured: pause, tell the operator (only
                             while it is the answer to every record: dest_webhook.c) */
};

struct outcome {
    enum op_context ctx;
    int curl_code;    /* CURLcode; 0 = the transfer completed */
    long http_status; /* 0 when no response */
    bool too_large;   /* body exceeded the response size cap */
    bool bad_body;    /* 2xx but the body failed to parse */
    bool sent;        /* some of the request left this host */
};

enum err_class classify(const struct outcome *o);
enum treatment treatment_for(enum err_class c, enum op_context ctx);
/*
 * Whether a write with this outcome may have been applied by VOMO.  False
 * only when it certainly was not: nothing left this host (connection
 * refused, DNS, TLS handshake, connect timeout), or VOMO answered a
 * verdict that rejects it (any 4xx, 503).  A 2xx, a 500/502/504, and a
 * timeout, reset or empty reply after sending are "maybe".
 */
bool classify_maybe_applied(const struct outcome *o);
/* Whether this class counts as a failure for a circuit breaker (transient
 * and server classes only, never 4xx). */
bool err_class_trips_breaker(enum err_class c);
const char *err_class_name(enum err_class c);
int err_class_parse(const char *s, enum err_class *out) WUR;
const char *treatment_name(enum treatment t);
/* One sentence for the operator saying what the outcome means and what to
 * check (a TLS failure names the certificate and the CA bundle).  A static
 * string, never NULL. */
const char *classify_hint(const struct outcome *o);

#endif
