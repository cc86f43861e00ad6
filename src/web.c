/*
 * web.c - the endpoint's server and its health routes (see web.h):
 * /healthz answers from the loop itself, so a loop that stops turning
 * stops answering and a liveness probe notices; /readyz says whether the
 * daemon is migrated and running, or why not.
 */
#include "web.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "netaddr.h"
#include "web_int.h"

static void on_healthz(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    (void)req;
    (void)ctx;
    rep->content_type = "text/plain; charset=utf-8";
    (void)!buf_puts(&rep->body, "ok\n");
}

static void on_readyz(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    (void)req;
    struct web *w = ctx;
    static const char *const reasons[] = {
        [WEB_STARTING] = "starting: the sync engine is not running yet",
        [WEB_READY] = "",
        [WEB_STOPPING] = "stopping: in-flight work is finishing",
    };
    if (w->phase == WEB_READY) {
        (void)!buf_puts(&rep->body, "{\"status\": \"ready\"}\n");
        return;
    }
    rep->status = 503;
    (void)!buf_printf(&rep->body, "{\"status\": \"%s\", \"reason\": \"%s\"}\n",
                      w->phase == WEB_STARTING ? "starting" : "stopping", reasons[w->phase]);
}

static void add_routes(struct web *w)
{
    int rc = httpd_route_add(w->srv, "GET", "/healthz", on_healthz, w);
    if (rc == 0)
        rc = httpd_route_add(w->srv, "GET", "/readyz", on_readyz, w);
    if (rc == 0)
        rc = web_metrics_routes(w);
    if (rc == 0)
        rc = web_status_routes(w);
    if (rc == 0)
        rc = web_api_routes(w);
    if (rc == 0)
        rc = web_hooks_routes(w);
    if (rc < 0)
        log_error("http endpoint: a route could not be added: %s", strerror(-rc));
}

int web_bind(const char *listen, int *fd, bool *activated, char *err, size_t errlen)
{
    *fd = httpd_socket_from_systemd();
    *activated = *fd >= 0;
    if (*activated || strcmp(listen, "off") == 0)
        return 0;
    struct netaddr a;
    const char *why;
    if (netaddr_parse(listen, &a, &why) < 0) {
        snprintf(err, errlen, "[http] listen = %s: %s", listen, why);
        return -EINVAL;
    }
    *fd = httpd_bind(&a, err, errlen);
    return *fd < 0 ? *fd : 0;
}

int web_open(struct web *w, uv_loop_t *loop, struct engine *e, const char *listen, int fd,
             bool activated, char *err, size_t errlen)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->listen, sizeof(w->listen), "%s", listen);
    w->e = e;
    w->phase = WEB_STARTING;
    struct httpd_limits lim = HTTPD_LIMITS_DEFAULT;
    int rc = httpd_new(loop, &lim, &w->srv);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "cannot start the HTTP endpoint: %s", strerror(-rc));
        return rc;
    }
    add_routes(w);
    w->socket_activated = activated;
    if (fd >= 0 && (rc = httpd_listen_fd(w->srv, fd, err, errlen)) < 0)
        return rc;
    httpd_address(w->srv, w->address, sizeof(w->address));
    return 0;
}

void web_relisten(struct web *w, const char *listen)
{
    if (w->socket_activated) {
        log_info("http endpoint: listen = %s ignored: serving the socket systemd passed", listen);
        return;
    }
    if (strcmp(listen, w->listen) == 0)
        return;
    if (strcmp(listen, "off") == 0) {
        snprintf(w->listen, sizeof(w->listen), "off");
        if (httpd_listening(w->srv))
            log_info("http endpoint: listen = off: no longer listening on %s", w->address);
        httpd_unlisten(w->srv);
        w->address[0] = '\0';
        return;
    }
    struct netaddr a;
    const char *why;
    char err[256];
    int rc = netaddr_parse(listen, &a, &why);
    if (rc < 0)
        snprintf(err, sizeof(err), "[http] listen = %s: %s", listen, why);
    if (rc < 0 || httpd_listen(w->srv, &a, err, sizeof(err)) < 0) {
        log_error("http endpoint: %s; still serving on %s", err,
                  w->address[0] ? w->address : "nothing");
        return;
    }
    snprintf(w->listen, sizeof(w->listen), "%s", listen);
    httpd_address(w->srv, w->address, sizeof(w->address));
    log_info("http endpoint listening on %s", w->address);
}

void web_set_phase(struct web *w, enum web_phase phase)
{
    w->phase = phase;
}

uint16_t web_port(const struct web *w)
{
    return httpd_port(w->srv);
}

static void on_api_closed(struct web *w)
{
    if (w->closed)
        w->closed(w);
}

static void on_srv_closed(void *arg)
{
    struct web *w = arg;
    w->srv = NULL;
    if (w->api)
        web_api_close(w, on_api_closed);
    else
        on_api_closed(w);
}

void web_close(struct web *w, void (*closed)(struct web *w))
{
    w->closed = closed;
    w->phase = WEB_STOPPING;
    httpd_close(w->srv, on_srv_closed, w);
}
