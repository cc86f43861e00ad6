/*
 * http.c - HTTP requests on the libuv loop through libcurl's multi
 * interface, in the shape of curl's multi-uv.c: curl tells us which sockets
 * to watch (socket callback -> one uv_poll per socket) and when to wake it
 * (timer callback -> one uv_timer), we tell curl what happened with
 * curl_multi_socket_action, and after every action we drain
 * curl_multi_info_read to complete finished transfers.  One CURLM per client
 * keeps a pool of connections, so requests to the same host reuse them.
 *
 * Every transfer owns copies of everything it sends and a capped body
 * buffer; its done callback runs exactly once, after the easy handle has
 * left the multi, so the callback may submit new requests or close the
 * client.
 */
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef VOMO_SYNC_VERSION
#define VOMO_SYNC_VERSION "0.0.0"
#endif

struct http_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct http_client *c;
    struct http_sock *next, *prev;
};

struct http_xfer {
    CURL *easy;
    struct http_client *c;
    struct curl_slist *headers;
    struct buf body;
    bool length_checked;
    bool body_stolen;
    struct http_response resp;
    http_done_fn done;
    void *arg;
    struct http_xfer *next, *prev;
};

static char empty_body[1];

/* ---- intrusive lists --------------------------------------------------- */

static void xfer_link(struct http_client *c, struct http_xfer *x)
{
    x->prev = NULL;
    x->next = c->xfers;
    if (c->xfers)
        c->xfers->prev = x;
    c->xfers = x;
}

static void xfer_unlink(struct http_client *c, struct http_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        c->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
}

static void sock_link(struct http_client *c, struct http_sock *s)
{
    s->prev = NULL;
    s->next = c->socks;
    if (c->socks)
        c->socks->prev = s;
    c->socks = s;
}

static void sock_unlink(struct http_client *c, struct http_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

/* ---- handle closing ---------------------------------------------------- */

static void maybe_closed(struct http_client *c)
{
    if (c->closing && c->pending_handle_closes == 0 && c->on_closed)
        c->on_closed(c);
}

static void on_sock_closed(uv_handle_t *h)
{
    struct http_sock *s = h->data;
    struct http_client *c = s->c;
    free(s);
    c->pending_handle_closes--;
    maybe_closed(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct http_client *c = container_of((uv_timer_t *)h, struct http_client, timer);
    c->pending_handle_closes--;
    maybe_closed(c);
}

/* Stops watching a socket and frees its context once libuv lets go. */
static void sock_close(struct http_sock *s)
{
    struct http_client *c = s->c;
    sock_unlink(c, s);
    uv_poll_stop(&s->poll);
    c->pending_handle_closes++;
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* ---- completing transfers ---------------------------------------------- */

static void xfer_free(struct http_xfer *x)
{
    if (!x->body_stolen)
        buf_free(&x->body);
    curl_slist_free_all(x->headers);
    free(x->resp.retry_after);
    free(x->resp.date);
    free(x);
}

/*
 * Takes a transfer out of the multi and the client, fills in what the
 * response needs, calls done exactly once and frees everything.  The easy
 * handle is gone before done runs, so done may submit or close freely.
 */
static void xfer_finish(struct http_xfer *x, CURLcode code)
{
    struct http_client *c = x->c;
    struct http_response *r = &x->resp;

    r->curl_code = (int)code;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &r->total_time_s);
    long sent = 0;
    curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
    r->sent = sent > 0;
    if (code != CURLE_OK && r->error[0] == '\0')
        snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(code));
    if (r->too_large)
        snprintf(r->error, sizeof(r->error), "response body larger than %zu bytes",
                 x->body.cap_limit);
    r->body = x->body.data ? x->body.data : empty_body;
    r->body_len = x->body.len;

    if (c->multi)
        curl_multi_remove_handle(c->multi, x->easy);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    xfer_unlink(c, x);
    c->in_flight--;

    x->done(r, x->arg);
    xfer_free(x);
}

/* Completes every transfer curl reports as done.  Must follow every
 * curl_multi_socket_action; stops early if a done callback closed us. */
static void drain_done(struct http_client *c)
{
    CURLMsg *msg;
    int pending;
    while (!c->closing && (msg = curl_multi_info_read(c->multi, &pending))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct http_xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        xfer_finish(x, msg->data.result);
    }
}

/* ---- libuv -> curl ----------------------------------------------------- */

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct http_sock *s = h->data;
    struct http_client *c = s->c;
    int flags = 0, running;

    if (status < 0)
        flags |= CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    drain_done(c);
}

static void on_timer(uv_timer_t *t)
{
    struct http_client *c = container_of(t, struct http_client, timer);
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(c);
}

