/*
 * check_daemon.c - the real vomo-sync binary run as a child process under a
 * simulated systemd, against the fake VOMO served from this process.  Each
 * test binds its own AF_UNIX datagram socket, hands it to the daemon as
 * NOTIFY_SOCKET (with WATCHDOG_USEC), and asserts on what arrives and when:
 * READY=1 only after the state database is migrated, WATCHDOG=1 at half the
 * interval, STATUS= lines, RELOADING=1 / READY=1 around SIGHUP and
 * STOPPING=1 on SIGTERM or SIGINT.  Reloads are checked by their effects
 * (a tenant added starts syncing; a broken file is refused and logged while
 * the old configuration keeps syncing), exits by their status codes, and
 * the log format choice by where the lines land.
 */
#include <check.h>
#include <pty.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "store.h"
#include "testutil.h"
#include "util.h"

#define MAX_MSGS 512
#define WATCHDOG_USEC "200000" /* pings expected every 100 ms */

/* The test's end of the notification socket, and every datagram read. */
struct notify {
    char path[384];
    char env_socket[420];
    int fd;
    int count;
    char *text[MAX_MSGS];
    uint64_t at_ms[MAX_MSGS];
};

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void notify_open(struct notify *n, struct tu_env *env)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->path, sizeof(n->path), "%s/notify", env->dir);
    snprintf(n->env_socket, sizeof(n->env_socket), "NOTIFY_SOCKET=%s", n->path);
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(n->fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(n->path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, n->path, strlen(n->path) + 1);
    ck_assert_int_eq(bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void notify_close(struct notify *n)
{
    for (int i = 0; i < n->count; i++)
        free(n->text[i]);
    close(n->fd);
    unlink(n->path);
}

/* Reads every datagram waiting now. */
static void notify_drain(struct notify *n)
{
    char buf[4096];
    for (;;) {
        ssize_t r = recv(n->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (r < 0) {
            ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
            return;
        }
        ck_assert_int_lt(n->count, MAX_MSGS);
        buf[r] = '\0';
        n->text[n->count] = xstrdup(buf);
        n->at_ms[n->count] = now_ms();
        n->count++;
    }
}

/* Whether message i has `line` as one of its lines (messages may carry
 * several assignments, e.g. RELOADING=1 and MONOTONIC_USEC=). */
static bool msg_has(const struct notify *n, int i, const char *line)
{
    size_t len = strlen(line);
    for (const char *p = n->text[i]; p && *p;) {
        if (strncmp(p, line, len) == 0 &&
            (p[len] == '\n' || p[len] == '\0' || line[len - 1] == '='))
            return true;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return false;
}

static int notify_find(const struct notify *n, const char *line, int from)
{
    for (int i = from < 0 ? 0 : from; i < n->count; i++)
        if (msg_has(n, i, line))
            return i;
    return -1;
}

/* Waits (poll with a deadline, no blind sleep) for a message with `line`
 * at index >= from; its index, or -1 on timeout. */
static int notify_wait(struct notify *n, const char *line, int from, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        notify_drain(n);
        int i = notify_find(n, line, from);
        if (i >= 0)
            return i;
        uint64_t now = now_ms();
        if (now >= deadline)
            return -1;
        struct pollfd p = {.fd = n->fd, .events = POLLIN};
        (void)poll(&p, 1, (int)(deadline - now));
    }
}

/* Collects whatever arrives during ms. */
static void notify_collect(struct notify *n, int ms)
{
    (void)notify_wait(n, "NO-SUCH-MESSAGE=1", n->count, ms);
}

static int notify_count(const struct notify *n, const char *line, int from, int to)
{
    int c = 0;
    for (int i = from; i < to && i < n->count; i++)
        c += msg_has(n, i, line);
    return c;
}

/* Spawns the daemon with this notification socket and the watchdog on. */
static pid_t spawn(struct tu_env *env, struct notify *n, const char *const *args,
                   const char *extra_env)
{
    const char *envs[] = {n->env_socket, "WATCHDOG_USEC=" WATCHDOG_USEC, extra_env, NULL};
    return tu_daemon_spawn(env, args, envs);
}

/* ---- small helpers on the environment ---- */

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool log_has(struct tu_env *env, const char *needle)
{
    char *log = tu_daemon_log(env);
    bool found = strstr(log, needle) != NULL;
    free(log);
    return found;
}

static int log_occurrences(struct tu_env *env, const char *needle)
{
    char *log = tu_daemon_log(env);
    int c = 0;
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        c++;
    free(log);
    return c;
}

/* The 1-based line of the config file that contains `text`, or -1. */
static int config_line_of(struct tu_env *env, const char *text)
{
    char *data = NULL;
    ck_assert_int_eq(read_whole_file(env->config_path, 1 << 20, &data, NULL), 0);
    const char *hit = strstr(data, text);
    int line = -1;
    if (hit) {
        line = 1;
        for (const char *p = data; p < hit; p++)
            line += *p == '\n';
    }
    free(data);
    return line;
}

struct mirror_arg {
    struct tu_env *env;
    const char *tenant;
    const char *resources[3];
};

/* Every listed resource of the tenant equals the fake's dataset. */
static bool mirror_equal(void *arg)
{
    struct mirror_arg *m = arg;
    if (!file_exists(m->env->db_path))
        return false;
    for (int i = 0; i < 3 && m->resources[i]; i++)
        if (tu_mirror_diff(m->env, m->tenant, m->resources[i]) != 0)
            return false;
    return true;
}

struct state_arg {
    struct tu_env *env;
    const char *tenant;
    const char *status;
};

static bool tenant_status_is(void *arg)
{
    struct state_arg *s = arg;
    char *st =
        tu_db_text(s->env, "SELECT status FROM tenant_state WHERE tenant = ?1", s->tenant, NULL);
    bool eq = st && strcmp(st, s->status) == 0;
    free(st);
    return eq;
}

/* Stops the daemon with `sig`; asserts STOPPING=1 and exit 0 within 5 s. */
static void stop_with(struct notify *n, pid_t pid, int sig)
{
    int from = n->count;
    ck_assert_int_eq(kill(pid, sig), 0);
    ck_assert_msg(notify_wait(n, "STOPPING=1", from, 5000) >= 0, "no STOPPING=1 after signal %d",
                  sig);
    ck_assert_int_eq(tu_daemon_wait(pid, 5000), 0);
}

static void setup(void)
{
    /* sd_watchdog_enabled() compares WATCHDOG_PID with the daemon's pid: a
     * value inherited from a supervisor running this suite would turn the
     * watchdog off in the child. */
    unsetenv("WATCHDOG_PID");
    unsetenv("JOURNAL_STREAM");
}

/* ---- readiness, watchdog, status, stop ---- */

START_TEST(ready_after_migration_then_watchdog_status_and_stop)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 5, 5);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    tu_config(&env, "daemon.log_level = info", ini);
    struct notify n;
    notify_open(&n, &env);
    ck_assert(!file_exists(env.db_path));
    pid_t pid = spawn(&env, &n, NULL, NULL);

    int ready = notify_wait(&n, "READY=1", 0, 10000);
    ck_assert_msg(ready >= 0, "no READY=1");
    /* Checked right now: readiness means the schema is in place. */
    ck_assert(file_exists(env.db_path));
    ck_assert_int_ge(tu_db_int(&env, "PRAGMA user_version", NULL), 1);
    ck_assert_int_eq(tu_db_int(&env, "PRAGMA application_id", NULL), STORE_APPLICATION_ID);
    ck_assert_int_eq(
        tu_db_int(&env, "SELECT count(*) FROM sqlite_master WHERE name = 'records'", NULL), 1);
    ck_assert_int_eq(notify_count(&n, "READY=1", 0, n.count), 1);

    /* The summary follows readiness at once. */
    int status = notify_wait(&n, "STATUS=", ready, 3000);
    ck_assert_msg(status >= 0, "no STATUS= after READY=1");
    ck_assert_msg(strstr(n.text[status], "1 tenant(s)") && strstr(n.text[status], "DLQ"),
                  "status line: %s", n.text[status]);

    /* Watchdog pings at half of WATCHDOG_USEC (100 ms), with slack for a
     * busy, sanitized build. */
    int first = n.count;
    notify_collect(&n, 1200);
    int pings = 0;
    uint64_t t0 = 0, t1 = 0;
    for (int i = first; i < n.count; i++)
        if (msg_has(&n, i, "WATCHDOG=1")) {
            if (pings++ == 0)
                t0 = n.at_ms[i];
            t1 = n.at_ms[i];
        }
    ck_assert_msg(pings >= 5 && pings <= 16, "%d watchdog pings in 1.2 s", pings);
    uint64_t mean = (t1 - t0) / (uint64_t)(pings - 1);
    ck_assert_msg(mean >= 60 && mean <= 200, "mean watchdog period %llu ms",
                  (unsigned long long)mean);

    /* The first sync completed meanwhile (200 ms polls). */
    struct mirror_arg m = {&env, "acme", {"users", "groups", "projects"}};
    ck_assert(tu_wait(mirror_equal, &m, 10000));

    int before_stop = n.count;
    stop_with(&n, pid, SIGTERM);
    notify_drain(&n);
    int stopping = notify_find(&n, "STOPPING=1", before_stop);
    ck_assert_int_ge(stopping, 0);
    ck_assert_msg(notify_count(&n, "WATCHDOG=1", stopping + 1, n.count) == 0,
                  "watchdog pings after STOPPING=1");
    ck_assert(log_has(&env, "SIGTERM: stopping"));
    ck_assert(log_has(&env, "stopped"));

    notify_close(&n);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(sigint_stops_gracefully)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 20, 3, 3);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    tu_config(&env, "daemon.log_level = info", ini);
    struct notify n;
    notify_open(&n, &env);
    pid_t pid = spawn(&env, &n, NULL, NULL);
    ck_assert(notify_wait(&n, "READY=1", 0, 10000) >= 0);
    struct mirror_arg m = {&env, "acme", {"users", "groups", "projects"}};
    ck_assert(tu_wait(mirror_equal, &m, 10000));
    stop_with(&n, pid, SIGINT);
    ck_assert(log_has(&env, "SIGINT: stopping"));
    notify_close(&n);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Whether the process runs the daemon binary (it has called exec) and has
 * the file `path` open (/proc/PID/fd): before exec, the forked child still
 * holds this process's descriptors. */
static bool has_open(pid_t pid, const char *path)
{
    char exe_link[64], exe[512];
    snprintf(exe_link, sizeof(exe_link), "/proc/%ld/exe", (long)pid);
    ssize_t elen = readlink(exe_link, exe, sizeof(exe) - 1);
    if (elen <= 0)
        return false;
    exe[elen] = '\0';
    char *bin = realpath(VOMO_SYNC_BIN, NULL);
    bool same = bin && strcmp(exe, bin) == 0;
    free(bin);
    if (!same)
        return false;
    for (int fd = 0; fd < 64; fd++) {
        char link[64], target[512];
        snprintf(link, sizeof(link), "/proc/%ld/fd/%d", (long)pid, fd);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strcmp(target, path) == 0)
            return true;
    }
    return false;
}

