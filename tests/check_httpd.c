/*
 * check_httpd.c - the local HTTP server on the libuv loop, asked by the
 * project's own libcurl client on the same loop: routes, HEAD, 404 and
 * 405 (with Allow) as JSON, 413 for a body over the cap, headers and query
 * arguments, a client that sends half a request and stalls (the loop keeps
 * its pace and other requests are answered; the stalled connection is
 * dropped after the timeout), moving to another address (and staying put
 * when the new one cannot be bound), IPv6 loopback, and the listen address
 * parser.  Every test ends with every handle closed and uv_loop_close() == 0.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "httpd.h"
#include "netaddr.h"

struct rig {
    uv_loop_t loop;
    struct httpd *srv;
    struct http_client http;
    bool srv_closed, http_closed;
    int hello_calls;
    /* /slow: deferred replies, answered by `later` after 100 ms */
    struct httpd_deferred *slow[8];
    int nslow, gone[3], refused;
    int64_t slow_timeout_ms;
    bool never; /* /slow is never answered: its deadline or the client ends it */
    uv_timer_t later;
};

struct answer {
    bool done;
    long status;
    int curl_code;
    char body[512];
    char allow[128];
};

static void on_hello(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    struct rig *r = ctx;
    r->hello_calls++;
    const char *who = httpd_arg(req, "who");
    const char *ua = httpd_header(req, "X-Test");
    rep->content_type = "text/plain";
    (void)!buf_printf(&rep->body, "hello %s %s %s %zu", who ? who : "-", ua ? ua : "-", req->method,
                      req->body_len);
    httpd_reply_header(rep, "X-Served-By", "test");
}

static void on_tree(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    (void)ctx;
    (void)!buf_printf(&rep->body, "{\"path\": \"%s\"}", req->path);
}

static void on_slow_gone(struct httpd_deferred *d, enum httpd_gone why, void *arg)
{
    struct rig *r = arg;
    r->gone[why]++;
    for (int i = 0; i < r->nslow; i++)
        if (r->slow[i] == d)
            r->slow[i] = NULL;
}

static void on_later(uv_timer_t *t)
{
    struct rig *r = container_of(t, struct rig, later);
    for (int i = 0; i < r->nslow; i++) {
        if (!r->slow[i])
            continue;
        struct httpd_reply rep = {.status = 201, .content_type = "text/plain"};
        buf_init(&rep.body, 0);
        (void)!buf_printf(&rep.body, "late %d", i);
        httpd_reply_header(&rep, "X-Late", "yes");
        httpd_resume(r->slow[i], &rep);
        ck_assert_uint_eq(rep.body.len, 0); /* taken over */
        r->slow[i] = NULL;
    }
    r->nslow = 0;
}

static void on_slow(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    struct rig *r = ctx;
    struct httpd_deferred *d = httpd_defer(req, r->slow_timeout_ms, on_slow_gone, r);
    if (!d) {
        r->refused++;
        httpd_reply_error(rep, 503, "too many waiting");
        return;
    }
    if (httpd_arg(req, "now")) { /* answered from within the handler */
        struct httpd_reply now = {.status = 202, .content_type = "text/plain"};
        buf_init(&now.body, 0);
        (void)!buf_puts(&now.body, "at once");
        httpd_resume(d, &now);
        return;
    }
    r->slow[r->nslow++] = d;
    if (!r->never)
        uv_timer_start(&r->later, on_later, 100, 0);
}

