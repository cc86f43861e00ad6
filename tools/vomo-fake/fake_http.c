/*
 * fake_http.c - the HTTP face of the fake on libmicrohttpd: collects each
 * request, decides at arrival what happens to it (authentication, rate
 * limit, fault rules), and answers now or later.  Delays (the latency
 * option and delay faults) and hangs suspend the connection and a timer
 * thread resumes it when due, so a slow answer never holds a server thread;
 * fake_free resumes everything still suspended before stopping the server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake_int.h"

#define BODY_MAX (1024 * 1024)
#define NEVER INT64_MAX

enum phase { PH_RECEIVING, PH_DECIDED };
enum area { AREA_API, AREA_HOOKS, AREA_ADMIN, AREA_OTHER };

/* One request in flight; also the entry of the suspended list. */
struct fake_pending {
    struct fake *f;
    struct MHD_Connection *conn;
    enum phase phase;
    enum area area;
    struct buf body;
    bool too_big;
    bool suspended;
    int64_t due;
    struct fake_pending *next;
    struct fake_request log; /* the request log entry being built */
    bool have_fault;
    enum fake_fault_kind kind;
    int fault_status;
    int fault_delay_ms;
    char *fault_retry_after;
    char *fault_body;
    bool unauth;  /* API: unknown or revoked token */
    bool limited; /* API: over the rate limit */
    int rl_remaining;
};

static void pending_remove_locked(struct fake *f, struct fake_pending *p)
{
    for (struct fake_pending **pp = &f->pending; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            p->next = NULL;
            return;
        }
    }
}

static void *timer_main(void *arg)
{
    struct fake *f = arg;
    pthread_mutex_lock(&f->mu);
    while (!f->stopping) {
        int64_t now = clock_mono_ms(), next = NEVER;
        struct fake_pending **pp = &f->pending;
        while (*pp) {
            struct fake_pending *p = *pp;
            if (p->due <= now) {
                *pp = p->next;
                p->next = NULL;
                MHD_resume_connection(p->conn);
            } else {
                next = p->due < next ? p->due : next;
                pp = &p->next;
            }
        }
        if (next == NEVER) {
            pthread_cond_wait(&f->timer_cv, &f->mu);
        } else {
            struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (next % 1000) * 1000000};
            pthread_cond_timedwait(&f->timer_cv, &f->mu, &ts);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Suspends the connection until `due` (monotonic ms); false when stopping. */
static bool suspend_until_locked(struct fake_pending *p, int64_t due)
{
    struct fake *f = p->f;
    if (f->stopping)
        return false;
    MHD_suspend_connection(p->conn);
    p->suspended = true;
    p->due = due;
    p->next = f->pending;
    f->pending = p;
    pthread_cond_signal(&f->timer_cv);
    return true;
}

static bool is_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
    }
    return false;
}

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    struct buf *b = cls;
    (void)!buf_printf(b, "%s%s=%s", b->len ? "&" : "", key, value ? value : "");
    return MHD_YES;
}

static const char *arg_of(void *cls, const char *key)
{
    return MHD_lookup_connection_value(cls, MHD_GET_ARGUMENT_KIND, key);
}

