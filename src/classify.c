/*
 * classify.c - turns the raw outcome of a request (what was being done, the
 * libcurl code, the HTTP status, whether the body was too large or did not
 * parse) into one error class, and an error class into a treatment.  This
 * is the only place in vomo-sync that looks at raw status codes: everything
 * else reacts to the class and the treatment, so a change of policy is a
 * change of this file and its tests, never a hunt through the engine.
 *
 * Decisions the API guide leaves open, and why:
 * - An HTTP error status (>= 400) wins over a transport error or an
 *   oversized body: once the server said "503" or "422", that is what went
 *   wrong, even if its error page was larger than the cap or the
 *   connection broke while it was being read.  For a webhook, any 2xx is
 *   "delivered" whatever happened to the body afterwards: the receiver's
 *   body carries no meaning and the Idempotency-Key makes a resend harmless
 *   anyway.
 * - TLS failures (CURLE_PEER_FAILED_VERIFICATION and every CURLE_SSL_*)
 *   are EC_UNKNOWN.  They are neither transient (an expired or wrong
 *   certificate does not heal in seconds, so backoff would only hammer) nor
 *   a verdict on the record (dead-lettering every record for a CA bundle
 *   problem would bury the operator).  EC_UNKNOWN is treated with
 *   TR_RETRY_FEW against VOMO (a handshake cut short by a reset gets its
 *   few retries, a real certificate problem surfaces as an error in the
 *   log and the cycle's status, and the next poll tries again) and with
 *   TR_PAUSE_DESTINATION for a webhook (the endpoint is misconfigured until
 *   shown otherwise: records wait, the operator is told, the destination is
 *   probed again after breaker.open_timeout).  classify_hint() gives the
 *   operator the sentence that says what to check.
 * - EC_UNKNOWN in general (an unexpected 4xx such as 400 or 405 from VOMO,
 *   a 3xx, an odd libcurl code) gets TR_RETRY_FEW rather than
 *   TR_DEAD_LETTER: a few retries are cheap, and a record that still fails
 *   goes to the DLQ as retryable, where dlqsched gives it its spaced
 *   attempts before manual review.  Sending unknown outcomes straight to
 *   manual review would turn every network oddity into operator toil.
 * - A webhook 429 is EC_RATE_LIMITED (so the DLQ row says the receiver
 *   throttled us, which calls for a different fix than a receiver that is
 *   down) but is treated like a transient failure (TR_RETRY_BACKOFF), as
 *   ARCHITECTURE.md requires.  Other webhook 5xx, 500 included, are
 *   EC_TRANSIENT.
 * - EC_BAD_DATA on a LIST or GET means a page did not parse: the request is
 *   retried with backoff like a transient failure, since a truncated or
 *   garbled page is most often a proxy or a deploy glitch.  A malformed
 *   record inside a good page is not an outcome of a request; the engine
 *   dead-letters that record for manual review (dlqsched_retryable() says
 *   bad_data is not retryable).  On a write or delete the change has
 *   probably landed, so the request gets a few retries only.
 * - A 404 on a write means the target is gone: TR_DEAD_LETTER, since a
 *   person must decide whether to recreate it.  A 404 on a LIST endpoint
 *   means the path itself is wrong: TR_STOP_OPERATION.
 * - Webhook answers are about one record unless they say the endpoint is
 *   misconfigured.  A 409 is a conflict of that record at the receiver:
 *   EC_CONFLICT, retried with backoff, then dead-lettered (pending: the
 *   DLQ processor retries it on its schedule, then a person).  A 4xx the
 *   contract does not list (405, 418, ...) is validation-like: the receiver
 *   refused this record and retrying the same bytes cannot change that, so
 *   it goes to manual review at once.  401/403/404/410 (and EC_UNKNOWN:
 *   TLS, 3xx) pause the destination, but only while they are the answer to
 *   every record: dest_webhook.c dead-letters a record that gets the same
 *   answer again after other records were delivered meanwhile
 *   (TR_PAUSE_DESTINATION becomes TR_DEAD_LETTER for that record), so no
 *   single record can hold its resource back.
 */
#include "classify.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>

static const char *const class_names[EC_COUNT] = {
    [EC_NONE] = "none",
    [EC_TRANSIENT] = "transient",
    [EC_RATE_LIMITED] = "rate_limited",
    [EC_AUTH] = "auth",
    [EC_FORBIDDEN] = "forbidden",
    [EC_NOT_FOUND] = "not_found",
    [EC_VALIDATION] = "validation",
    [EC_SERVER_ERROR] = "server_error",
    [EC_CONFLICT] = "conflict",
    [EC_BAD_DATA] = "bad_data",
    [EC_UNKNOWN] = "unknown",
};