/* Whether SIGTERM is pending (held) for the process. */
static bool sigterm_pending(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    char *data = NULL;
    if (read_whole_file(path, 1 << 16, &data, NULL) < 0)
        return false;
    bool pending = false;
    const char *keys[] = {"\nSigPnd:", "\nShdPnd:"};
    for (int i = 0; i < 2; i++) {
        const char *p = strstr(data, keys[i]);
        unsigned long long mask = 0;
        if (p && sscanf(p + strlen(keys[i]), "%llx", &mask) == 1)
            pending |= (mask & (1ull << (SIGTERM - 1))) != 0;
    }
    free(data);
    return pending;
}

struct pid_path {
    pid_t pid;
    const char *path;
};

static bool pred_has_open(void *arg)
{
    struct pid_path *pp = arg;
    return has_open(pp->pid, pp->path);
}

static bool pred_sigterm_pending(void *arg)
{
    return sigterm_pending(*(pid_t *)arg);
}

/* SIGTERM while the state database is still being migrated (here: waiting
 * for a lock the test holds) is honoured once the loop runs: exit 0. */
START_TEST(sigterm_during_migration_stops_gracefully)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 1, 1);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, "daemon.log_level = info", a);
    struct store *s = NULL; /* an empty database of ours, in WAL mode */
    ck_assert_int_eq(store_open(env.db_path, &s), 0);
    store_close(s);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(env.db_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

    struct notify n;
    notify_open(&n, &env);
    pid_t pid = spawn(&env, &n, NULL, NULL);
    struct pid_path pp = {pid, env.db_path};
    ck_assert_msg(tu_wait(pred_has_open, &pp, 4000), "the daemon never opened its database");
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_msg(tu_wait(pred_sigterm_pending, &pid, 2000), "SIGTERM not held during migration");
    ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    ck_assert_int_eq(tu_daemon_wait(pid, 8000), 0);
    notify_drain(&n);
    ck_assert_int_ge(notify_find(&n, "STOPPING=1", 0), 0);
    ck_assert(log_has(&env, "SIGTERM: stopping"));
    ck_assert_int_ge(tu_db_int(&env, "PRAGMA user_version", NULL), 1);
    notify_close(&n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- SIGHUP ---- */

START_TEST(sighup_applies_a_tenant_added_to_the_config)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 4, 4);
    tu_tenant(&env, "beta", 25, 3, 6); /* known to VOMO, not yet configured */
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL), *b = tu_tenant_ini("beta", NULL);
    tu_config(&env, "daemon.log_level = info", a);
    struct notify n;
    notify_open(&n, &env);
    pid_t pid = spawn(&env, &n, NULL, NULL);
    ck_assert(notify_wait(&n, "READY=1", 0, 10000) >= 0);
    struct mirror_arg ma = {&env, "acme", {"users", "groups", "projects"}};
    ck_assert(tu_wait(mirror_equal, &ma, 10000));
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records WHERE tenant = 'beta'", NULL),
                     0);

    char *both = xasprintf("%s%s", a, b);
    tu_config(&env, "daemon.log_level = info", both);
    int from = n.count;
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    int reloading = notify_wait(&n, "RELOADING=1", from, 5000);
    ck_assert_msg(reloading >= 0, "no RELOADING=1 after SIGHUP");
    ck_assert(notify_find(&n, "MONOTONIC_USEC=", reloading) == reloading);
    int ready = notify_wait(&n, "READY=1", reloading + 1, 5000);
    ck_assert_msg(ready > reloading, "no READY=1 after RELOADING=1");
    int status = notify_wait(&n, "STATUS=", ready, 3000);
    ck_assert_int_ge(status, 0);
    ck_assert_msg(strstr(n.text[status], "2 tenant(s)"), "status line: %s", n.text[status]);

    struct mirror_arg mb = {&env, "beta", {"users", "groups", "projects"}};
    ck_assert_msg(tu_wait(mirror_equal, &mb, 10000), "the added tenant did not sync");
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records WHERE tenant = 'beta'", NULL),
                     25 + 3 + 6);
    ck_assert(log_has(&env, "tenant added"));
    ck_assert(log_has(&env, "configuration reloaded: 2 tenant(s)"));
    /* acme kept its checkpoints and goes on as before. */
    ck_assert(mirror_equal(&ma));

    stop_with(&n, pid, SIGTERM);
    notify_close(&n);
    free(both);
    free(a);
    free(b);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(sighup_with_a_broken_config_keeps_the_old_one)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 60, 5, 5);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "daemon.log_level = info", a);
    struct notify n;
    notify_open(&n, &env);
    pid_t pid = spawn(&env, &n, NULL, NULL);
    ck_assert(notify_wait(&n, "READY=1", 0, 10000) >= 0);
    struct mirror_arg m = {&env, "acme", {"users", NULL, NULL}};
    ck_assert(tu_wait(mirror_equal, &m, 10000));

    tu_config(&env, "daemon.log_level = info\npoll.interval = 5 fortnights", a);
    int line = config_line_of(&env, "interval = 5 fortnights");
    ck_assert_int_gt(line, 0);
    char *where =
        xasprintf("reload refused: %s:%d: poll.interval: '5 fortnights'", env.config_path, line);
    int from = n.count;
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    int reloading = notify_wait(&n, "RELOADING=1", from, 5000);
    ck_assert_int_ge(reloading, 0);
    ck_assert_int_gt(notify_wait(&n, "READY=1", reloading + 1, 5000), reloading);
    ck_assert_msg(log_has(&env, where), "no '%s' in the log", where);
    ck_assert(log_has(&env, "still running on the previous configuration"));

    /* The old configuration (200 ms polls) keeps syncing changes. */
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 6), 6);
    ck_assert_msg(tu_wait(mirror_equal, &m, 10000), "changes after a refused reload not applied");
    ck_assert_int_eq(log_occurrences(&env, where), 1); /* each error logged once */

    stop_with(&n, pid, SIGTERM);
    notify_close(&n);
    free(where);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