static const char *bearer_token(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

/* Per-token fixed one-second window; counts every authenticated request. */
static void rate_limit_locked(struct fake *f, struct fake_tenant *t, struct fake_pending *p)
{
    int limit = f->o.rate_limit_rps;
    if (limit <= 0)
        return;
    int64_t sec = fake_now_s();
    if (t->rl_window != sec) {
        t->rl_window = sec;
        t->rl_count = 0;
    }
    t->rl_count++;
    p->limited = t->rl_count > limit;
    p->rl_remaining = t->rl_count >= limit ? 0 : limit - t->rl_count;
}

static void take_fault(struct fake_pending *p, const struct fake_rule *r)
{
    p->have_fault = true;
    p->kind = r->kind;
    p->fault_status = r->status;
    p->fault_delay_ms = r->delay_ms;
    p->fault_retry_after = r->retry_after ? xstrdup(r->retry_after) : NULL;
    p->fault_body = r->body ? xstrdup(r->body) : NULL;
    free(p->log.fault);
    p->log.fault = xstrdup(fake_fault_kind_name(r->kind));
}

/* Who is asking and what happens to the request; under the lock. */
static void decide_locked(struct fake_pending *p, const char *method, const char *url)
{
    struct fake *f = p->f;
    const char *tenant = NULL;
    if (p->area == AREA_API) {
        struct fake_tenant *t = fake_tenant_by_token_locked(f, bearer_token(p->conn));
        p->unauth = !t || t->revoked;
        if (t)
            tenant = t->name;
        if (!p->unauth)
            rate_limit_locked(f, t, p);
    } else if (p->area == AREA_HOOKS) {
        tenant = url + strlen("/_hooks/");
    }
    p->log.tenant = xstrdup(tenant ? tenant : "");
    struct fake_rule r;
    if (p->area != AREA_ADMIN &&
        fake_fault_pick_locked(f, method, url, tenant, p->body.data ? p->body.data : "", &r))
        take_fault(p, &r);
}

static void log_start(struct fake_pending *p, const char *method, const char *url)
{
    struct buf q;
    buf_init(&q, 8192);
    MHD_get_connection_values(p->conn, MHD_GET_ARGUMENT_KIND, query_iter, &q);
    p->log.time_ms = clock_wall_ms();
    p->log.method = xstrdup(method);
    p->log.path = xstrdup(url);
    p->log.query = q.data ? buf_steal(&q) : xstrdup("");
    bool has_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    p->log.body = xstrdup(has_body && p->body.data ? p->body.data : "");
    p->log.fault = xstrdup("");
}

static enum area area_of(const char *url)
{
    if (strncmp(url, "/_admin/", 8) == 0 || strcmp(url, "/_admin") == 0)
        return AREA_ADMIN;
    if (strncmp(url, "/_hooks/", 8) == 0 && url[8] && !strchr(url + 8, '/'))
        return AREA_HOOKS;
    if (strncmp(url, "/v1/", 4) == 0)
        return AREA_API;
    return AREA_OTHER;
}

static void finish_log_locked(struct fake_pending *p, int status)
{
    if (p->area == AREA_ADMIN)
        return;
    p->log.status = status;
    fake_log_request_locked(p->f, &p->log);
}

static void pending_free(struct fake_pending *p)
{
    buf_free(&p->body);
    free(p->log.method);
    free(p->log.path);
    free(p->log.query);
    free(p->log.tenant);
    free(p->log.body);
    free(p->log.fault);
    free(p->fault_retry_after);
    free(p->fault_body);
    free(p);
}

static const char *status_message(int status)
{
    switch (status) {
    case 401:
        return "Unauthenticated.";
    case 403:
        return "This action is unauthorized.";
    case 404:
        return "Not found.";
    case 409:
        return "Conflict.";
    case 413:
        return "Payload too large.";
    case 422:
        return "The given data was invalid.";
    case 429:
        return "Too Many Attempts.";
    default:
        return status >= 500 ? "Server Error" : "Fault injected.";
    }
}

static void answer_fault(struct fake_pending *p, struct fake_reply *r)
{
    if (p->kind == FAKE_FAULT_MALFORMED) {
        fake_reply_set(r, 200, "{\"data\":[{\"id\":1,\"first_name\":\"Trunc");
        return;
    }
    if (p->fault_body)
        fake_reply_set(r, p->fault_status, p->fault_body);
    else if (p->fault_status == 422)
        fake_reply_set(r, 422,
                       "{\"message\":\"The given data was invalid.\",\"errors\":{\"email\":"
                       "[\"The email field is required.\"]}}");
    else
        fake_reply_message(r, p->fault_status, status_message(p->fault_status));
    if (p->fault_retry_after)
        snprintf(r->retry_after, sizeof(r->retry_after), "%s", p->fault_retry_after);
}

static void self_base(struct fake_pending *p, char *out, size_t n)
{
    const char *host = MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, "Host");
    if (host && *host && !strpbrk(host, "\"\\ "))
        snprintf(out, n, "http://%s", host);
    else
        snprintf(out, n, "http://%s:%u", p->f->bind_addr, (unsigned)p->f->port);
}