static const char *const treatment_names[] = {
    [TR_DONE] = "done",
    [TR_RETRY_BACKOFF] = "retry_backoff",
    [TR_WAIT_RETRY_AFTER] = "wait_retry_after",
    [TR_STOP_TENANT] = "stop_tenant",
    [TR_STOP_OPERATION] = "stop_operation",
    [TR_DEAD_LETTER] = "dead_letter",
    [TR_REREAD_RETRY] = "reread_retry",
    [TR_RETRY_THEN_GONE] = "retry_then_gone",
    [TR_RETRY_FEW] = "retry_few",
    [TR_PAUSE_DESTINATION] = "pause_destination",
};

#define OP_CONTEXT_COUNT (OP_WEBHOOK + 1)

/*
 * The whole policy in one table: rows are classes, columns are contexts
 * (LIST, GET, WRITE, DELETE, WEBHOOK).  Reasons for the less obvious cells
 * are in the comment atop this file.
 */
static const enum treatment treatments[EC_COUNT][OP_CONTEXT_COUNT] = {
    [EC_NONE] = {TR_DONE, TR_DONE, TR_DONE, TR_DONE, TR_DONE},
    [EC_TRANSIENT] = {TR_RETRY_BACKOFF, TR_RETRY_BACKOFF, TR_RETRY_BACKOFF, TR_RETRY_BACKOFF,
                      TR_RETRY_BACKOFF},
    [EC_RATE_LIMITED] = {TR_WAIT_RETRY_AFTER, TR_WAIT_RETRY_AFTER, TR_WAIT_RETRY_AFTER,
                         TR_WAIT_RETRY_AFTER, TR_RETRY_BACKOFF},
    [EC_AUTH] = {TR_STOP_TENANT, TR_STOP_TENANT, TR_STOP_TENANT, TR_STOP_TENANT,
                 TR_PAUSE_DESTINATION},
    [EC_FORBIDDEN] = {TR_STOP_OPERATION, TR_STOP_OPERATION, TR_STOP_OPERATION, TR_STOP_OPERATION,
                      TR_PAUSE_DESTINATION},
    [EC_NOT_FOUND] = {TR_STOP_OPERATION, TR_RETRY_THEN_GONE, TR_DEAD_LETTER, TR_DONE,
                      TR_PAUSE_DESTINATION},
    [EC_VALIDATION] = {TR_DEAD_LETTER, TR_DEAD_LETTER, TR_DEAD_LETTER, TR_DEAD_LETTER,
                       TR_DEAD_LETTER},
    [EC_SERVER_ERROR] = {TR_RETRY_FEW, TR_RETRY_FEW, TR_RETRY_FEW, TR_RETRY_FEW, TR_RETRY_BACKOFF},
    [EC_CONFLICT] = {TR_RETRY_FEW, TR_RETRY_FEW, TR_REREAD_RETRY, TR_REREAD_RETRY,
                     TR_RETRY_BACKOFF},
    [EC_BAD_DATA] = {TR_RETRY_BACKOFF, TR_RETRY_BACKOFF, TR_RETRY_FEW, TR_RETRY_FEW,
                     TR_RETRY_BACKOFF},
    [EC_UNKNOWN] = {TR_RETRY_FEW, TR_RETRY_FEW, TR_RETRY_FEW, TR_RETRY_FEW, TR_PAUSE_DESTINATION},
};

static bool curl_is_tls(int code)
{
    switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return true;
    default:
        return false;
    }
}

/* Transport failures that a later attempt can plausibly get past: the
 * network or the peer was briefly unreachable, slow, or cut us off.  An
 * abort by our own callback (shutdown) is also worth a later attempt. */
static bool curl_is_transient(int code)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR: /* ECONNRESET while reading lands here */
    case CURLE_SEND_ERROR: /* and EPIPE / ECONNRESET while writing here */
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_AGAIN:
    case CURLE_NO_CONNECTION_AVAILABLE:
    case CURLE_ABORTED_BY_CALLBACK:
        return true;
    default:
        return false;
    }
}

static enum err_class classify_curl(int code)
{
    if (curl_is_transient(code))
        return EC_TRANSIENT;
    if (code == CURLE_BAD_CONTENT_ENCODING)
        return EC_BAD_DATA;
    return EC_UNKNOWN; /* TLS problems included: see the top of this file */
}

static enum err_class classify_webhook_status(long s)
{
    if (s == 408 || s == 425 || (s >= 500 && s <= 599))
        return EC_TRANSIENT;
    switch (s) {
    case 429:
        return EC_RATE_LIMITED;
    case 400:
    case 413:
    case 422:
        return EC_VALIDATION;
    case 401:
        return EC_AUTH;
    case 403:
        return EC_FORBIDDEN;
    case 404:
    case 410:
        return EC_NOT_FOUND;
    case 409:
        return EC_CONFLICT;
    default:
        /* Any other 4xx is the receiver refusing this record. */
        return s <= 499 ? EC_VALIDATION : EC_UNKNOWN;
    }
}

