/*
 * httpd.c - libmicrohttpd on the libuv loop (see httpd.h).  Each bound
 * address is a listener: one MHD daemon in external epoll mode, a uv_poll
 * on its epoll descriptor and a uv_timer for MHD's own timeouts.  After
 * every wake-up MHD_run does all the work that is ready without blocking,
 * and the timer is re-armed from MHD_get_timeout(), as MHD's external mode
 * requires.  A new address (SIGHUP) gets a new listener before the old one
 * goes, so a failed rebind leaves the endpoint where it was.
 */
#include "httpd.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"

struct route {
    struct route *next;
    char *method, *prefix;
    size_t prefix_len;
    bool subtree;
    httpd_handler_fn fn;
    void *ctx;
};

struct listener {
    struct httpd *srv;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
    int open_handles;
    bool closing;
    struct netaddr addr; /* as bound */
};

struct httpd {
    uv_loop_t *loop;
    struct httpd_limits lim;
    struct route *routes, **rtail;
    struct listener *cur;
    int listeners; /* current and closing ones, and the watch timer while it closes */
    bool closing;
    void (*closed)(void *arg);
    void *closed_arg;
    uv_timer_t watch; /* checks deferred requests while any waits */
    struct httpd_deferred *waiting;
    unsigned nwaiting;
};

/* Where a deferral is: not deferred, waiting for its reply (suspended or
 * still in the handler), reply ready to send, or to be closed unanswered. */
enum defer_state { DEFER_NONE, DEFER_WAITING, DEFER_READY, DEFER_DEAD };

/* What MHD keeps for one request between calls of the access handler. */
struct conn_state {
    struct buf body;
    bool too_big;
    struct listener *l;
    enum defer_state defer;
    bool suspended;
    struct httpd_deferred *d; /* while deferred, until the reply is sent */
    struct httpd_reply rep;   /* DEFER_READY: what to send */
};

struct httpd_deferred {
    struct httpd_deferred *next, *prev; /* srv->waiting while DEFER_WAITING */
    struct httpd *srv;
    struct listener *l;
    struct MHD_Connection *conn;
    struct conn_state *cs;
    int fd;
    int64_t deadline; /* monotonic ms */
    httpd_gone_fn gone;
    void *arg;
};

int httpd_new(uv_loop_t *loop, const struct httpd_limits *limits, struct httpd **out)
{
    struct httpd *srv = xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->lim = limits ? *limits : HTTPD_LIMITS_DEFAULT;
    srv->rtail = &srv->routes;
    uv_timer_init(loop, &srv->watch);
    srv->watch.data = srv;
    *out = srv;
    return 0;
}

int httpd_route_add(struct httpd *srv, const char *method, const char *prefix, httpd_handler_fn fn,
                    void *ctx)
{
    if (!method || !*method || strlen(method) > 16 || !prefix || prefix[0] != '/' || !fn)
        return -EINVAL;
    struct route *r = xcalloc(1, sizeof(*r));
    r->method = xstrdup(method);
    r->prefix = xstrdup(prefix);
    r->prefix_len = strlen(prefix);
    r->subtree = prefix[r->prefix_len - 1] == '/';
    r->fn = fn;
    r->ctx = ctx;
    *srv->rtail = r;
    srv->rtail = &r->next;
    return 0;
}

/* ---- requests ---- */

const char *httpd_header(const struct httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *httpd_arg(const struct httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct args_walk {
    int (*fn)(void *arg, const char *key, const char *value);
    void *arg;
};

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    (void)kind;
    struct args_walk *w = cls;
    return w->fn(w->arg, key, value) == 0 ? MHD_YES : MHD_NO;
}

int httpd_args_each(const struct httpd_request *req,
                    int (*fn)(void *arg, const char *key, const char *value), void *arg)
{
    struct args_walk w = {fn, arg};
    return MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, on_arg, &w);
}