static void answer_api_locked(struct fake_pending *p, const char *method, const char *url,
                              struct fake_reply *r)
{
    struct fake *f = p->f;
    if (p->unauth) {
        fake_reply_message(r, 401, "Unauthenticated.");
        return;
    }
    if (p->limited) {
        fake_reply_message(r, 429, "Too Many Attempts.");
        snprintf(r->retry_after, sizeof(r->retry_after), "1");
        return;
    }
    struct fake_tenant *t = fake_tenant_by_token_locked(f, bearer_token(p->conn));
    if (!t) { /* the token went away while the request waited */
        fake_reply_message(r, 401, "Unauthenticated.");
        return;
    }
    char base[300];
    self_base(p, base, sizeof(base));
    fake_api_handle_locked(f, t, method, url, p->body.data ? p->body.data : "", base, arg_of,
                           p->conn, r);
}

static void answer_locked(struct fake_pending *p, const char *method, const char *url,
                          struct fake_reply *r)
{
    bool faulted =
        p->have_fault && (p->kind == FAKE_FAULT_STATUS || p->kind == FAKE_FAULT_MALFORMED);
    if (faulted)
        answer_fault(p, r);
    else if (p->too_big)
        fake_reply_message(r, 413, "Payload too large.");
    else if (p->area == AREA_API)
        answer_api_locked(p, method, url, r);
    else if (p->area != AREA_HOOKS)
        fake_reply_message(r, 404, "Not found.");
    if (p->area == AREA_HOOKS) {
        const char *sig =
            MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, "X-Vomo-Sync-Signature");
        const char *idem = MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, "Idempotency-Key");
        bool ok = fake_hooks_verify_locked(p->f, p->log.tenant, p->body.data, sig);
        if (!faulted && !p->too_big) {
            if (ok)
                fake_reply_set(r, 200, "{\"ok\":true}");
            else
                fake_reply_message(r, 401, "Invalid signature.");
        }
        fake_hooks_record_locked(p->f, p->log.tenant, p->body.data, sig, idem, r->status, ok);
    }
}

