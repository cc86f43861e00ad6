/*
 * testutil.c - shared helpers of the integration suites (see testutil.h).
 */
#include "testutil.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void tu_env_init(struct tu_env *env, const struct fake_opts *opts)
{
    memset(env, 0, sizeof(*env));
    snprintf(env->dir, sizeof(env->dir), "/tmp/vomo-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(env->dir));
    snprintf(env->config_path, sizeof(env->config_path), "%s/vomo-sync.ini", env->dir);
    snprintf(env->db_path, sizeof(env->db_path), "%s/state.db", env->dir);
    struct fake_opts o;
    if (opts)
        o = *opts;
    else
        fake_opts_default(&o);
    env->fake = fake_new(&o);
    static bool curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    if (!getenv("VOMO_TEST_VERBOSE"))
        log_setup(LOG_ERROR, LOG_FMT_TEXT, stderr);
}

void tu_fake_start(struct tu_env *env)
{
    ck_assert_int_eq(fake_start(env->fake), 0);
    env->port = fake_port(env->fake);
    ck_assert_int_gt(env->port, 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_env_cleanup(struct tu_env *env)
{
    fake_free(env->fake);
    env->fake = NULL;
    if (!getenv("VOMO_TEST_KEEP"))
        tu_rm_tree(env->dir);
}

const char *tu_write(struct tu_env *env, const char *name, const char *content)
{
    static char paths[8][384];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 384, "%s/%s", env->dir, name);
    char tmp[400];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(content);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    ck_assert_int_eq(rename(tmp, path), 0); /* atomic, like an operator's editor */
    return path;
}

void tu_tenant(struct tu_env *env, const char *name, int users, int groups, int projects)
{
    char token[64], file[80];
    snprintf(token, sizeof(token), "token-%s-0123456789", name);
    snprintf(file, sizeof(file), "%s.token", name);
    ck_assert_int_eq(fake_add_tenant(env->fake, name, token, users, groups, projects), 0);
    tu_write(env, file, token);
}

char *tu_tenant_ini(const char *name, const char *more)
{
    return xasprintf("[tenant.%s]\ntoken_file = %s.token\n%s\n", name, name, more ? more : "");
}

char *tu_webhook_tenant_ini(struct tu_env *env, const char *name, const char *resources,
                            const char *secret, const char *sink_secret, const char *more)
{
    char file[80];
    snprintf(file, sizeof(file), "%s.secret", name);
    tu_write(env, file, secret);
    if (sink_secret)
        ck_assert_int_eq(fake_set_webhook_secret(env->fake, name, sink_secret), 0);
    char *body = xasprintf("resources = %s\ndestination = webhook\n"
                           "webhook_url = http://127.0.0.1:%u/_hooks/%s\n"
                           "webhook_secret_file = %s\n%s",
                           resources, env->port, name, file, more ? more : "");
    char *ini = tu_tenant_ini(name, body);
    free(body);
    return ini;
}

/* Default settings of a test config, overridable by "section.key = value". */
static const char *const defaults[][3] = {
    {"daemon", "state_db", NULL},
    {"daemon", "log_level", "error"},
    {"daemon", "log_format", "text"},
    {"daemon", "shutdown_timeout", "2s"},
    {"daemon", "litestream", "off"},
    {"daemon", "litestream_wal_max", "64MiB"},
    {"vomo", "base_url", NULL},
    {"vomo", "request_timeout", "2s"},
    {"vomo", "connect_timeout", "1s"},
    {"vomo", "max_concurrency", "4"},
    {"vomo", "max_response_size", "8MiB"},
    {"poll", "interval", "200ms"},
    {"poll", "reconcile_interval", "1h"},
    {"poll", "jitter", "0ms"},
    {"poll", "safety_margin", "0ms"},
    {"poll", "scan_passes", "3"},
    {"poll", "reconcile_max_deletes", "1000"},
    {"poll", "hint_delete_interval", "1s"},
    {"retry", "max_attempts", "5"},
    {"retry", "base_delay", "5ms"},
    {"retry", "max_delay", "50ms"},
    {"retry", "budget", "1000"},
    {"retry", "budget_cost", "5"},
    {"retry", "budget_refill", "1"},
    {"breaker", "failure_threshold", "50"},
    {"breaker", "open_timeout", "300ms"},
    {"dlq", "interval", "100ms"},
    {"dlq", "max_attempts", "5"},
    {"dlq", "base_delay", "50ms"},
    {"dlq", "max_delay", "200ms"},
    {"dlq", "batch_size", "100"},
    {"webhook", "timeout", "2s"},
    {"webhook", "max_concurrency", "4"},
    /* A free port, never the fixed default: suites run side by side. */
    {"http", "listen", "127.0.0.1:0"},
    {"http", "api_token_file", ""}, /* "": optional, left out unless overridden */
    {"http", "live_timeout", "2s"},
    {"http", "max_stale", "7d"},
    {"http", "api_time_per_second", "250ms"},
    {"alerts", "interval", "1s"},
    {"slo", "target", "99.5%"},
    {"slo", "window", "30d"},
    {"slo", "pause_on_exhausted", "off"},
    {"slo", "min_operations", "100"},
};

/* Every override must name a key of the list above: a misspelt or missing
 * one would otherwise be ignored without a word and the test would run with
 * the default. */
static void check_overrides(const char *overrides)
{
    for (const char *p = overrides; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        size_t klen = strcspn(p, " =");
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(defaults) && klen < len; i++) {
            char key[96];
            snprintf(key, sizeof(key), "%s.%s", defaults[i][0], defaults[i][1]);
            known = known || (strlen(key) == klen && strncmp(p, key, klen) == 0);
        }
        ck_assert_msg(len == 0 || known, "tu_config: unknown override '%.*s'", (int)len, p);
        p = eol ? eol + 1 : NULL;
    }
}

static const char *override_for(const char *overrides, const char *section, const char *key,
                                char *out, size_t outlen)
{
    char want[96];
    snprintf(want, sizeof(want), "%s.%s", section, key);
    const char *p = overrides;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        size_t wl = strlen(want);
        if (len > wl && strncmp(p, want, wl) == 0 && (p[wl] == ' ' || p[wl] == '=')) {
            const char *v = p + wl;
            while (*v == ' ' || *v == '=')
                v++;
            snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - p)), v);
            return out;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

