/*
 * check_http.c - the libuv-driven libcurl client against a libmicrohttpd
 * server started inside the test on 127.0.0.1:0: headers and bodies, the
 * response cap, timeouts, refused connections, many requests at once,
 * keep-alive reuse, and closing with requests in flight.  Every test ends
 * with every handle closed and uv_loop_close() == 0.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define BIG_SIZE (10u * 1024 * 1024)
#define MIB (1024u * 1024)

/* ---- the server -------------------------------------------------------- */

static struct MHD_Daemon *srv;
static uint16_t srv_port;
static atomic_int srv_connections;
static atomic_int srv_requests;
static atomic_bool srv_stopping;

static int server_connections(void)
{
    return atomic_load(&srv_connections);
}

static int server_requests(void)
{
    return atomic_load(&srv_requests);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ssize_t fill_x(void *cls, uint64_t pos, char *out, size_t max)
{
    uint64_t total = (uint64_t)(uintptr_t)cls;
    if (pos >= total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = total - pos < max ? (size_t)(total - pos) : max;
    memset(out, 'x', n);
    return (ssize_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_ok(struct MHD_Connection *conn)
{
    const char *body = "{\"ok\":true}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Date", "Sun, 06 Nov 1994 08:49:37 GMT");
    MHD_add_response_header(r, "Retry-After", "7");
    MHD_add_response_header(r, "X-RateLimit-Limit", "60");
    MHD_add_response_header(r, "x-ratelimit-remaining", " 59 ");
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_big(struct MHD_Connection *conn, bool chunked)
{
    struct MHD_Response *r =
        MHD_create_response_from_callback(chunked ? MHD_SIZE_UNKNOWN : BIG_SIZE, 64 * 1024, fill_x,
                                          (void *)(uintptr_t)BIG_SIZE, NULL);
    enum MHD_Result rc = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return rc;
}

/* Echoes "METHOD|X-Test|User-Agent|Accept-Encoding|" and the request body. */
static enum MHD_Result reply_echo(struct MHD_Connection *conn, const char *method, struct buf *in)
{
    const char *xt = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Test");
    const char *ua = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
    const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
    struct buf out;
    buf_init(&out, 0);
    if (buf_printf(&out, "%s|%s|%s|%s|", method, xt ? xt : "", ua ? ua : "", ae ? ae : "") < 0 ||
        buf_append(&out, in->data ? in->data : "", in->len) < 0)
        abort();
    struct MHD_Response *r =
        MHD_create_response_from_buffer(out.len, out.data, MHD_RESPMEM_MUST_COPY);
    buf_free(&out);
    enum MHD_Result rc = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct buf *in = *con_cls;
    if (!in) {
        in = xmalloc(sizeof(*in));
        buf_init(in, 0);
        *con_cls = in;
        atomic_fetch_add(&srv_requests, 1);
        return MHD_YES;
    }
    if (*upload_size) {
        if (buf_append(in, upload, *upload_size) < 0)
            abort();
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/ok") == 0)
        return reply_ok(conn);
    if (strcmp(url, "/big") == 0)
        return reply_big(conn, false);
    if (strcmp(url, "/bigchunked") == 0)
        return reply_big(conn, true);
    if (strcmp(url, "/status/503") == 0)
        return reply(conn, 503, "down");
    if (strcmp(url, "/echo") == 0)
        return reply_echo(conn, method, in);
    if (strcmp(url, "/slow") == 0) {
        for (int i = 0; i < 400 && !atomic_load(&srv_stopping); i++)
            sleep_ms(5);
        return reply(conn, 200, "late");
    }
    return reply(conn, 404, "no such path");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct buf *in = *con_cls;
    if (in) {
        buf_free(in);
        free(in);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)conn;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&srv_connections, 1);
}

static void server_start(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    atomic_store(&srv_connections, 0);
    atomic_store(&srv_requests, 0);
    atomic_store(&srv_stopping, false);
    srv = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                           NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                           MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                           MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(srv);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(info);
    srv_port = info->port;
    ck_assert_uint_ne(srv_port, 0);
}

static void setup(void)
{
    ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
    server_start();
}

static void teardown(void)
{
    atomic_store(&srv_stopping, true);
    MHD_stop_daemon(srv);
    srv = NULL;
    curl_global_cleanup();
}

/* ---- the client harness ------------------------------------------------ */

struct harness;

struct slot {
    struct harness *h;
    int calls;
    int curl_code;
    long status;
    bool too_large;
    char *body;
    size_t body_len;
    char *retry_after, *date;
    long rl_limit, rl_remaining;
    double total_time_s;
    int resubmit_rc;
};

struct harness {
    uv_loop_t loop;
    struct http_client http;
    int expected; /* close the client after this many done callbacks */
    int done_count;
    int closed;
    int chain_left; /* keep-alive test: requests still to send one by one */
    bool steal;
    struct slot slots[64];
};

static char *url_for(const char *path)
{
    return xasprintf("http://127.0.0.1:%u%s", (unsigned)srv_port, path);
}

static void on_closed(struct http_client *c)
{
    struct harness *h = c->data;
    h->closed++;
}

static void harness_init(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    ck_assert_int_eq(uv_loop_init(&h->loop), 0);
    ck_assert_int_eq(http_init(&h->http, &h->loop), 0);
    h->http.data = h;
}

/* Runs the loop until the client is closed, then checks nothing is left. */
static void harness_run(struct harness *h)
{
    ck_assert_int_eq(uv_run(&h->loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(h->closed, 1);
    ck_assert_int_eq(h->http.in_flight, 0);
    ck_assert_int_eq(uv_loop_close(&h->loop), 0);
}

static void harness_free(struct harness *h)
{
    for (size_t i = 0; i < ARRAY_SIZE(h->slots); i++) {
        free(h->slots[i].body);
        free(h->slots[i].retry_after);
        free(h->slots[i].date);
    }
}

static void submit(struct harness *h, struct slot *s, const struct http_request *tmpl);

static void on_done(const struct http_response *r, void *arg)
{
    struct slot *s = arg;
    struct harness *h = s->h;
    s->calls++;
    s->curl_code = r->curl_code;
    s->status = r->status;
    s->too_large = r->too_large;
    ck_assert_ptr_nonnull(r->body);
    ck_assert_int_eq(r->body[r->body_len], '\0');
    free(s->body);
    if (h->steal) {
        s->body = http_response_steal_body(r, &s->body_len);
        ck_assert_uint_eq(r->body_len, 0);
    } else {
        s->body = xstrndup(r->body, r->body_len);
        s->body_len = r->body_len;
    }
    s->retry_after = r->retry_after ? xstrdup(r->retry_after) : NULL;
    s->date = r->date ? xstrdup(r->date) : NULL;
    s->rl_limit = r->ratelimit_limit;
    s->rl_remaining = r->ratelimit_remaining;
    s->total_time_s = r->total_time_s;
    h->done_count++;
    if (h->chain_left > 0) {
        h->chain_left--;
        struct http_request req = {.method = "GET", .url = NULL, .timeout_ms = 2000};
        submit(h, &h->slots[h->done_count], &req);
        return;
    }
    if (h->done_count == h->expected)
        http_close(&h->http, on_closed);
}

static void submit(struct harness *h, struct slot *s, const struct http_request *tmpl)
{
    struct http_request req = *tmpl;
    char *url = req.url ? NULL : url_for("/ok");
    if (url)
        req.url = url;
    s->h = h;
    req.done = on_done;
    req.arg = s;
    ck_assert_int_eq(http_submit(&h->http, &req), 0);
    free(url);
}

/* One request, run to completion, client closed. */
static void run_one(struct harness *h, const struct http_request *req)
{
    harness_init(h);
    h->expected = 1;
    submit(h, &h->slots[0], req);
    harness_run(h);
    ck_assert_int_eq(h->slots[0].calls, 1);
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(test_ok_headers)
{
    static struct harness h;
    char *url = url_for("/ok");
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
    run_one(&h, &req);
    struct slot *s = &h.slots[0];
    ck_assert_int_eq(s->curl_code, CURLE_OK);
    ck_assert_int_eq(s->status, 200);
    ck_assert_str_eq(s->body, "{\"ok\":true}");
    ck_assert_uint_eq(s->body_len, 11);
    ck_assert(!s->too_large);
    ck_assert_str_eq(s->retry_after, "7");
    ck_assert_str_eq(s->date, "Sun, 06 Nov 1994 08:49:37 GMT");
    ck_assert_int_eq(s->rl_limit, 60);
    ck_assert_int_eq(s->rl_remaining, 59);
    ck_assert(s->total_time_s > 0);
    free(url);
    harness_free(&h);
}
END_TEST

START_TEST(test_absent_headers)
{
    static struct harness h;
    char *url = url_for("/status/503");
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
    run_one(&h, &req);
    struct slot *s = &h.slots[0];
    ck_assert_int_eq(s->curl_code, CURLE_OK);
    ck_assert_int_eq(s->status, 503);
    ck_assert_str_eq(s->body, "down");
    ck_assert_ptr_null(s->retry_after);
    ck_assert_int_eq(s->rl_limit, -1);
    ck_assert_int_eq(s->rl_remaining, -1);
    free(url);
    harness_free(&h);
}
END_TEST

START_TEST(test_too_large)
{
    static const char *const paths[] = {"/big", "/bigchunked"};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        static struct harness h;
        char *url = url_for(paths[i]);
        struct http_request req = {
            .method = "GET", .url = url, .timeout_ms = 5000, .max_response = MIB};
        run_one(&h, &req);
        struct slot *s = &h.slots[0];
        ck_assert_msg(s->too_large, "%s not flagged too large", paths[i]);
        ck_assert_int_eq(s->curl_code, CURLE_WRITE_ERROR);
        ck_assert_uint_le(s->body_len, MIB);
        free(url);
        harness_free(&h);
    }
}
END_TEST

START_TEST(test_big_within_cap)
{
    static struct harness h;
    char *url = url_for("/big");
    struct http_request req = {
        .method = "GET", .url = url, .timeout_ms = 5000, .max_response = BIG_SIZE};
    harness_init(&h);
    h.steal = true;
    h.expected = 1;
    submit(&h, &h.slots[0], &req);
    harness_run(&h);
    struct slot *s = &h.slots[0];
    ck_assert_int_eq(s->curl_code, CURLE_OK);
    ck_assert(!s->too_large);
    ck_assert_uint_eq(s->body_len, BIG_SIZE);
    ck_assert_int_eq(s->body[0], 'x');
    ck_assert_int_eq(s->body[BIG_SIZE - 1], 'x');
    free(url);
    harness_free(&h);
}
END_TEST

START_TEST(test_timeout)
{
    static struct harness h;
    char *url = url_for("/slow");
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = 100};
    run_one(&h, &req);
    ck_assert_int_eq(h.slots[0].curl_code, CURLE_OPERATION_TIMEDOUT);
    ck_assert_int_eq(h.slots[0].status, 0);
    free(url);
    harness_free(&h);
}
END_TEST

START_TEST(test_post_put_delete_echo)
{
    static const char *const methods[] = {"POST", "PUT", "DELETE"};
    static const char body[] = "{\"a\":1}\0tail";
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        static struct harness h;
        char *url = url_for("/echo");
        const char *headers[] = {"X-Test: yes please", "Content-Type: application/json", NULL};
        struct http_request req = {.method = methods[i],
                                   .url = url,
                                   .headers = headers,
                                   .body = body,
                                   .body_len = sizeof(body) - 1,
                                   .timeout_ms = 2000};
        run_one(&h, &req);
        struct slot *s = &h.slots[0];
        ck_assert_int_eq(s->curl_code, CURLE_OK);
        ck_assert_int_eq(s->status, 200);
        char *prefix = xasprintf("%s|yes please|vomo-sync/%s|", methods[i], VOMO_SYNC_VERSION);
        size_t plen = strlen(prefix);
        ck_assert_int_eq(memcmp(s->body, prefix, plen), 0);
        /* Accept-Encoding offers gzip; the body follows the next '|'. */
        const char *ae = s->body + plen, *bar = memchr(ae, '|', s->body_len - plen);
        ck_assert_ptr_nonnull(bar);
        char *offered = xstrndup(ae, (size_t)(bar - ae));
        bool gzip = strstr(offered, "gzip") != NULL;
        free(offered);
        ck_assert(gzip);
        ck_assert_uint_eq(s->body_len - (size_t)(bar + 1 - s->body), sizeof(body) - 1);
        ck_assert_int_eq(memcmp(bar + 1, body, sizeof(body) - 1), 0);
        free(prefix);
        free(url);
        harness_free(&h);
    }
}
END_TEST

START_TEST(test_delete_without_body)
{
    static struct harness h;
    char *url = url_for("/echo");
    struct http_request req = {.method = "DELETE", .url = url, .timeout_ms = 2000};
    run_one(&h, &req);
    ck_assert_int_eq(h.slots[0].status, 200);
    ck_assert_int_eq(strncmp(h.slots[0].body, "DELETE||vomo-sync/", 18), 0);
    ck_assert_int_eq(h.slots[0].body[h.slots[0].body_len - 1], '|');
    free(url);
    harness_free(&h);
}
END_TEST

START_TEST(test_refused)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);

    static struct harness h;
    char *url = xasprintf("http://127.0.0.1:%u/ok", (unsigned)ntohs(sa.sin_port));
    struct http_request req = {
        .method = "GET", .url = url, .timeout_ms = 2000, .connect_timeout_ms = 1000};
    run_one(&h, &req);
    ck_assert_int_eq(h.slots[0].curl_code, CURLE_COULDNT_CONNECT);
    ck_assert_int_eq(h.slots[0].status, 0);
    ck_assert_int_eq(server_requests(), 0);
    free(url);
    harness_free(&h);
}
END_TEST

START_TEST(test_many_concurrent)
{
    static struct harness h;
    harness_init(&h);
    h.expected = 50;
    struct http_request req = {.method = "GET", .url = NULL, .timeout_ms = 5000};
    for (int i = 0; i < 50; i++)
        submit(&h, &h.slots[i], &req);
    ck_assert_int_eq(h.http.in_flight, 50);
    harness_run(&h);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(h.slots[i].calls, 1);
        ck_assert_int_eq(h.slots[i].curl_code, CURLE_OK);
        ck_assert_int_eq(h.slots[i].status, 200);
        ck_assert_str_eq(h.slots[i].body, "{\"ok\":true}");
    }
    ck_assert_int_eq(h.slots[50].calls, 0);
    ck_assert_int_eq(server_requests(), 50);
    harness_free(&h);
}
END_TEST

START_TEST(test_keepalive)
{
    static struct harness h;
    harness_init(&h);
    h.expected = 10;
    h.chain_left = 9;
    struct http_request req = {.method = "GET", .url = NULL, .timeout_ms = 2000};
    submit(&h, &h.slots[0], &req);
    harness_run(&h);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(h.slots[i].calls, 1);
        ck_assert_int_eq(h.slots[i].status, 200);
    }
    ck_assert_int_eq(server_requests(), 10);
    ck_assert_int_eq(server_connections(), 1);
    harness_free(&h);
}
END_TEST