static int requests_of(struct tu_env *env, const char *tenant)
{
    struct fake_request *reqs;
    size_t nreq;
    ck_assert_int_eq(fake_requests(env->fake, &reqs, &nreq), 0);
    int c = 0;
    for (size_t i = 0; i < nreq; i++)
        c += strcmp(reqs[i].tenant, tenant) == 0;
    fake_requests_free(reqs, nreq);
    return c;
}

/* A tenant changed by a reload syncs its new resources; a tenant removed
 * stops asking VOMO; the daemon then stops cleanly (no handle or memory
 * left behind: the sanitized binary would not exit 0). */
START_TEST(sighup_changes_and_removes_tenants)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 7, 4);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    char *a1 = tu_tenant_ini("acme", "resources = users"), *b = tu_tenant_ini("beta", NULL);
    char *both = xasprintf("%s%s", a1, b);
    tu_config(&env, "daemon.log_level = info", both);
    struct notify n;
    notify_open(&n, &env);
    pid_t pid = spawn(&env, &n, NULL, NULL);
    ck_assert(notify_wait(&n, "READY=1", 0, 10000) >= 0);
    struct mirror_arg ma = {&env, "acme", {"users", NULL, NULL}};
    struct mirror_arg mb = {&env, "beta", {"users", "groups", "projects"}};
    ck_assert(tu_wait(mirror_equal, &ma, 10000));
    ck_assert(tu_wait(mirror_equal, &mb, 10000));
    ck_assert_int_eq(
        tu_db_int(&env,
                  "SELECT count(*) FROM records WHERE tenant = 'acme' AND resource = 'groups'",
                  NULL),
        0);

    char *a2 = tu_tenant_ini("acme", "resources = users, groups");
    tu_config(&env, "daemon.log_level = info", a2);
    int from = n.count;
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    ck_assert_int_ge(notify_wait(&n, "READY=1", from, 5000), 0);
    struct mirror_arg ma2 = {&env, "acme", {"users", "groups", NULL}};
    ck_assert_msg(tu_wait(mirror_equal, &ma2, 10000), "the changed tenant's new resource");
    ck_assert(log_has(&env, "changed in the configuration"));
    ck_assert(log_has(&env, "removed from the configuration"));

    /* beta's in-flight work has ended by now; three poll intervals later
     * it has still not asked for anything. */
    fake_requests_clear(env.fake);
    ck_assert_int_eq(fake_mutate(env.fake, "beta", "users", 3), 3);
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 3), 3);
    ck_assert(tu_wait(mirror_equal, &ma2, 10000));
    notify_collect(&n, 600);
    ck_assert_int_eq(requests_of(&env, "beta"), 0);
    ck_assert_int_gt(requests_of(&env, "acme"), 0);

    stop_with(&n, pid, SIGTERM);
    notify_close(&n);
    free(a1);
    free(a2);
    free(b);
    free(both);
    tu_env_cleanup(&env);
}
END_TEST