void httpd_reply_header(struct httpd_reply *rep, const char *name, const char *value)
{
    for (size_t i = 0; i < HTTPD_MAX_HEADERS; i++)
        if (!rep->headers[i]) {
            rep->headers[i] = xasprintf("%s: %s", name, value);
            return;
        }
}

void httpd_reply_error(struct httpd_reply *rep, int status, const char *msg)
{
    rep->status = status;
    rep->content_type = "application/json";
    buf_reset(&rep->body);
    if (buf_puts(&rep->body, "{\"error\": \"") < 0 || buf_json_escape(&rep->body, msg) < 0 ||
        buf_puts(&rep->body, "\"}\n") < 0)
        buf_reset(&rep->body);
}

static bool path_matches(const struct route *r, const char *path)
{
    if (r->subtree)
        return strncmp(path, r->prefix, r->prefix_len) == 0;
    return strcmp(path, r->prefix) == 0;
}

static bool method_matches(const struct route *r, const char *method)
{
    return strcmp(r->method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
}

/* 405: the methods the path does answer, for Allow. */
static void method_not_allowed(struct httpd *srv, const char *path, struct httpd_reply *rep)
{
    char allow[128] = "";
    size_t n = 0;
    for (struct route *r = srv->routes; r; r = r->next) {
        if (!path_matches(r, path) || strstr(allow, r->method))
            continue;
        n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", r->method);
        if (strcmp(r->method, "GET") == 0 && !strstr(allow, "HEAD"))
            n += (size_t)snprintf(allow + n, sizeof(allow) - n, ", HEAD");
        if (n >= sizeof(allow))
            break;
    }
    httpd_reply_error(rep, 405, "method not allowed");
    httpd_reply_header(rep, "Allow", allow);
}

static void dispatch(struct httpd *srv, const struct httpd_request *req, struct httpd_reply *rep)
{
    bool path_known = false;
    for (struct route *r = srv->routes; r; r = r->next) {
        if (!path_matches(r, req->path))
            continue;
        path_known = true;
        if (method_matches(r, req->method)) {
            r->fn(req, rep, r->ctx);
            return;
        }
    }
    if (path_known)
        method_not_allowed(srv, req->path, rep);
    else
        httpd_reply_error(rep, 404, "not found");
}

static void reply_free(struct httpd_reply *rep)
{
    for (size_t i = 0; i < HTTPD_MAX_HEADERS; i++) {
        free(rep->headers[i]);
        rep->headers[i] = NULL;
    }
    buf_free(&rep->body);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct httpd_reply *rep)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        rep->body.len, rep->body.data ? rep->body.data : (char *)"", MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_NO;
    if (resp) {
        MHD_add_response_header(resp, "Content-Type", rep->content_type);
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        for (size_t i = 0; i < HTTPD_MAX_HEADERS && rep->headers[i]; i++) {
            char *colon = strchr(rep->headers[i], ':');
            if (!colon)
                continue;
            *colon = '\0';
            MHD_add_response_header(resp, rep->headers[i], colon + 2);
        }
        rc = MHD_queue_response(conn, (unsigned)rep->status, resp);
        MHD_destroy_response(resp);
    }
    reply_free(rep);
    return rc;
}

static bool declared_too_big(struct httpd *srv, struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    int64_t n;
    return cl && parse_i64(cl, &n) == 0 && (n < 0 || (uint64_t)n > srv->lim.max_body);
}

/* ---- deferred replies ---- */

static void on_watch(uv_timer_t *t);

static void deferred_unlink(struct httpd_deferred *d)
{
    struct httpd *srv = d->srv;
    if (d->prev)
        d->prev->next = d->next;
    else
        srv->waiting = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->next = d->prev = NULL;
    if (--srv->nwaiting == 0)
        uv_timer_stop(&srv->watch);
}

static void on_timer(uv_timer_t *t);

/* A suspended connection goes back to MHD, which calls the access handler
 * again on its next run: run it from the loop, never from inside MHD. */