static void rig_open(struct rig *r, const char *addr)
{
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(uv_loop_init(&r->loop), 0);
    struct httpd_limits lim = HTTPD_LIMITS_DEFAULT;
    lim.max_body = 1000;
    lim.timeout_s = 1;
    lim.max_deferred = 2;
    ck_assert_int_eq(httpd_new(&r->loop, &lim, &r->srv), 0);
    ck_assert_int_eq(httpd_route_add(r->srv, "GET", "/hello", on_hello, r), 0);
    ck_assert_int_eq(httpd_route_add(r->srv, "PUT", "/hello", on_hello, r), 0);
    ck_assert_int_eq(httpd_route_add(r->srv, "POST", "/tree/", on_tree, r), 0);
    ck_assert_int_eq(httpd_route_add(r->srv, "GET", "/slow", on_slow, r), 0);
    ck_assert_int_eq(httpd_route_add(r->srv, "GET", "nope", on_tree, r), -EINVAL);
    uv_timer_init(&r->loop, &r->later);
    r->slow_timeout_ms = 5000;
    struct netaddr a;
    const char *why;
    ck_assert_int_eq(netaddr_parse(addr, &a, &why), 0);
    char err[256];
    ck_assert_msg(httpd_listen(r->srv, &a, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_ne(httpd_port(r->srv), 0);
    ck_assert_int_eq(http_init(&r->http, &r->loop), 0);
}

static void on_srv_closed(void *arg)
{
    ((struct rig *)arg)->srv_closed = true;
}

static void on_http_closed(struct http_client *c)
{
    ((struct rig *)c->data)->http_closed = true;
}

static void on_closed_noop(uv_handle_t *h);

static void rig_close(struct rig *r)
{
    uv_close((uv_handle_t *)&r->later, on_closed_noop);
    httpd_close(r->srv, on_srv_closed, r);
    r->http.data = r;
    http_close(&r->http, on_http_closed);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    ck_assert(r->srv_closed && r->http_closed);
    ck_assert_int_eq(uv_loop_close(&r->loop), 0);
}

static void on_answer(const struct http_response *resp, void *arg)
{
    struct answer *a = arg;
    a->done = true;
    a->status = resp->status;
    a->curl_code = resp->curl_code;
    snprintf(a->body, sizeof(a->body), "%s", resp->body);
}

static void run_until_done(struct rig *r, struct answer *a)
{
    for (int i = 0; i < 100000 && !a->done; i++)
        uv_run(&r->loop, UV_RUN_ONCE);
    ck_assert(a->done);
}

static struct answer ask(struct rig *r, const char *method, const char *path, const char *body,
                         size_t body_len)
{
    struct answer a = {0};
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", httpd_port(r->srv), path);
    const char *headers[] = {"X-Test: yes", NULL};
    struct http_request req = {.method = method,
                               .url = url,
                               .headers = headers,
                               .body = body,
                               .body_len = body_len,
                               .timeout_ms = 5000,
                               .done = on_answer,
                               .arg = &a};
    ck_assert_int_eq(http_submit(&r->http, &req), 0);
    run_until_done(r, &a);
    return a;
}

START_TEST(routes_and_errors)
{
    struct rig r;
    rig_open(&r, "127.0.0.1:0");
    struct answer a = ask(&r, "GET", "/hello?who=me", NULL, 0);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.body, "hello me yes GET 0");
    a = ask(&r, "PUT", "/hello", "abc", 3);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.body, "hello - yes PUT 3");
    a = ask(&r, "POST", "/tree/a/b", "{}", 2);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.body, "{\"path\": \"/tree/a/b\"}");
    a = ask(&r, "GET", "/missing", NULL, 0);
    ck_assert_int_eq(a.status, 404);
    ck_assert_str_eq(a.body, "{\"error\": \"not found\"}\n");
    a = ask(&r, "GET", "/hello/more", NULL, 0); /* exact routes do not match below them */
    ck_assert_int_eq(a.status, 404);
    a = ask(&r, "DELETE", "/hello", NULL, 0);
    ck_assert_int_eq(a.status, 405);
    ck_assert_str_eq(a.body, "{\"error\": \"method not allowed\"}\n");
    a = ask(&r, "GET", "/tree/x", NULL, 0);
    ck_assert_int_eq(a.status, 405);
    char big[2000];
    memset(big, 'x', sizeof(big));
    a = ask(&r, "PUT", "/hello", big, sizeof(big));
    ck_assert_int_eq(a.status, 413);
    ck_assert_int_eq(r.hello_calls, 2); /* neither 405 nor 413 reached the handler */
    rig_close(&r);
}
END_TEST

/* HEAD and the Allow header, read with a blocking libcurl easy handle on a
 * thread-free loop turn: the server is driven between the client's steps. */
static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Sends raw bytes, turns the loop until the server closed or answered. */
static size_t raw_exchange(struct rig *r, const char *req, char *out, size_t outlen)
{
    int fd = raw_connect(httpd_port(r->srv));
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    size_t n = 0;
    for (int i = 0; i < 2000; i++) {
        uv_run(&r->loop, UV_RUN_NOWAIT);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5) == 1) {
            ssize_t k = read(fd, out + n, outlen - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
        }
    }
    out[n] = '\0';
    close(fd);
    return n;
}