/* A tenant stopped by a 401 resumes on SIGHUP once VOMO accepts its token. */
START_TEST(sighup_resumes_a_tenant_stopped_by_401)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "daemon.log_level = info", a);
    struct notify n;
    notify_open(&n, &env);
    pid_t pid = spawn(&env, &n, NULL, NULL);
    ck_assert(notify_wait(&n, "READY=1", 0, 10000) >= 0);
    struct mirror_arg m = {&env, "acme", {"users", NULL, NULL}};
    ck_assert(tu_wait(mirror_equal, &m, 10000));

    ck_assert_int_eq(fake_revoke(env.fake, "acme", true), 0);
    struct state_arg failed = {&env, "acme", "auth_failed"};
    ck_assert_msg(tu_wait(tenant_status_is, &failed, 10000), "tenant not stopped by 401");
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 4), 4);

    ck_assert_int_eq(fake_revoke(env.fake, "acme", false), 0);
    int from = n.count;
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    ck_assert_int_ge(notify_wait(&n, "READY=1", from, 5000), 0);
    struct state_arg ok = {&env, "acme", "ok"};
    ck_assert_msg(tu_wait(tenant_status_is, &ok, 10000), "tenant did not resume");
    ck_assert_msg(tu_wait(mirror_equal, &m, 10000), "changes not applied after resuming");

    stop_with(&n, pid, SIGTERM);
    notify_close(&n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- exits that refuse to start ---- */

START_TEST(config_error_exits_2_with_the_error_on_stderr)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 1, 1);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, "retry.base_delay = soon", a);
    int line = config_line_of(&env, "base_delay = soon");
    ck_assert_int_gt(line, 0);
    struct notify n;
    notify_open(&n, &env);
    pid_t pid = spawn(&env, &n, NULL, NULL);
    ck_assert_int_eq(tu_daemon_wait(pid, 5000), 2);
    char *where = xasprintf("%s:%d: retry.base_delay: 'soon'", env.config_path, line);
    ck_assert_msg(log_has(&env, where), "no '%s' on stderr", where);
    notify_drain(&n);
    ck_assert_int_eq(notify_find(&n, "READY=1", 0), -1);
    ck_assert(!file_exists(env.db_path)); /* nothing was touched */
    notify_close(&n);
    free(where);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(newer_state_database_exits_1)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 5, 1, 1);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, NULL, a);
    /* Our database (application_id set by migrating), from a future schema. */
    struct store *s = NULL;
    ck_assert_int_eq(store_open(env.db_path, &s), 0);
    ck_assert_int_eq(store_migrate(s, NULL, NULL), 0);
    ck_assert_int_eq(sqlite3_exec(store_db(s), "PRAGMA user_version = 999", NULL, NULL, NULL),
                     SQLITE_OK);
    store_close(s);

    struct notify n;
    notify_open(&n, &env);
    pid_t pid = spawn(&env, &n, NULL, NULL);
    ck_assert_int_eq(tu_daemon_wait(pid, 5000), 1);
    ck_assert_msg(log_has(&env, "schema version 999, newer than this vomo-sync"),
                  "no clear message about the newer database");
    ck_assert(log_has(&env, "upgrade vomo-sync"));
    ck_assert(log_has(&env, env.db_path));
    notify_drain(&n);
    ck_assert_int_eq(notify_find(&n, "READY=1", 0), -1);
    ck_assert_int_eq(tu_db_int(&env, "PRAGMA user_version", NULL), 999); /* left untouched */
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records", NULL), 0);
    notify_close(&n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* --exit-after-sync reports a sync that did not happen: a tenant whose
 * token VOMO rejects makes the run exit 1, after the others synced. */
START_TEST(exit_after_sync_fails_when_a_tenant_is_stopped)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 20, 2, 2);
    tu_tenant(&env, "beta", 20, 2, 2);
    tu_fake_start(&env);
    ck_assert_int_eq(fake_revoke(env.fake, "beta", true), 0);
    char *a = tu_tenant_ini("acme", NULL), *b = tu_tenant_ini("beta", NULL);
    char *both = xasprintf("%s%s", a, b);
    tu_config(&env, NULL, both);
    struct notify n;
    notify_open(&n, &env);
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = spawn(&env, &n, args, NULL);
    ck_assert_int_eq(tu_daemon_wait(pid, 15000), 1);
    struct mirror_arg m = {&env, "acme", {"users", "groups", "projects"}};
    ck_assert(mirror_equal(&m));
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records WHERE tenant = 'beta'", NULL),
                     0);
    ck_assert(log_has(&env, "tenant beta is stopped (VOMO rejected its token): not synced"));
    ck_assert(!log_has(&env, "tenant acme is stopped"));
    notify_close(&n);
    free(both);
    free(a);
    free(b);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- log formats ---- */