static void deferred_wake(struct httpd_deferred *d)
{
    struct conn_state *cs = d->cs;
    if (!cs->suspended)
        return; /* still inside the handler: on_access sends it */
    cs->suspended = false;
    MHD_resume_connection(d->conn);
    uv_timer_start(&d->l->timer, on_timer, 0, 0);
}

struct httpd_deferred *httpd_defer(const struct httpd_request *req, int64_t timeout_ms,
                                   httpd_gone_fn gone, void *arg)
{
    struct conn_state *cs = req->state;
    struct listener *l = cs->l;
    struct httpd *srv = l->srv;
    if (cs->defer != DEFER_NONE || srv->closing || l->closing ||
        srv->nwaiting >= srv->lim.max_deferred || !gone)
        return NULL;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct httpd_deferred *d = xcalloc(1, sizeof(*d));
    d->srv = srv;
    d->l = l;
    d->conn = req->conn;
    d->cs = cs;
    d->fd = ci ? ci->connect_fd : -1;
    d->deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    d->gone = gone;
    d->arg = arg;
    d->next = srv->waiting;
    if (d->next)
        d->next->prev = d;
    srv->waiting = d;
    if (srv->nwaiting++ == 0)
        uv_timer_start(&srv->watch, on_watch, HTTPD_DEFER_TICK_MS, HTTPD_DEFER_TICK_MS);
    cs->d = d;
    cs->defer = DEFER_WAITING;
    return d;
}

static void reply_take(struct httpd_reply *to, struct httpd_reply *from)
{
    *to = *from;
    memset(from, 0, sizeof(*from));
    buf_init(&from->body, 0);
}

void httpd_resume(struct httpd_deferred *d, struct httpd_reply *rep)
{
    struct conn_state *cs = d->cs;
    deferred_unlink(d);
    reply_take(&cs->rep, rep);
    cs->defer = DEFER_READY;
    deferred_wake(d);
}

unsigned httpd_deferred_count(const struct httpd *srv)
{
    return srv->nwaiting;
}

/* Ends a deferral without the owner's reply: the owner hears it first,
 * then the client gets 504 or 503, or (gone itself) nothing. */
static void deferred_end(struct httpd_deferred *d, enum httpd_gone why)
{
    struct conn_state *cs = d->cs;
    deferred_unlink(d);
    if (why == HTTPD_GONE_CLIENT) {
        cs->defer = DEFER_DEAD;
    } else {
        cs->rep.status = why == HTTPD_GONE_TIMEOUT ? 504 : 503;
        httpd_reply_error(&cs->rep, cs->rep.status,
                          why == HTTPD_GONE_TIMEOUT ? "no answer in time"
                                                    : "the server is stopping");
        cs->defer = DEFER_READY;
    }
    d->gone(d, why, d->arg);
    deferred_wake(d);
}

/* Whether the client closed its side (or the socket failed): MHD cannot
 * see it while the connection is suspended. */