static enum err_class classify_vomo_status(enum op_context ctx, long s)
{
    switch (s) {
    case 429:
        return EC_RATE_LIMITED;
    case 401:
        return EC_AUTH;
    case 403:
        return EC_FORBIDDEN;
    case 404:
        return ctx == OP_VOMO_DELETE ? EC_NONE : EC_NOT_FOUND; /* already gone */
    case 409:
        return EC_CONFLICT;
    case 422:
        return EC_VALIDATION;
    case 500:
        return EC_SERVER_ERROR;
    case 502:
    case 503:
    case 504:
        return EC_TRANSIENT;
    default:
        return s >= 500 && s <= 599 ? EC_SERVER_ERROR : EC_UNKNOWN;
    }
}

/*
 * Order of evidence: an error status first (the server's own verdict), then
 * a webhook 2xx (delivered), then the size cap, then the transport error,
 * then the body of a 2xx.  A completed transfer without any status, or
 * with a 1xx/3xx final status, is EC_UNKNOWN.
 */
enum err_class classify(const struct outcome *o)
{
    long s = o->http_status;
    bool ok_status = s >= 200 && s <= 299;

    if (s >= 400)
        return o->ctx == OP_WEBHOOK ? classify_webhook_status(s) : classify_vomo_status(o->ctx, s);
    if (o->ctx == OP_WEBHOOK && ok_status)
        return EC_NONE;
    if (o->too_large || o->curl_code == CURLE_FILESIZE_EXCEEDED)
        return EC_BAD_DATA;
    if (o->curl_code != CURLE_OK)
        return classify_curl(o->curl_code);
    if (ok_status)
        return o->bad_body ? EC_BAD_DATA : EC_NONE;
    return EC_UNKNOWN;
}

enum treatment treatment_for(enum err_class c, enum op_context ctx)
{
    if ((unsigned)c >= EC_COUNT || (unsigned)ctx >= OP_CONTEXT_COUNT)
        return treatments[EC_UNKNOWN][(unsigned)ctx < OP_CONTEXT_COUNT ? ctx : OP_VOMO_GET];
    return treatments[c][ctx];
}

bool classify_maybe_applied(const struct outcome *o)
{
    long s = o->http_status;
    if (s >= 400 && s <= 499)
        return false;
    if (s == 503)
        return false; /* VOMO refused the work: it was not done */
    if (s > 0)
        return true; /* 2xx applied; 500/502/504 and 1xx/3xx: cannot tell */
    if (curl_is_tls(o->curl_code) || o->curl_code == CURLE_COULDNT_CONNECT ||
        o->curl_code == CURLE_COULDNT_RESOLVE_HOST || o->curl_code == CURLE_COULDNT_RESOLVE_PROXY)
        return false;
    return o->sent || o->curl_code == CURLE_OK;
}

bool err_class_trips_breaker(enum err_class c)
{
    return c == EC_TRANSIENT || c == EC_SERVER_ERROR;
}

const char *err_class_name(enum err_class c)
{
    if ((unsigned)c >= EC_COUNT)
        return "unknown";
    return class_names[c];
}

int err_class_parse(const char *s, enum err_class *out)
{
    if (!s)
        return -EINVAL;
    for (int c = 0; c < EC_COUNT; c++) {
        if (strcmp(s, class_names[c]) == 0) {
            *out = (enum err_class)c;
            return 0;
        }
    }
    return -EINVAL;
}

const char *treatment_name(enum treatment t)
{
    if ((unsigned)t >= ARRAY_SIZE(treatment_names))
        return "unknown";
    return treatment_names[t];
}

/*
 * One sentence for the operator: what the outcome means and what to check.
 * Static strings; never NULL.
 */
const char *classify_hint(const struct outcome *o)
{
    enum err_class c = classify(o);

    if (c == EC_UNKNOWN && curl_is_tls(o->curl_code))
        return "TLS handshake or certificate verification failed: check the server's "
               "certificate, the system CA bundle and the clock";
    switch (c) {
    case EC_NONE:
        return "success";
    case EC_TRANSIENT:
        return "temporary network or server failure: retried with backoff";
    case EC_RATE_LIMITED:
        return "rate limited: requests of this token wait for Retry-After";
    case EC_AUTH:
        return o->ctx == OP_WEBHOOK ? "webhook endpoint rejected the request: check its secret"
                                    : "token rejected: check the tenant's token_file";
    case EC_FORBIDDEN:
        return o->ctx == OP_WEBHOOK ? "webhook endpoint refused the request: check its access rules"
                                    : "token lacks the scope for this resource";
    case EC_NOT_FOUND:
        return o->ctx == OP_WEBHOOK ? "webhook endpoint not found: check webhook_url" : "not found";
    case EC_VALIDATION:
        return "rejected as invalid: needs manual review";
    case EC_SERVER_ERROR:
        return "server error: retried a few times";
    case EC_CONFLICT:
        return o->ctx == OP_WEBHOOK ? "the receiver reported a conflict for this record: retried "
                                      "with backoff, then dead-lettered"
                                    : "conflict: re-read and retried";
    case EC_BAD_DATA:
        return "response body too large or not the expected JSON";
    default:
        return "unexpected outcome: retried a few times, then surfaced";
    }
}