void tu_config(struct tu_env *env, const char *overrides, const char *tenants_ini)
{
    check_overrides(overrides);
    struct buf b;
    buf_init(&b, 0);
    const char *section = "";
    char base_url[128];
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u/v1", env->port);
    for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
        if (strcmp(section, defaults[i][0]) != 0) {
            section = defaults[i][0];
            ck_assert_int_eq(buf_printf(&b, "[%s]\n", section), 0);
        }
        char ov[256];
        const char *v = override_for(overrides, defaults[i][0], defaults[i][1], ov, sizeof(ov));
        if (!v)
            v = defaults[i][2];
        if (!v)
            v = strcmp(defaults[i][1], "state_db") == 0 ? env->db_path : base_url;
        if (!*v)
            continue;
        ck_assert_int_eq(buf_printf(&b, "%s = %s\n", defaults[i][1], v), 0);
    }
    ck_assert_int_eq(buf_printf(&b, "%s", tenants_ini), 0);
    tu_write(env, "vomo-sync.ini", b.data);
    buf_free(&b);
}

void tu_engine_start(struct tu_env *env, struct tu_engine *te)
{
    memset(te, 0, sizeof(*te));
    struct cfg_errors errs;
    cfg_errors_init(&errs);
    struct config *cfg = NULL;
    if (cfg_load(env->config_path, 0, &cfg, &errs) < 0)
        cfg_errors_print(&errs, stderr);
    cfg_errors_free(&errs);
    ck_assert_ptr_nonnull(cfg);
    if (!getenv("VOMO_TEST_VERBOSE"))
        log_setup(LOG_ERROR, LOG_FMT_TEXT, stderr);
    else
        log_setup(LOG_DEBUG, LOG_FMT_TEXT, stderr);
    ck_assert_int_eq(store_open(env->db_path, &te->store), 0);
    ck_assert_int_eq(store_migrate(te->store, NULL, NULL), 0);
    ck_assert_int_eq(uv_loop_init(&te->loop), 0);
    ck_assert_int_eq(engine_new(&te->loop, cfg, te->store, &te->e), 0);
    te->e->progress = false;
    ck_assert_int_eq(engine_start(te->e), 0);
}

