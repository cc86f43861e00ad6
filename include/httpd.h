/*
 * httpd.h - the daemon's local HTTP server: libmicrohttpd in its external
 * epoll mode, driven from the libuv loop on the loop's own thread (a
 * uv_poll on MHD's epoll descriptor and a uv_timer from MHD_get_timeout(),
 * then MHD_run), so a handler may read daemon state freely and a stuck loop
 * stops answering.  No HTTP is parsed here; MHD does it.
 *
 * Others add endpoints with httpd_route_add(): a handler gets the whole
 * request (method, path, headers, query arguments, a body of at most
 * limits.max_body bytes) and fills a reply synchronously, or defers it
 * (httpd_defer: the connection waits, suspended, for httpd_resume).  Unknown paths
 * get 404, a known path with another method 405 with Allow, a body over
 * the cap 413, all as JSON.  Connections, their memory and their idle time
 * are bounded, so a slow or malicious client cannot hold the loop.
 *
 * Ownership: httpd_new() allocates; routes copy their method and prefix.
 * httpd_close() stops listening at once and frees the server from the loop
 * once its handles are closed (then `closed` runs).
 */
#ifndef VOMO_HTTPD_H
#define VOMO_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "netaddr.h"
#include "util.h"

struct httpd;
struct MHD_Connection;

struct httpd_limits {
    unsigned max_connections; /* 32 */
    unsigned timeout_s;       /* idle time before a connection is dropped: 10 */
    size_t memory_limit;      /* per connection, headers included: 64 KiB */
    size_t max_body;          /* request body: 1 MiB */
    unsigned max_deferred;    /* replies waiting at once (httpd_defer): 16 */
};
#define HTTPD_LIMITS_DEFAULT                                                                       \
    ((struct httpd_limits){.max_connections = 32,                                                  \
                           .timeout_s = 10,                                                        \
                           .memory_limit = 64 * 1024,                                              \
                           .max_body = 1024 * 1024,                                                \
                           .max_deferred = 16})

struct httpd_request {
    const char *method; /* "GET", "HEAD", "POST", ... */
    const char *path;   /* without the query string */
    const char *body;   /* NUL-terminated; "" when none */
    size_t body_len;
    struct MHD_Connection *conn; /* private */
    void *state;                 /* private */
};

#define HTTPD_MAX_HEADERS 8
struct httpd_reply {
    int status;               /* 200 unless the handler says otherwise */
    const char *content_type; /* static string; "application/json" unless set */
    struct buf body;
    char *headers[HTTPD_MAX_HEADERS]; /* "Name: value", added with httpd_reply_header */
};

typedef void (*httpd_handler_fn)(const struct httpd_request *req, struct httpd_reply *rep,
                                 void *ctx);

int httpd_new(uv_loop_t *loop, const struct httpd_limits *limits, struct httpd **out) WUR;
/*
 * Adds a route: `prefix` matches the path exactly, or, when it ends with
 * '/', every path below it.  A GET route also answers HEAD.  The first
 * matching route wins.  -EINVAL for a bad method or prefix.
 */
int httpd_route_add(struct httpd *srv, const char *method, const char *prefix, httpd_handler_fn fn,
                    void *ctx) WUR;
/* Binds and listens on addr (non-blocking, close-on-exec): the socket,
 * or a negative errno with "cannot listen on ADDR: why" in err. */
int httpd_bind(const struct netaddr *addr, char *err, size_t errlen) WUR;
/*
 * Listens on addr (binding it here, so the error is exact).  When the
 * server already listens, the new address replaces the old one only once
 * bound (SIGHUP); on failure the old one stays.  0, or a negative errno
 * with a message in err.
 */
int httpd_listen(struct httpd *srv, const struct netaddr *addr, char *err, size_t errlen) WUR;
/* Serves on a listening socket already open (systemd socket activation);
 * the server closes it. */
int httpd_listen_fd(struct httpd *srv, int fd, char *err, size_t errlen) WUR;
/* Stops listening (connections in progress are dropped). */
void httpd_unlisten(struct httpd *srv);
bool httpd_listening(const struct httpd *srv);
/* The bound port (useful after listening on port 0); 0 when not listening. */
uint16_t httpd_port(const struct httpd *srv);
/* The bound address as "127.0.0.1:9464" or "[::1]:9464"; "" when not
 * listening. */
void httpd_address(const struct httpd *srv, char *out, size_t len);
void httpd_close(struct httpd *srv, void (*closed)(void *arg), void *arg);
/* The loop the server runs on. */
uv_loop_t *httpd_loop(const struct httpd *srv);

/* A request header or query argument; NULL when absent. */
const char *httpd_header(const struct httpd_request *req, const char *name);
const char *httpd_arg(const struct httpd_request *req, const char *name);
/* Calls fn for every query argument in order (value NULL for "?key"
 * without "="); fn returning non-zero stops.  Returns how many were seen. */
int httpd_args_each(const struct httpd_request *req,
                    int (*fn)(void *arg, const char *key, const char *value), void *arg);
/* Adds a header to the reply ("Name: value", copied). */
void httpd_reply_header(struct httpd_reply *rep, const char *name, const char *value);
/* status and {"error": msg} as the body. */
void httpd_reply_error(struct httpd_reply *rep, int status, const char *msg);

/*
 * Deferred replies.  A handler that cannot answer at once (it waits for
 * VOMO) calls httpd_defer() and returns without filling its reply; the
 * connection is then suspended (MHD_suspend_connection), costing the loop
 * nothing, until the owner hands a reply to httpd_resume() from a later
 * loop callback (or from the handler itself: then it is sent at once).
 * At most limits.max_deferred requests wait at the same time; beyond,
 * httpd_defer() returns NULL and the handler answers now.
 *
 * A suspended connection is invisible to MHD: it notices neither the
 * client hanging up nor its own idle timeout.  So the server watches both
 * itself (every HTTPD_DEFER_TICK_MS): a socket the client closed, or a
 * deadline (timeout_ms after httpd_defer) that passed, ends the deferral
 * with `gone` (HTTPD_GONE_CLIENT: the connection is closed;
 * HTTPD_GONE_TIMEOUT: the client gets 504), and so does the server
 * stopping to listen (HTTPD_GONE_CLOSING: 503; every suspended connection
 * is resumed before MHD is stopped, as MHD requires).  Exactly one of
 * httpd_resume() and `gone` ends a deferral; after either, the handle is
 * freed and the owner must not touch it (after `gone`: cancel the work).
 */
#define HTTPD_DEFER_TICK_MS 50
enum httpd_gone { HTTPD_GONE_CLIENT, HTTPD_GONE_TIMEOUT, HTTPD_GONE_CLOSING };
struct httpd_deferred;
typedef void (*httpd_gone_fn)(struct httpd_deferred *d, enum httpd_gone why, void *arg);
struct httpd_deferred *httpd_defer(const struct httpd_request *req, int64_t timeout_ms,
                                   httpd_gone_fn gone, void *arg) WUR;
/* Sends rep (its body and headers are taken over; rep is left empty). */
void httpd_resume(struct httpd_deferred *d, struct httpd_reply *rep);
/* Deferrals waiting now. */
unsigned httpd_deferred_count(const struct httpd *srv);

/* The first socket systemd passed (LISTEN_FDS), or -1 when none. */
int httpd_socket_from_systemd(void);

#endif
