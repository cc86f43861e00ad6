/*
 * http.h - HTTP on the event loop: libcurl's multi interface driven by
 * libuv (curl_multi_socket_action from uv_poll and uv_timer, the shape of
 * curl's multi-uv.c).  Many requests in flight on one thread, keep-alive
 * connection reuse, connect and total timeouts, a hard cap on the response
 * body, TLS verification always on.
 *
 * Ownership: struct http_client is embedded by its owner and lives until
 * the close callback of http_close() runs.  A request's strings are copied
 * at submit time.  The response passed to the done callback is owned by the
 * http module and valid only during the callback; the callback may take the
 * body with http_response_steal_body().  Every submitted request gets
 * exactly one done callback, including when the client is closed (then
 * curl_code is CURLE_ABORTED_BY_CALLBACK).
 */
#ifndef VOMO_HTTP_H
#define VOMO_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

struct http_response {
    int curl_code; /* CURLcode; CURLE_OK when a response arrived */
    long status;   /* HTTP status, 0 when none */
    char *body;    /* NUL-terminated, may contain NULs; never NULL */
    size_t body_len;
    bool too_large;    /* the body passed max_response; curl_code is an error */
    char *retry_after; /* header values, NULL when absent */
    char *date;
    long ratelimit_limit;     /* -1 when absent */
    long ratelimit_remaining; /* -1 when absent */
    double total_time_s;
    bool sent; /* some of the request left (a write may have reached the server) */
    char error[CURL_ERROR_SIZE]; /* curl's message, "" when none */
};

typedef void (*http_done_fn)(const struct http_response *resp, void *arg);

struct http_request {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
    const char *body;           /* request body, or NULL */
    size_t body_len;
    int64_t timeout_ms;         /* total; 0 = none */
    int64_t connect_timeout_ms; /* 0 = libcurl's default */
    size_t max_response;        /* body cap in bytes; 0 = unlimited */
    bool fresh_connect;         /* a new connection of its own: never re-sent by libcurl */
    http_done_fn done;
    void *arg;
};

struct http_xfer; /* one request in flight (private to http.c) */
struct http_sock; /* one socket curl asked us to watch (private to http.c) */

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    int in_flight;
    bool closing;
    void (*on_closed)(struct http_client *c);
    int pending_handle_closes;
    struct http_xfer *xfers; /* requests in flight, aborted by http_close */
    struct http_sock *socks; /* sockets being polled */
    void *data;              /* for the owner */
};

/* Initialises the client on loop.  curl_global_init must have run. */
int http_init(struct http_client *c, uv_loop_t *loop) WUR;
/* Starts a request; 0, or a negative errno (then done is never called):
 * -EINVAL for a missing url/done or an unknown method, -ESHUTDOWN once
 * http_close has been called, -EIO when libcurl refuses the transfer. */
int http_submit(struct http_client *c, const struct http_request *req) WUR;
/* Aborts every request in flight (each gets its done callback), closes the
 * handles, then calls on_closed (may be NULL) from the loop. */
void http_close(struct http_client *c, void (*on_closed)(struct http_client *c));
/* Takes the body out of a response (the caller frees it). */
char *http_response_steal_body(const struct http_response *resp, size_t *len);

#endif