struct run_ctx {
    bool (*pred)(void *);
    void *arg;
    bool met;
};

static void on_check(uv_timer_t *t)
{
    struct run_ctx *rc = t->data;
    if (rc->pred && rc->pred(rc->arg)) {
        rc->met = true;
        uv_stop(t->loop);
    }
}

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

bool tu_run_until(struct tu_engine *te, bool (*pred)(void *arg), void *arg, int timeout_ms)
{
    struct run_ctx rc = {.pred = pred, .arg = arg};
    if (pred && pred(arg))
        return true;
    uv_timer_t check, deadline;
    uv_timer_init(&te->loop, &check);
    uv_timer_init(&te->loop, &deadline);
    check.data = &rc;
    uv_timer_start(&check, on_check, 5, 5);
    uv_timer_start(&deadline, on_deadline, (uint64_t)timeout_ms, 0);
    uv_run(&te->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&check, on_closed);
    uv_close((uv_handle_t *)&deadline, on_closed);
    uv_run(&te->loop, UV_RUN_NOWAIT);
    return rc.met || (pred && pred(arg));
}

void tu_run_for(struct tu_engine *te, int ms)
{
    tu_run_until(te, NULL, NULL, ms);
}

static void on_stopped(struct engine *e)
{
    struct tu_engine *te = e->data;
    te->stopped = true;
}

void tu_engine_stop(struct tu_engine *te)
{
    te->e->data = te;
    engine_stop(te->e, on_stopped);
    for (int i = 0; i < 1000 && !te->stopped; i++)
        uv_run(&te->loop, UV_RUN_ONCE);
    ck_assert_msg(te->stopped, "engine did not stop");
    uv_run(&te->loop, UV_RUN_DEFAULT);
    engine_free(te->e);
    ck_assert_int_eq(uv_loop_close(&te->loop), 0);
    store_close(te->store);
}

bool tu_scans_at_least(struct engine *e, int n)
{
    for (struct tenant *t = e->tenants; t; t = t->next)
        for (int r = 0; r < RES_COUNT; r++)
            if ((t->resources & RES_BIT(r)) && t->slots[r].scans_finished < n)
                return false;
    return true;
}

int64_t tu_slot_scans(struct engine *e, const char *tenant, const char *resource)
{
    struct tenant *t = engine_tenant(e, tenant);
    enum resource r;
    if (!t || resource_parse(resource, &r) < 0)
        return -1;
    return t->slots[r].scans_finished;
}