static bool journal_reachable(void)
{
    struct stat st;
    return stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
}

/* log_format = journal with no journal to talk to: the daemon neither
 * crashes nor goes silent. */
START_TEST(journal_format_without_a_journal_still_runs)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 25, 3, 3);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, "daemon.log_format = journal\ndaemon.log_level = info", a);
    struct notify n;
    notify_open(&n, &env);
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = spawn(&env, &n, args, NULL);
    ck_assert_int_eq(tu_daemon_wait(pid, 15000), 0);
    struct mirror_arg m = {&env, "acme", {"users", "groups", "projects"}};
    ck_assert(mirror_equal(&m));
    notify_drain(&n);
    ck_assert_int_ge(notify_find(&n, "READY=1", 0), 0);
    ck_assert_int_ge(notify_find(&n, "STOPPING=1", 0), 0);
    if (!journal_reachable()) {
        ck_assert(log_has(&env, "no journal"));
        ck_assert(log_has(&env, "every resource finished a scan: stopping"));
    }
    notify_close(&n);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* JOURNAL_STREAM names systemd's stream for stderr; when stderr is
 * something else (here the log file), the configured format stays. */
START_TEST(journal_stream_of_another_file_keeps_text)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 2, 2);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, "daemon.log_level = info", a);
    struct stat st;
    ck_assert_int_eq(stat(env.config_path, &st), 0); /* same device, other inode */
    char *js = xasprintf("JOURNAL_STREAM=%llu:%llu", (unsigned long long)st.st_dev,
                         (unsigned long long)st.st_ino);
    struct notify n;
    notify_open(&n, &env);
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = spawn(&env, &n, args, js);
    ck_assert_int_eq(tu_daemon_wait(pid, 15000), 0);
    ck_assert(log_has(&env, "sync engine started: 1 tenant(s)"));
    ck_assert(log_has(&env, "every resource finished a scan: stopping"));
    ck_assert(!log_has(&env, "no journal"));
    struct mirror_arg m = {&env, "acme", {"users", "groups", "projects"}};
    ck_assert(mirror_equal(&m));
    notify_close(&n);
    free(js);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* The matching case: JOURNAL_STREAM equal to stderr's device:inode picks
 * the journal (falling back to the configured format, loudly, when there
 * is no journal socket). */