START_TEST(head_and_allow)
{
    struct rig r;
    rig_open(&r, "127.0.0.1:0");
    char resp[4096];
    raw_exchange(&r, "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
                 sizeof(resp));
    ck_assert_msg(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
    ck_assert_ptr_null(strstr(resp, "hello -")); /* no body for HEAD */
    raw_exchange(&r, "DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
                 sizeof(resp));
    ck_assert_msg(strncmp(resp, "HTTP/1.1 405", 12) == 0, "%s", resp);
    ck_assert_msg(strstr(resp, "Allow: GET, HEAD, PUT\r\n"), "%s", resp);
    ck_assert_msg(strstr(resp, "Content-Type: application/json\r\n"), "%s", resp);
    raw_exchange(&r,
                 "PUT /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: "
                 "close\r\n\r\n",
                 resp, sizeof(resp));
    ck_assert_msg(strncmp(resp, "HTTP/1.1 413", 12) == 0, "%s", resp);
    rig_close(&r);
}
END_TEST

/* A "watchdog": a timer that notes the longest gap between its ticks. */
struct ticker {
    uv_timer_t t;
    uint64_t last, worst;
    int ticks;
};

static void on_tick(uv_timer_t *t)
{
    struct ticker *k = container_of(t, struct ticker, t);
    uint64_t now = uv_now(t->loop);
    if (k->ticks++ > 0 && now - k->last > k->worst)
        k->worst = now - k->last;
    k->last = now;
}

static void on_closed_noop(uv_handle_t *h)
{
    (void)h;
}

START_TEST(stalled_client_does_not_stall_the_loop)
{
    struct rig r;
    rig_open(&r, "127.0.0.1:0");
    struct ticker k = {0};
    uv_timer_init(&r.loop, &k.t);
    uv_timer_start(&k.t, on_tick, 10, 10);
    /* Half a request, then silence. */
    int stalled[5];
    for (int i = 0; i < 5; i++) {
        stalled[i] = raw_connect(httpd_port(r.srv));
        const char *half = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Te";
        ck_assert_int_eq(write(stalled[i], half, strlen(half)), (ssize_t)strlen(half));
    }
    for (int i = 0; i < 20; i++) {
        uint64_t t0 = uv_now(&r.loop);
        struct answer a = ask(&r, "GET", "/hello", NULL, 0);
        ck_assert_int_eq(a.status, 200);
        uv_update_time(&r.loop);
        ck_assert_uint_lt(uv_now(&r.loop) - t0, 500);
    }
    ck_assert_uint_lt(k.worst, 200);
    /* The idle timeout (1 s here) drops the stalled connections. */
    uint64_t t0 = uv_now(&r.loop);
    bool dropped = false;
    while (!dropped && uv_now(&r.loop) - t0 < 5000) {
        uv_run(&r.loop, UV_RUN_ONCE);
        struct pollfd p = {.fd = stalled[0], .events = POLLIN};
        char c;
        dropped = poll(&p, 1, 0) == 1 && read(stalled[0], &c, 1) <= 0;
    }
    ck_assert_msg(dropped, "a stalled client was not dropped");
    ck_assert_uint_ge(uv_now(&r.loop) - t0, 200);
    ck_assert_uint_lt(k.worst, 200);
    for (int i = 0; i < 5; i++)
        close(stalled[i]);
    uv_close((uv_handle_t *)&k.t, on_closed_noop);
    rig_close(&r);
}
END_TEST

START_TEST(moves_to_another_address)
{
    struct rig r;
    rig_open(&r, "127.0.0.1:0");
    uint16_t old_port = httpd_port(&*r.srv);
    /* A port taken by someone else: the server stays where it was. */
    int other = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(other, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(other, 1), 0);
    socklen_t len = sizeof(sa);
    ck_assert_int_eq(getsockname(other, (struct sockaddr *)&sa, &len), 0);
    char addr[64], err[256];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
    struct netaddr a;
    const char *why;
    ck_assert_int_eq(netaddr_parse(addr, &a, &why), 0);
    ck_assert_int_eq(httpd_listen(r.srv, &a, err, sizeof(err)), -EADDRINUSE);
    ck_assert_msg(strstr(err, addr) && strstr(err, "in use"), "%s", err);
    ck_assert_uint_eq(httpd_port(r.srv), old_port);
    ck_assert_int_eq(ask(&r, "GET", "/hello", NULL, 0).status, 200);
    close(other);
    /* A free one: it moves, and the old port no longer answers. */
    ck_assert_int_eq(netaddr_parse("127.0.0.1:0", &a, &why), 0);
    ck_assert_int_eq(httpd_listen(r.srv, &a, err, sizeof(err)), 0);
    ck_assert_uint_ne(httpd_port(r.srv), old_port);
    ck_assert_int_eq(ask(&r, "GET", "/hello", NULL, 0).status, 200);
    struct answer gone = {0};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hello", old_port);
    struct http_request req = {
        .method = "GET", .url = url, .timeout_ms = 2000, .done = on_answer, .arg = &gone};
    ck_assert_int_eq(http_submit(&r.http, &req), 0);
    run_until_done(&r, &gone);
    ck_assert_int_eq(gone.curl_code, CURLE_COULDNT_CONNECT);
    httpd_unlisten(r.srv);
    ck_assert(!httpd_listening(r.srv));
    ck_assert_uint_eq(httpd_port(r.srv), 0);
    rig_close(&r);
}
END_TEST

START_TEST(ipv6_loopback)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&a6, sizeof(a6)) == 0;
    if (probe >= 0)
        close(probe);
    if (!have_v6)
        return; /* no IPv6 on this machine */
    struct rig r;
    rig_open(&r, "[::1]:0");
    char addr[80];
    httpd_address(r.srv, addr, sizeof(addr));
    ck_assert_msg(strncmp(addr, "[::1]:", 6) == 0, "%s", addr);
    struct answer a = {0};
    char url[96];
    snprintf(url, sizeof(url), "http://%s/hello", addr);
    struct http_request req = {
        .method = "GET", .url = url, .timeout_ms = 2000, .done = on_answer, .arg = &a};
    ck_assert_int_eq(http_submit(&r.http, &req), 0);
    run_until_done(&r, &a);
    ck_assert_int_eq(a.status, 200);
    rig_close(&r);
}
END_TEST