static void close_now(uv_timer_t *t)
{
    struct harness *h = t->data;
    http_close(&h->http, on_closed);
    /* Closed clients refuse new work without calling done. */
    struct http_request req = {.method = "GET", .url = "http://127.0.0.1:1/", .done = on_done};
    ck_assert_int_eq(http_submit(&h->http, &req), -ESHUTDOWN);
    uv_close((uv_handle_t *)t, NULL);
}

START_TEST(test_close_in_flight)
{
    static struct harness h;
    static uv_timer_t t;
    harness_init(&h);
    h.expected = -1; /* done callbacks do not close; the timer does */
    char *url = url_for("/slow");
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = 5000};
    for (int i = 0; i < 5; i++)
        submit(&h, &h.slots[i], &req);
    uv_timer_init(&h.loop, &t);
    t.data = &h;
    uv_timer_start(&t, close_now, 100, 0);
    harness_run(&h);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(h.slots[i].calls, 1);
        ck_assert_int_eq(h.slots[i].curl_code, CURLE_ABORTED_BY_CALLBACK);
    }
    ck_assert_int_ge(server_requests(), 1);
    free(url);
    harness_free(&h);
}
END_TEST

/* A done callback that closes the client aborts the others exactly once. */
START_TEST(test_close_from_done)
{
    static struct harness h;
    harness_init(&h);
    h.expected = 1;
    char *ok = url_for("/ok"), *slow = url_for("/slow");
    struct http_request fast = {.method = "GET", .url = ok, .timeout_ms = 5000};
    struct http_request late = {.method = "GET", .url = slow, .timeout_ms = 5000};
    submit(&h, &h.slots[0], &fast);
    for (int i = 1; i < 4; i++)
        submit(&h, &h.slots[i], &late);
    harness_run(&h);
    ck_assert_int_eq(h.slots[0].curl_code, CURLE_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(h.slots[i].calls, 1);
    for (int i = 1; i < 4; i++)
        ck_assert_int_eq(h.slots[i].curl_code, CURLE_ABORTED_BY_CALLBACK);
    free(ok);
    free(slow);
    harness_free(&h);
}
END_TEST

START_TEST(test_submit_errors)
{
    static struct harness h;
    harness_init(&h);
    struct slot *s = &h.slots[0];
    s->h = &h;
    struct http_request bad = {
        .method = "PATCH", .url = "http://127.0.0.1:1/", .done = on_done, .arg = s};
    ck_assert_int_eq(http_submit(&h.http, &bad), -EINVAL);
    bad.method = "GET";
    bad.url = NULL;
    ck_assert_int_eq(http_submit(&h.http, &bad), -EINVAL);
    ck_assert_int_eq(h.http.in_flight, 0);
    http_close(&h.http, on_closed);
    harness_run(&h);
    ck_assert_int_eq(s->calls, 0);
    harness_free(&h);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_ok_headers);
    tcase_add_test(tc, test_absent_headers);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_big_within_cap);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_post_put_delete_echo);
    tcase_add_test(tc, test_delete_without_body);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_many_concurrent);
    tcase_add_test(tc, test_keepalive);
    tcase_add_test(tc, test_close_in_flight);
    tcase_add_test(tc, test_close_from_done);
    tcase_add_test(tc, test_submit_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