START_TEST(journal_stream_of_stderr_picks_the_journal)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 10, 2, 2);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, "daemon.log_level = info", a);
    tu_write(&env, "daemon.log", ""); /* the child's stderr, appended to */
    char logpath[400];
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", env.dir);
    struct stat st;
    ck_assert_int_eq(stat(logpath, &st), 0);
    char *js = xasprintf("JOURNAL_STREAM=%llu:%llu", (unsigned long long)st.st_dev,
                         (unsigned long long)st.st_ino);
    struct notify n;
    notify_open(&n, &env);
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = spawn(&env, &n, args, js);
    ck_assert_int_eq(tu_daemon_wait(pid, 15000), 0);
    if (journal_reachable())
        ck_assert(!log_has(&env, "sync engine started"));
    else
        ck_assert_msg(log_has(&env, "no journal"), "stderr was not recognised as the journal");
    notify_close(&n);
    free(js);
    free(a);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- one daemon per state database ---- */

START_TEST(second_daemon_on_the_same_database_refuses)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 20, 3, 3);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", NULL);
    tu_config(&env, "daemon.log_level = info", ini);
    struct notify n;
    notify_open(&n, &env);
    pid_t first = spawn(&env, &n, NULL, NULL);
    ck_assert(notify_wait(&n, "READY=1", 0, 10000) >= 0);
    pid_t second = tu_daemon_spawn(&env, NULL, NULL);
    ck_assert_int_eq(tu_daemon_wait(second, 10000), 1);
    char msg[96];
    snprintf(msg, sizeof(msg), "another vomo-sync (pid %ld) is running", (long)first);
    ck_assert_msg(log_has(&env, msg), "no '%s' in the log", msg);
    ck_assert_int_eq(kill(first, 0), 0); /* the first one is untouched */
    stop_with(&n, first, SIGTERM);
    /* Its lock went with it: the next daemon starts. */
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t third = tu_daemon_spawn(&env, args, NULL);
    ck_assert_int_eq(tu_daemon_wait(third, 10000), 0);
    notify_close(&n);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- live progress on a terminal ---- */