START_TEST(close_without_listening)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct httpd *srv;
    ck_assert_int_eq(httpd_new(&loop, NULL, &srv), 0);
    bool closed = false;
    struct rig fake = {0};
    (void)fake;
    httpd_close(srv, on_srv_closed, &fake);
    uv_run(&loop, UV_RUN_DEFAULT);
    closed = fake.srv_closed;
    ck_assert(closed);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(listen_addresses)
{
    struct netaddr a;
    const char *why;
    char out[80];
    ck_assert_int_eq(netaddr_parse("127.0.0.1:9464", &a, &why), 0);
    ck_assert(netaddr_is_loopback(&a));
    ck_assert_uint_eq(netaddr_port(&a), 9464);
    netaddr_format(&a, out, sizeof(out));
    ck_assert_str_eq(out, "127.0.0.1:9464");
    ck_assert_int_eq(netaddr_parse("127.8.9.10:1", &a, &why), 0);
    ck_assert(netaddr_is_loopback(&a));
    ck_assert_int_eq(netaddr_parse("[::1]:9464", &a, &why), 0);
    ck_assert(netaddr_is_loopback(&a));
    netaddr_format(&a, out, sizeof(out));
    ck_assert_str_eq(out, "[::1]:9464");
    ck_assert_int_eq(netaddr_parse("0.0.0.0:9464", &a, &why), 0);
    ck_assert(!netaddr_is_loopback(&a));
    ck_assert_int_eq(netaddr_parse("[::]:9464", &a, &why), 0);
    ck_assert(!netaddr_is_loopback(&a));
    ck_assert_int_eq(netaddr_parse("192.168.1.5:0", &a, &why), 0);
    ck_assert(!netaddr_is_loopback(&a));
    static const char *const bad[] = {"",
                                      "9464",
                                      "localhost:9464",
                                      "127.0.0.1",
                                      "127.0.0.1:",
                                      "127.0.0.1:65536",
                                      "127.0.0.1:-1",
                                      "::1:9464",
                                      "[::1]9464",
                                      "[::1]:",
                                      "[nope]:80",
                                      "1.2.3:80",
                                      "127.0.0.1:80x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(netaddr_parse(bad[i], &a, &why) == -EINVAL, "accepted '%s'", bad[i]);
    ck_assert_ptr_nonnull(strstr(why, "127.0.0.1:9464"));
}
END_TEST

/* Submits GET path without waiting; the answer lands in *a. */
static void ask_async(struct rig *r, const char *path, struct answer *a, int64_t timeout_ms)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", httpd_port(r->srv), path);
    struct http_request req = {
        .method = "GET", .url = url, .timeout_ms = timeout_ms, .done = on_answer, .arg = a};
    ck_assert_int_eq(http_submit(&r->http, &req), 0);
}

/* Deferred replies: they wait without holding the loop (other requests
 * are answered meanwhile), the bound refuses one more, the reply is sent
 * with its status, body and headers, a reply given inside the handler
 * goes at once, and HEAD-less keep-alive connections go on working. */