/* ---- curl -> libuv ----------------------------------------------------- */

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 means "act soon", which we
 * do from the next timer tick rather than by recursing into curl. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_client *c = userp;
    (void)multi;
    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static struct http_sock *sock_open(struct http_client *c, curl_socket_t fd)
{
    struct http_sock *s = xcalloc(1, sizeof(*s));
    if (uv_poll_init_socket(c->loop, &s->poll, fd) < 0) {
        free(s);
        return NULL;
    }
    s->fd = fd;
    s->c = c;
    s->poll.data = s;
    sock_link(c, s);
    curl_multi_assign(c->multi, fd, s);
    return s;
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    struct http_client *c = userp;
    struct http_sock *s = socketp;
    (void)easy;

    if (action == CURL_POLL_REMOVE) {
        if (s) {
            /* During curl_multi_cleanup the multi is being torn down:
             * leave its socket hash alone. */
            if (!c->closing)
                curl_multi_assign(c->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (c->closing)
        return 0;
    if (!s && !(s = sock_open(c, fd)))
        return -1;
    int events = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, on_poll) < 0 ? -1 : 0;
}

/* ---- per-transfer callbacks -------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct http_xfer *x = userp;
    size_t n = size * nmemb;

    if (!x->length_checked && x->body.cap_limit) {
        curl_off_t len = -1;
        x->length_checked = true;
        if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK &&
            len > 0 && (uint64_t)len > x->body.cap_limit) {
            x->resp.too_large = true;
            return 0;
        }
    }
    if (buf_append(&x->body, ptr, n) < 0) {
        x->resp.too_large = true;
        return 0;
    }
    return n;
}

/* Copies a header's value, trimmed of blanks and the CRLF. */
static char *header_value(const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return xstrndup(v, n);
}

static long header_long(const char *v, size_t n)
{
    char *s = header_value(v, n);
    int64_t out;
    long r = parse_i64(s, &out) == 0 && out >= 0 && out <= LONG_MAX ? (long)out : -1;
    free(s);
    return r;
}

/* Matches "Name:" case-insensitively; returns the value's start or NULL. */
static const char *header_match(const char *line, size_t n, const char *name)
{
    size_t len = strlen(name);
    if (n <= len || line[len] != ':' || strncasecmp(line, name, len) != 0)
        return NULL;
    return line + len + 1;
}

static void header_reset(struct http_response *r)
{
    free(r->retry_after);
    free(r->date);
    r->retry_after = r->date = NULL;
    r->ratelimit_limit = r->ratelimit_remaining = -1;
}

/* CURLOPT_HEADERFUNCTION: one call per header line; a new status line (an
 * interim 1xx response) starts the set afresh. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
    struct http_xfer *x = userp;
    struct http_response *r = &x->resp;
    size_t n = size * nmemb;
    const char *v;

    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        header_reset(r);
    } else if ((v = header_match(line, n, "Retry-After"))) {
        free(r->retry_after);
        r->retry_after = header_value(v, n - (size_t)(v - line));
    } else if ((v = header_match(line, n, "Date"))) {
        free(r->date);
        r->date = header_value(v, n - (size_t)(v - line));
    } else if ((v = header_match(line, n, "X-RateLimit-Limit"))) {
        r->ratelimit_limit = header_long(v, n - (size_t)(v - line));
    } else if ((v = header_match(line, n, "X-RateLimit-Remaining"))) {
        r->ratelimit_remaining = header_long(v, n - (size_t)(v - line));
    }
    return n;
}

/* ---- public API -------------------------------------------------------- */

int http_init(struct http_client *c, uv_loop_t *loop)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->multi = curl_multi_init();
    if (!c->multi)
        return -ENOMEM;
    uv_timer_init(loop, &c->timer);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return 0;
}

/* Sets the method and body; the body is copied by libcurl. */
static int set_method(CURL *e, const struct http_request *req)
{
    const char *m = req->method ? req->method : "GET";
    bool with_body = req->body != NULL;

    if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        with_body = false;
    } else if (strcmp(m, "POST") == 0) {
        with_body = true;
    } else if (strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    } else {
        return -EINVAL;
    }
    if (with_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(req->body ? req->body_len : 0));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
    }
    return 0;
}

static void set_options(struct http_xfer *x, const struct http_request *req)
{
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (req->fresh_connect) {
        /* libcurl silently re-sends a request whose reused connection died
         * before any answer: harmless for a GET, a duplicate for a create. */
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "vomo-sync/" VOMO_SYNC_VERSION);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->resp.error);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    if (req->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    if (req->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
    for (const char *const *h = req->headers; h && *h; h++)
        x->headers = curl_slist_append(x->headers, *h);
    if (x->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
}

int http_submit(struct http_client *c, const struct http_request *req)
{
    if (c->closing)
        return -ESHUTDOWN;
    if (!req->url || !req->done)
        return -EINVAL;
    struct http_xfer *x = xcalloc(1, sizeof(*x));
    x->c = c;
    x->done = req->done;
    x->arg = req->arg;
    x->resp.ratelimit_limit = x->resp.ratelimit_remaining = -1;
    buf_init(&x->body, req->max_response);
    x->easy = curl_easy_init();
    if (!x->easy) {
        xfer_free(x);
        return -ENOMEM;
    }
    int rc = set_method(x->easy, req);
    if (rc == 0) {
        set_options(x, req);
        if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK)
            rc = -EIO;
    }
    if (rc < 0) {
        curl_easy_cleanup(x->easy);
        xfer_free(x);
        return rc;
    }
    xfer_link(c, x);
    c->in_flight++;
    return 0;
}

void http_close(struct http_client *c, void (*on_closed)(struct http_client *c))
{
    if (c->closing)
        return;
    c->closing = true;
    c->on_closed = on_closed;
    while (c->xfers) {
        struct http_xfer *x = c->xfers;
        snprintf(x->resp.error, sizeof(x->resp.error), "request aborted: client closing");
        xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    while (c->socks)
        sock_close(c->socks);
    uv_timer_stop(&c->timer);
    c->pending_handle_closes++;
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

char *http_response_steal_body(const struct http_response *resp, size_t *len)
{
    struct http_xfer *x = container_of(resp, struct http_xfer, resp);
    if (len)
        *len = x->body_stolen ? 0 : x->body.len;
    if (x->body_stolen)
        return xstrdup("");
    x->body_stolen = true;
    x->resp.body = empty_body;
    x->resp.body_len = 0;
    return buf_steal(&x->body);
}