static sqlite3_stmt *prepare_v(struct tu_env *env, sqlite3 **db, const char *sql, va_list ap)
{
    ck_assert_int_eq(sqlite3_open_v2(env->db_path, db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(*db, 5000);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(*db, sql, -1, &st, NULL);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(*db));
    const char *p;
    int i = 1;
    while ((p = va_arg(ap, const char *)) != NULL)
        sqlite3_bind_text(st, i++, p, -1, SQLITE_TRANSIENT);
    return st;
}

int64_t tu_db_int(struct tu_env *env, const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    sqlite3 *db;
    sqlite3_stmt *st = prepare_v(env, &db, sql, ap);
    va_end(ap);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

char *tu_db_text(struct tu_env *env, const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    sqlite3 *db;
    sqlite3_stmt *st = prepare_v(env, &db, sql, ap);
    va_end(ap);
    char *v = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

int tu_mirror_diff(struct tu_env *env, const char *tenant, const char *resource)
{
    struct fake_record *recs = NULL;
    size_t n = 0;
    ck_assert_int_eq(fake_records(env->fake, tenant, resource, &recs, &n), 0);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(env->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM records WHERE tenant = ?1 AND "
                                        "resource = ?2 AND id = ?3 AND updated_at = ?4 AND "
                                        "deleted_at IS NULL",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int diff = 0;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, resource, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, recs[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, recs[i].updated_at, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != 1)
            diff++;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    int64_t live = tu_db_int(env,
                             "SELECT count(*) FROM records WHERE tenant = ?1 AND resource = ?2 "
                             "AND deleted_at IS NULL",
                             tenant, resource, NULL);
    if (live > (int64_t)n)
        diff += (int)(live - (int64_t)n);
    fake_records_free(recs, n);
    return diff;
}

pid_t tu_daemon_spawn(struct tu_env *env, const char *const *extra_args, const char *const *env_add)
{
    char logpath[400];
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", env->dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        for (size_t i = 0; env_add && env_add[i]; i++)
            putenv((char *)env_add[i]);
        /* Socket activation: the test's listening socket becomes fd 3,
         * as systemd would pass it, with LISTEN_PID naming this process. */
        const char *lfd = getenv("VOMO_TEST_LISTEN_FD");
        if (lfd) {
            dup2((int)strtol(lfd, NULL, 10), 3);
            char pidv[32];
            snprintf(pidv, sizeof(pidv), "%ld", (long)getpid());
            setenv("LISTEN_PID", pidv, 1);
            setenv("LISTEN_FDS", "1", 1);
        }
        const char *argv[16] = {VOMO_SYNC_BIN, "--config", env->config_path, "run"};
        size_t k = 4;
        for (size_t i = 0; extra_args && extra_args[i] && k < 15; i++)
            argv[k++] = extra_args[i];
        argv[k] = NULL;
        execv(VOMO_SYNC_BIN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int tu_daemon_wait(pid_t pid, int timeout_ms)
{
    int status;
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

char *tu_daemon_log(struct tu_env *env)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/daemon.log", env->dir);
    char *data = NULL;
    if (read_whole_file(path, 64 * 1024 * 1024, &data, NULL) < 0)
        return xstrdup("");
    return data;
}

uint16_t tu_daemon_http_port(struct tu_env *env, int timeout_ms)
{
    static const char marker[] = "http endpoint listening on ";
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        char *log = tu_daemon_log(env);
        const char *p = strstr(log, marker);
        if (p) {
            p += strlen(marker);
            const char *colon = p[0] == '[' ? strstr(p, "]:") + 1 : strchr(p, ':');
            long port = colon ? strtol(colon + 1, NULL, 10) : 0;
            free(log);
            return (uint16_t)port;
        }
        free(log);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static size_t collect_body(char *p, size_t size, size_t n, void *arg)
{
    if (buf_append(arg, p, size * n) < 0)
        return 0;
    return size * n;
}

long tu_http(const char *method, uint16_t port, const char *path, char **body, char **headers)
{
    struct buf b, h;
    buf_init(&b, 64 * 1024 * 1024);
    buf_init(&h, 1024 * 1024);
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (!b.data)
        (void)!buf_puts(&b, "");
    if (!h.data)
        (void)!buf_puts(&h, "");
    *body = buf_steal(&b);
    if (headers)
        *headers = buf_steal(&h);
    else
        buf_free(&h);
    return status;
}

bool tu_wait(bool (*pred)(void *arg), void *arg, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (pred(arg))
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return pred(arg);
}

void tu_fake_set_token(struct tu_env *env, const char *tenant, const char *token)
{
    ck_assert_int_eq(fake_set_token(env->fake, tenant, token), 0);
}

void tu_log_capture_start(struct tu_logcap *c)
{
    c->data = NULL;
    c->len = 0;
    c->f = open_memstream(&c->data, &c->len);
    ck_assert_ptr_nonnull(c->f);
    log_setup(LOG_DEBUG, LOG_FMT_JSON, c->f);
}

const char *tu_log_capture_text(struct tu_logcap *c)
{
    fflush(c->f);
    return c->data ? c->data : "";
}

void tu_log_capture_end(struct tu_logcap *c)
{
    if (getenv("VOMO_TEST_VERBOSE"))
        log_setup(LOG_DEBUG, LOG_FMT_TEXT, stderr);
    else
        log_setup(LOG_ERROR, LOG_FMT_TEXT, stderr);
    fclose(c->f);
    free(c->data);
    c->f = NULL;
    c->data = NULL;
    c->len = 0;
}