static bool peer_gone(int fd)
{
    if (fd < 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Every tick: deadlines and hang-ups.  An owner's `gone` may end other
 * deferrals, so the walk starts over after each one it ends. */
static void on_watch(uv_timer_t *t)
{
    struct httpd *srv = t->data;
    int64_t now = clock_mono_ms();
    bool again = true;
    while (again) {
        again = false;
        for (struct httpd_deferred *d = srv->waiting; d; d = d->next) {
            bool late = now >= d->deadline;
            if (late || peer_gone(d->fd)) {
                deferred_end(d, late ? HTTPD_GONE_TIMEOUT : HTTPD_GONE_CLIENT);
                again = true;
                break;
            }
        }
    }
}

/* The reply a deferral ended with goes out now. */
static enum MHD_Result send_deferred(struct MHD_Connection *conn, struct conn_state *cs)
{
    free(cs->d);
    cs->d = NULL;
    cs->defer = DEFER_NONE;
    return send_reply(conn, &cs->rep);
}

/* ---- the access handler ---- */

/*
 * MHD calls this first with the headers, then once per piece of body, then
 * once more with nothing: the handler runs on that last call, with the
 * whole body.  A body announced or grown past the cap gets 413.  A
 * deferred request is suspended here; once resumed, MHD calls again and
 * its reply is sent (or the connection closed, the client being gone).
 */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    struct listener *l = cls;
    struct httpd *srv = l->srv;
    struct conn_state *cs = *con_cls;
    struct httpd_reply rep = {.status = 200, .content_type = "application/json"};
    buf_init(&rep.body, 0);
    if (!cs) {
        cs = xcalloc(1, sizeof(*cs));
        buf_init(&cs->body, srv->lim.max_body);
        buf_init(&cs->rep.body, 0);
        cs->l = l;
        *con_cls = cs;
        if (!declared_too_big(srv, conn))
            return MHD_YES;
        httpd_reply_error(&rep, 413, "request body too large");
        return send_reply(conn, &rep);
    }
    if (cs->defer == DEFER_READY)
        return send_deferred(conn, cs);
    if (cs->defer == DEFER_DEAD)
        return MHD_NO;
    if (cs->defer == DEFER_WAITING)
        return MHD_YES;
    if (*upload_size) {
        if (!cs->too_big && buf_append(&cs->body, upload, *upload_size) < 0)
            cs->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    struct httpd_request req = {.method = method,
                                .path = url,
                                .body = cs->body.data ? cs->body.data : "",
                                .body_len = cs->body.len,
                                .conn = conn,
                                .state = cs};
    if (cs->too_big)
        httpd_reply_error(&rep, 413, "request body too large");
    else
        dispatch(srv, &req, &rep);
    if (cs->defer == DEFER_NONE)
        return send_reply(conn, &rep);
    reply_free(&rep);
    if (cs->defer == DEFER_READY) /* answered from within the handler */
        return send_deferred(conn, cs);
    MHD_suspend_connection(conn);
    cs->suspended = true;
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_state *cs = *con_cls;
    if (!cs)
        return;
    if (cs->d && cs->defer == DEFER_WAITING) {
        cs->suspended = false; /* MHD is done with it: nothing to resume */
        deferred_end(cs->d, HTTPD_GONE_CLOSING);
    }
    free(cs->d);
    reply_free(&cs->rep);
    buf_free(&cs->body);
    free(cs);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug("http endpoint: %s", line);
}

/* ---- driving MHD from the loop ---- */

/* Does all ready work, then arms the timer for MHD's next deadline (0
 * when it has more to do at once). */
static void drive(struct listener *l)
{
    MHD_run(l->mhd);
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(l->mhd, &ms) == MHD_YES)
        uv_timer_start(&l->timer, on_timer, (uint64_t)ms, 0);
    else
        uv_timer_stop(&l->timer);
}

static void on_timer(uv_timer_t *t)
{
    drive(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    drive(p->data);
}

/* One handle of the server finished closing (a listener's pair, or the
 * watch timer); the last one frees the server. */
static void srv_release(struct httpd *srv)
{
    srv->listeners--;
    if (!srv->closing || srv->listeners > 0)
        return;
    for (struct route *r = srv->routes, *next; r; r = next) {
        next = r->next;
        free(r->method);
        free(r->prefix);
        free(r);
    }
    void (*cb)(void *) = srv->closed;
    void *arg = srv->closed_arg;
    free(srv);
    if (cb)
        cb(arg);
}

static void on_listener_closed(uv_handle_t *h)
{
    struct listener *l = h->data;
    if (--l->open_handles > 0)
        return;
    struct httpd *srv = l->srv;
    free(l);
    srv_release(srv);
}

/*
 * libuv must stop watching the epoll descriptor before MHD closes it, and
 * MHD must have no suspended connection when it stops: every deferral of
 * this listener ends (503), and one last run hands the resumed
 * connections their answers.
 */
static void listener_close(struct listener *l)
{
    struct httpd *srv = l->srv;
    l->closing = true;
    bool again = true;
    while (again) {
        again = false;
        for (struct httpd_deferred *d = srv->waiting; d; d = d->next)
            if (d->l == l) {
                deferred_end(d, HTTPD_GONE_CLOSING);
                again = true;
                break;
            }
    }
    MHD_run(l->mhd);
    uv_poll_stop(&l->poll);
    uv_timer_stop(&l->timer);
    MHD_stop_daemon(l->mhd);
    l->open_handles = 2;
    uv_close((uv_handle_t *)&l->poll, on_listener_closed);
    uv_close((uv_handle_t *)&l->timer, on_listener_closed);
}

static void bound_address(int fd, struct netaddr *a)
{
    memset(a, 0, sizeof(*a));
    a->len = sizeof(a->ss);
    if (getsockname(fd, (struct sockaddr *)&a->ss, &a->len) < 0)
        a->len = 0;
}

/* Starts MHD on a listening socket (taken over) and hooks it to the loop. */
static int listener_start(struct httpd *srv, int fd, char *err, size_t errlen)
{
    const struct httpd_limits *lim = &srv->lim;
    struct listener *l = xcalloc(1, sizeof(*l));
    l->srv = srv;
    bound_address(fd, &l->addr);
    uint16_t port = l->addr.len ? netaddr_port(&l->addr) : 0;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, port, NULL, NULL, on_access,
        l, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, lim->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        lim->memory_limit, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_END);
    if (!d) {
        close(fd);
        free(l);
        snprintf(err, errlen, "libmicrohttpd could not start on the socket");
        return -EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    l->mhd = d;
    uv_poll_init(srv->loop, &l->poll, info->epoll_fd);
    uv_timer_init(srv->loop, &l->timer);
    l->poll.data = l->timer.data = l;
    uv_poll_start(&l->poll, UV_READABLE, on_poll);
    srv->listeners++;
    if (srv->cur)
        listener_close(srv->cur);
    srv->cur = l;
    drive(l);
    return 0;
}

int httpd_bind(const struct netaddr *addr, char *err, size_t errlen)
{
    char name[80];
    netaddr_format(addr, name, sizeof(name));
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (addr->ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s: %s", name, strerror(e));
        if (fd >= 0)
            close(fd);
        return -e;
    }
    return fd;
}

int httpd_listen(struct httpd *srv, const struct netaddr *addr, char *err, size_t errlen)
{
    int fd = httpd_bind(addr, err, errlen);
    if (fd < 0)
        return fd;
    return listener_start(srv, fd, err, errlen);
}

int httpd_listen_fd(struct httpd *srv, int fd, char *err, size_t errlen)
{
    return listener_start(srv, fd, err, errlen);
}

void httpd_unlisten(struct httpd *srv)
{
    if (srv->cur)
        listener_close(srv->cur);
    srv->cur = NULL;
}

bool httpd_listening(const struct httpd *srv)
{
    return srv->cur != NULL;
}

uint16_t httpd_port(const struct httpd *srv)
{
    return srv->cur && srv->cur->addr.len ? netaddr_port(&srv->cur->addr) : 0;
}

void httpd_address(const struct httpd *srv, char *out, size_t len)
{
    if (srv->cur && srv->cur->addr.len)
        netaddr_format(&srv->cur->addr, out, len);
    else if (len)
        out[0] = '\0';
}

static void on_watch_closed(uv_handle_t *h)
{
    srv_release(h->data);
}

void httpd_close(struct httpd *srv, void (*closed)(void *arg), void *arg)
{
    srv->closing = true;
    srv->closed = closed;
    srv->closed_arg = arg;
    httpd_unlisten(srv);
    srv->listeners++; /* the watch timer, until closed */
    uv_timer_stop(&srv->watch);
    uv_close((uv_handle_t *)&srv->watch, on_watch_closed);
}

uv_loop_t *httpd_loop(const struct httpd *srv)
{
    return srv->loop;
}

int httpd_socket_from_systemd(void)
{
    int n = sd_listen_fds(1);
    return n >= 1 ? SD_LISTEN_FDS_START : -1;
}
