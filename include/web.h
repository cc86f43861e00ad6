/*
 * web.h - the daemon's local HTTP endpoint (ARCHITECTURE.md, "The local
 * HTTP endpoint"): the server of httpd.h with the routes every release
 * keeps, GET /metrics, /status, /healthz and /readyz, the read API over
 * the mirror (GET /api/v1/, web_api.c) and POST /hooks/vomo/{tenant}
 * (VOMO's webhooks, web_hooks.c), over one running engine.
 * Later endpoints add their routes to web->srv.
 *
 * The endpoint reads the engine but the engine never calls it: daemon.c
 * (or a test) owns both and tells the endpoint the daemon's phase.
 * Ownership: web_open() fills a struct web embedded by its owner; the
 * engine must outlive it; web_close() stops listening at once and calls
 * `closed` from the loop when every handle is closed.
 */
#ifndef VOMO_WEB_H
#define VOMO_WEB_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "httpd.h"

struct engine;
struct web_api;

enum web_phase { WEB_STARTING, WEB_READY, WEB_STOPPING };

struct web {
    struct httpd *srv;
    struct engine *e;
    enum web_phase phase;
    char listen[80];  /* the [http] listen value it follows */
    char address[80]; /* what it listens on, for logs and `status`; "" when not */
    bool socket_activated;
    struct web_api *api; /* the read API's state (web_api.c) */
    void (*closed)(struct web *w);
    void *data; /* for the owner */
    /* Set by the owner (may be NULL): a VOMO webhook was recorded as a
     * hint (web_hooks.c), so the hint processor should look soon. */
    void (*on_hint)(void *arg);
    void *hint_arg;
    int64_t hook_refused;   /* webhooks refused for their signature */
    int64_t hook_logged_at; /* monotonic ms of the last such log line */
};

/*
 * Creates the server on loop with its routes and starts serving on `fd`
 * (a listening socket: bound by httpd_bind() or passed by systemd, then
 * `activated`; taken over), or on nothing when fd < 0 (listen = off).  0, or a negative errno
 * with a message in err.
 */
int web_open(struct web *w, uv_loop_t *loop, struct engine *e, const char *listen, int fd,
             bool activated, char *err, size_t errlen) WUR;
/*
 * The socket the configuration asks for, bound now so that a busy port
 * fails the start with its address named: systemd's socket when one was
 * passed (*activated = true), -1 for "off", or a negative errno with the
 * message in err.  Returns the descriptor through *fd.
 */
int web_bind(const char *listen, int *fd, bool *activated, char *err, size_t errlen) WUR;
/* SIGHUP: moves to a new [http] listen value; on failure logs the error
 * and keeps serving where it was.  A passed socket is never replaced. */
void web_relisten(struct web *w, const char *listen);
void web_set_phase(struct web *w, enum web_phase phase);
uint16_t web_port(const struct web *w);
void web_close(struct web *w, void (*closed)(struct web *w));

#endif