/*
 * With its standard output on a terminal, a long scan shows progress lines
 * (pages done of the last page, records per second).
 */
START_TEST(progress_lines_on_a_terminal)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 20;
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 3000, 0, 0);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "daemon.log_level = warn\nvomo.request_timeout = 10s\n", ini);
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl(VOMO_SYNC_BIN, VOMO_SYNC_BIN, "--config", env.config_path, "run", "--exit-after-sync",
              (char *)NULL);
        _exit(127);
    }
    struct buf out;
    buf_init(&out, 1 << 20);
    char chunk[4096];
    ssize_t n;
    while ((n = read(master, chunk, sizeof(chunk))) > 0)
        ck_assert_int_eq(buf_append(&out, chunk, (size_t)n), 0);
    close(master);
    ck_assert_int_eq(tu_daemon_wait(pid, 20000), 0);
    ck_assert_msg(out.data && strstr(out.data, "acme/users: page "), "no progress in: %s",
                  out.data ? out.data : "");
    ck_assert_ptr_nonnull(strstr(out.data, " of 200, "));
    ck_assert_ptr_nonnull(strstr(out.data, " records/s"));
    buf_free(&out);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("process");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ready_after_migration_then_watchdog_status_and_stop);
    tcase_add_test(tc, sigint_stops_gracefully);
    tcase_add_test(tc, sigterm_during_migration_stops_gracefully);
    tcase_add_test(tc, sighup_applies_a_tenant_added_to_the_config);
    tcase_add_test(tc, sighup_with_a_broken_config_keeps_the_old_one);
    tcase_add_test(tc, sighup_changes_and_removes_tenants);
    tcase_add_test(tc, sighup_resumes_a_tenant_stopped_by_401);
    tcase_add_test(tc, config_error_exits_2_with_the_error_on_stderr);
    tcase_add_test(tc, newer_state_database_exits_1);
    tcase_add_test(tc, exit_after_sync_fails_when_a_tenant_is_stopped);
    tcase_add_test(tc, journal_format_without_a_journal_still_runs);
    tcase_add_test(tc, journal_stream_of_another_file_keeps_text);
    tcase_add_test(tc, journal_stream_of_stderr_picks_the_journal);
    tcase_add_test(tc, second_daemon_on_the_same_database_refuses);
    tcase_add_test(tc, progress_lines_on_a_terminal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(daemon_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