static enum MHD_Result queue_reply(struct fake_pending *p, struct fake_reply *r)
{
    struct MHD_Response *resp;
    if (r->body)
        resp = MHD_create_response_from_buffer(strlen(r->body), r->body, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    r->body = NULL;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (r->retry_after[0])
        MHD_add_response_header(resp, "Retry-After", r->retry_after);
    if (p->area == AREA_API && p->f->o.rate_limit_rps > 0) {
        char v[24];
        snprintf(v, sizeof(v), "%d", p->f->o.rate_limit_rps);
        MHD_add_response_header(resp, "X-RateLimit-Limit", v);
        snprintf(v, sizeof(v), "%d", p->unauth ? p->f->o.rate_limit_rps : p->rl_remaining);
        MHD_add_response_header(resp, "X-RateLimit-Remaining", v);
    }
    enum MHD_Result rc = MHD_queue_response(p->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result answer(struct fake_pending *p, const char *method, const char *url)
{
    struct fake_reply r = {0};
    if (p->area == AREA_ADMIN) {
        if (!is_loopback(p->conn))
            fake_reply_message(&r, 403, "The control interface answers loopback peers only.");
        else
            fake_admin_handle(p->f, method, url, p->body.data ? p->body.data : "", arg_of, p->conn,
                              &r);
        return queue_reply(p, &r);
    }
    pthread_mutex_lock(&p->f->mu);
    answer_locked(p, method, url, &r);
    finish_log_locked(p, r.status);
    pthread_mutex_unlock(&p->f->mu);
    if (p->have_fault && p->kind == FAKE_FAULT_LOSE) {
        free(r.body);
        return MHD_NO;
    }
    return queue_reply(p, &r);
}

static void reset_socket(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* A hang or reset never answers: log it (and a webhook delivery) now. */
static void log_unanswered_locked(struct fake_pending *p)
{
    finish_log_locked(p, 0);
    if (p->area == AREA_HOOKS) {
        const char *sig =
            MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, "X-Vomo-Sync-Signature");
        const char *idem = MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, "Idempotency-Key");
        bool ok = fake_hooks_verify_locked(p->f, p->log.tenant, p->body.data, sig);
        fake_hooks_record_locked(p->f, p->log.tenant, p->body.data, sig, idem, 0, ok);
    }
}

/* The whole request is in: decide, then answer now or suspend. */
static enum MHD_Result arrive(struct fake_pending *p, const char *method, const char *url)
{
    struct fake *f = p->f;
    p->phase = PH_DECIDED;
    log_start(p, method, url);
    pthread_mutex_lock(&f->mu);
    decide_locked(p, method, url);
    if (p->have_fault && p->kind == FAKE_FAULT_STALL) {
        /* Applied and logged with the status it would have had, then
         * never answered: a timeout after the request was sent. */
        struct fake_reply r = {0};
        answer_locked(p, method, url, &r);
        finish_log_locked(p, r.status);
        free(r.body);
        bool ok = suspend_until_locked(p, NEVER);
        pthread_mutex_unlock(&f->mu);
        return ok ? MHD_YES : MHD_NO;
    }
    if (p->have_fault && (p->kind == FAKE_FAULT_HANG || p->kind == FAKE_FAULT_RESET)) {
        log_unanswered_locked(p);
        bool ok = p->kind == FAKE_FAULT_HANG && suspend_until_locked(p, NEVER);
        pthread_mutex_unlock(&f->mu);
        if (!ok)
            reset_socket(p->conn);
        return ok ? MHD_YES : MHD_NO;
    }
    int64_t delay = p->area == AREA_ADMIN ? 0 : f->o.latency_ms;
    if (p->have_fault && p->kind == FAKE_FAULT_DELAY)
        delay += p->fault_delay_ms;
    if (delay > 0) {
        bool ok = suspend_until_locked(p, clock_mono_ms() + delay);
        pthread_mutex_unlock(&f->mu);
        return ok ? MHD_YES : MHD_NO;
    }
    pthread_mutex_unlock(&f->mu);
    return answer(p, method, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct fake *f = cls;
    struct fake_pending *p = *con_cls;
    if (!p) {
        p = xcalloc(1, sizeof(*p));
        p->f = f;
        p->conn = conn;
        buf_init(&p->body, BODY_MAX);
        p->area = area_of(url);
        *con_cls = p;
        return MHD_YES;
    }
    if (*upload_size) {
        if (buf_append(&p->body, upload, *upload_size) < 0)
            p->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (p->phase == PH_RECEIVING)
        return arrive(p, method, url);
    pthread_mutex_lock(&f->mu);
    bool stop = f->stopping;
    p->suspended = false;
    pthread_mutex_unlock(&f->mu);
    if (stop || (p->have_fault && (p->kind == FAKE_FAULT_HANG || p->kind == FAKE_FAULT_STALL)))
        return MHD_NO;
    return answer(p, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct fake *f = cls;
    struct fake_pending *p = *con_cls;
    if (!p)
        return;
    pthread_mutex_lock(&f->mu);
    pending_remove_locked(f, p);
    pthread_mutex_unlock(&f->mu);
    pending_free(p);
    *con_cls = NULL;
}

static int bind_address(const struct fake *f, struct sockaddr_storage *ss, bool *v6)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, f->bind_addr, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(f->o.port);
        *v6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, f->bind_addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(f->o.port);
        *v6 = true;
        return 0;
    }
    return -EINVAL;
}

int fake_start(struct fake *f)
{
    struct sockaddr_storage ss;
    bool v6;
    if (f->mhd)
        return -EALREADY;
    if (bind_address(f, &ss, &v6) < 0)
        return -EINVAL;
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    if (v6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    f->mhd = MHD_start_daemon(
        flags, f->o.port, NULL, NULL, on_request, f, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, f,
        MHD_OPTION_CONNECTION_LIMIT, 4000u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!f->mhd)
        return errno ? -errno : -EADDRINUSE;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(f->mhd, MHD_DAEMON_INFO_BIND_PORT);
    f->port = di ? di->port : f->o.port;
    f->stopping = false;
    if (pthread_create(&f->timer, NULL, timer_main, f) != 0) {
        MHD_stop_daemon(f->mhd);
        f->mhd = NULL;
        return -EAGAIN;
    }
    return 0;
}

uint16_t fake_port(const struct fake *f)
{
    return f->port;
}

void fake_http_stop(struct fake *f)
{
    if (!f->mhd)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    for (struct fake_pending *p = f->pending, *next; p; p = next) {
        next = p->next;
        p->next = NULL;
        MHD_resume_connection(p->conn);
    }
    f->pending = NULL;
    pthread_cond_broadcast(&f->timer_cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->timer, NULL);
    MHD_stop_daemon(f->mhd);
    f->mhd = NULL;
}