START_TEST(deferred_replies)
{
    struct rig r;
    rig_open(&r, "127.0.0.1:0");
    struct answer s[3] = {{0}};
    for (int i = 0; i < 3; i++)
        ask_async(&r, "/slow", &s[i], 5000);
    for (int i = 0; i < 200 && r.nslow + r.refused < 3; i++)
        uv_run(&r.loop, UV_RUN_ONCE);
    ck_assert_int_eq(r.nslow + r.refused, 3);
    ck_assert_int_eq(r.refused, 1); /* max_deferred = 2 */
    ck_assert_uint_eq(httpd_deferred_count(r.srv), (unsigned)r.nslow);
    /* While they wait, the loop answers others. */
    struct answer a = ask(&r, "GET", "/hello?who=meanwhile", NULL, 0);
    ck_assert_int_eq(a.status, 200);
    for (int i = 0; i < 3; i++)
        run_until_done(&r, &s[i]);
    int late = 0;
    for (int i = 0; i < 3; i++) {
        if (s[i].status == 201) {
            late++;
            ck_assert_ptr_nonnull(strstr(s[i].body, "late "));
        } else {
            ck_assert_int_eq(s[i].status, 503);
        }
    }
    ck_assert_int_eq(late, 3 - r.refused);
    ck_assert_uint_eq(httpd_deferred_count(r.srv), 0);
    a = ask(&r, "GET", "/slow?now=1", NULL, 0);
    ck_assert_int_eq(a.status, 202);
    ck_assert_str_eq(a.body, "at once");
    ck_assert_int_eq(r.gone[HTTPD_GONE_CLIENT] + r.gone[HTTPD_GONE_TIMEOUT], 0);
    rig_close(&r);
}
END_TEST

/* A deferral nobody answers ends at its deadline with 504; a client that
 * gives up first is noticed (gone: client) although MHD does not watch a
 * suspended connection; closing the server ends the rest with 503. */
START_TEST(deferred_deadline_client_and_close)
{
    struct rig r;
    rig_open(&r, "127.0.0.1:0");
    r.never = true;
    r.slow_timeout_ms = 300;
    struct answer a = ask(&r, "GET", "/slow", NULL, 0);
    ck_assert_int_eq(a.status, 504);
    ck_assert_int_eq(r.gone[HTTPD_GONE_TIMEOUT], 1);
    r.slow_timeout_ms = 10000;
    r.nslow = 0;
    struct answer quitter = {0};
    ask_async(&r, "/slow", &quitter, 200); /* the client gives up after 200 ms */
    run_until_done(&r, &quitter);
    ck_assert_int_eq(quitter.status, 0);
    for (int i = 0; i < 100 && r.gone[HTTPD_GONE_CLIENT] == 0; i++) {
        uv_run(&r.loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    ck_assert_int_eq(r.gone[HTTPD_GONE_CLIENT], 1);
    ck_assert_uint_eq(httpd_deferred_count(r.srv), 0);
    /* Still serving after both. */
    a = ask(&r, "GET", "/hello", NULL, 0);
    ck_assert_int_eq(a.status, 200);
    struct answer left = {0};
    ask_async(&r, "/slow", &left, 5000);
    for (int i = 0; i < 200 && httpd_deferred_count(r.srv) == 0; i++)
        uv_run(&r.loop, UV_RUN_ONCE);
    ck_assert_uint_eq(httpd_deferred_count(r.srv), 1);
    uv_close((uv_handle_t *)&r.later, on_closed_noop);
    httpd_close(r.srv, on_srv_closed, &r);
    ck_assert_int_eq(r.gone[HTTPD_GONE_CLOSING], 1);
    run_until_done(&r, &left);
    r.http.data = &r;
    http_close(&r.http, on_http_closed);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    ck_assert(r.srv_closed && r.http_closed);
    ck_assert_int_eq(uv_loop_close(&r.loop), 0);
}
END_TEST

static Suite *httpd_suite(void)
{
    Suite *s = suite_create("httpd");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, routes_and_errors);
    tcase_add_test(tc, head_and_allow);
    tcase_add_test(tc, stalled_client_does_not_stall_the_loop);
    tcase_add_test(tc, moves_to_another_address);
    tcase_add_test(tc, ipv6_loopback);
    tcase_add_test(tc, close_without_listening);
    tcase_add_test(tc, listen_addresses);
    tcase_add_test(tc, deferred_replies);
    tcase_add_test(tc, deferred_deadline_client_and_close);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(httpd_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
