/*
 * daemon.c - `vomo-sync run`: the process around the sync engine.  Loads
 * and checks the configuration, picks the log sink (journald natively when
 * started by systemd), migrates the state database, runs the engine on a
 * libuv loop, and speaks to systemd (READY, STATUS, WATCHDOG, RELOADING,
 * STOPPING).  Signals are libuv signal handles, so handlers run on the loop
 * and never in signal context: SIGTERM/SIGINT stop gracefully (exit 0),
 * SIGHUP reloads the INI and every token and secret file.  The local HTTP
 * endpoint (web.h) is bound before the database is touched, so a busy
 * port fails the start at once, naming the address.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "alerts.h"
#include "alertsink.h"
#include "cli.h"
#include "config.h"
#include "engine.h"
#include "hintproc.h"
#include "log.h"
#include "pidlock.h"
#include "sdnotify.h"
#include "store.h"
#include "web.h"

#define STATUS_EVERY_MS 5000

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t status_timer;
    struct sdnotify notify;
    struct engine *engine;
    struct web web;
    struct alertsink sink; /* [alerts] webhook_url, alertmanager_url */
    bool sink_open;
    struct hintproc *hints; /* VOMO webhooks recorded by the endpoint, worked off */
    int http_fd;            /* bound before the loop exists; web takes it over */
    bool http_activated;
    const char *config_path;
    bool exit_after_sync;
    bool stopping;
    int exit_code;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vomo-sync [--config FILE] run [--exit-after-sync]\n\n"
                 "Runs the daemon in the foreground (systemd Type=notify).  The state database\n"
                 "is created or migrated first.  SIGTERM/SIGINT stop gracefully (exit 0);\n"
                 "SIGHUP re-reads the configuration and every token and secret file.\n\n"
                 "  --exit-after-sync  stop once every tenant and resource has finished one scan\n"
                 "                     (first syncs, demos and benchmarks); exit 1 when a\n"
                 "                     tenant was stopped by VOMO or a resource's scans failed\n");
}

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Whether sd_journal_sendv() has a journal to talk to: without one it
 * fails silently and every line would be lost. */
static bool journal_reachable(void)
{
    struct stat st;
    return stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * Journald natively when stderr is the journal stream systemd gave us
 * (JOURNAL_STREAM names its device:inode).  When the journal is chosen but
 * not reachable (a container, a manual run), lines go to stderr instead:
 * as configured, or as text when journal itself was configured.
 */
static enum log_format pick_format(enum log_format configured, bool *no_journal)
{
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    unsigned long long dev, ino;
    enum log_format f = configured;
    *no_journal = false;
    if (configured != LOG_FMT_JOURNAL && js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
        fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
        (unsigned long long)st.st_ino == ino)
        f = LOG_FMT_JOURNAL;
    if (f == LOG_FMT_JOURNAL && !journal_reachable()) {
        *no_journal = true;
        f = configured == LOG_FMT_JOURNAL ? LOG_FMT_TEXT : configured;
    }
    return f;
}

static void apply_logging(const struct config *cfg)
{
    bool no_journal;
    enum log_format f = pick_format(cfg->log_format, &no_journal);
    log_setup(cfg->log_level, f, stderr);
    if (no_journal)
        log_warn("no journal at %s: logging %s lines to stderr instead", JOURNAL_SOCKET,
                 log_format_name(f));
}

static void publish_status(struct daemon *d)
{
    char line[256];
    engine_summary(d->engine, line, sizeof(line));
    sdnotify_status(&d->notify, "%s", line);
}

static void on_status_timer(uv_timer_t *t)
{
    publish_status(t->data);
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* The [alerts] targets as the sink takes them. */
static void sink_opts(const struct daemon *d, const struct config *cfg, struct alertsink_opts *o,
                      char instance[ALERTSINK_INSTANCE_MAX])
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) < 0)
        host[0] = '\0';
    alertsink_instance_name(host, d->config_path, instance);
    alertsink_opts_default(o);
    o->webhook_url = cfg->alert_webhook_url;
    o->webhook_secret = cfg->alert_webhook_secret;
    o->alertmanager_url = cfg->alertmanager_url;
    o->instance = instance;
    o->timeout_ms = cfg->webhook_timeout_ms;
    o->connect_timeout_ms = cfg->connect_timeout_ms;
}

static void sink_log(const struct config *cfg)
{
    if (cfg->alert_webhook_url || cfg->alertmanager_url)
        log_info("alert targets: webhook %s, alertmanager %s",
                 cfg->alert_webhook_url ? "on" : "off",
                 cfg->alertmanager_url ? cfg->alertmanager_url : "off");
}

/* The alert targets; without them the daemon runs on (alerts are logged). */
static void start_sink(struct daemon *d)
{
    struct alertsink_opts o;
    char instance[ALERTSINK_INSTANCE_MAX];
    sink_opts(d, d->engine->cfg, &o, instance);
    int rc = alertsink_init(&d->sink, &d->loop, &o);
    if (rc < 0) {
        log_error("alert targets unusable (%s): alerts are only logged", strerror(-rc));
        return;
    }
    d->sink_open = true;
    /* Before engine_start: episodes still firing are replayed to it too. */
    alerts_add_notifier(d->engine->alerts, alertsink_notify, &d->sink);
    sink_log(d->engine->cfg);
}

static void on_engine_stopped(struct engine *e)
{
    struct daemon *d = e->data;
    if (d->sink_open)
        alertsink_close(&d->sink, NULL);
    uv_close((uv_handle_t *)&d->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&d->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&d->sighup, on_handle_closed);
    uv_close((uv_handle_t *)&d->status_timer, on_handle_closed);
    web_close(&d->web, NULL);
    sdnotify_close(&d->notify);
    log_info("stopped");
}

static void begin_stop(struct daemon *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = true;
    log_info("%s: stopping", why);
    web_set_phase(&d->web, WEB_STOPPING);
    d->web.on_hint = NULL;
    hintproc_close(d->hints, NULL, NULL); /* hints not yet taken stay for the next start */
    d->hints = NULL;
    sdnotify_stopping(&d->notify);
    uv_timer_stop(&d->status_timer);
    engine_stop(d->engine, on_engine_stopped);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
    begin_stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/*
 * SIGHUP: a valid configuration is applied; an invalid one is refused with
 * each of its errors logged once, and the daemon keeps its old one.
 */
static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    struct daemon *d = s->data;
    if (d->stopping)
        return;
    sdnotify_reloading(&d->notify);
    struct cfg_errors errs;
    cfg_errors_init(&errs);
    struct config *cfg = NULL;
    if (cfg_load(d->config_path, 0, &cfg, &errs) < 0) {
        for (size_t i = 0; i < errs.count; i++) {
            const struct cfg_error *er = &errs.items[i];
            log_error("reload refused: %s:%d: %s: %s", er->file, er->line, er->key ? er->key : "-",
                      er->message);
        }
        log_error("reload refused: %zu error(s) in %s; still running on the previous "
                  "configuration",
                  errs.count, d->config_path);
    } else {
        for (size_t i = 0; i < errs.nwarnings; i++)
            log_warn("%s", errs.warnings[i]);
        if (strcmp(cfg->state_db, d->engine->cfg->state_db) != 0)
            log_warn("state_db changed to %s: this takes effect at the next restart",
                     cfg->state_db);
        apply_logging(cfg);
        engine_reload(d->engine, cfg);
        if (d->sink_open) {
            struct alertsink_opts o;
            char instance[ALERTSINK_INSTANCE_MAX];
            sink_opts(d, d->engine->cfg, &o, instance);
            if (alertsink_reconfigure(&d->sink, &o) < 0)
                log_error(
                    "alert targets: the new [alerts] keys were refused; the previous ones stay");
            else
                sink_log(d->engine->cfg);
        }
        web_relisten(&d->web, d->engine->cfg->http_listen);
    }
    cfg_errors_free(&errs);
    sdnotify_ready(&d->notify);
    publish_status(d);
}

/*
 * How a --exit-after-sync run went: 0 when every tenant still runs and every
 * resource had a scan that did not fail; otherwise each shortfall is logged
 * and the run exits 1, so scripts and first syncs notice it.
 */
static int sync_outcome(struct engine *e)
{
    int rc = EXIT_OK;
    for (struct tenant *t = e->tenants; t; t = t->next) {
        struct log_fields f = {.tenant = t->name, .delay_ms = LOG_NO_DELAY};
        if (t->status != TENANT_OK) {
            log_emit(LOG_ERROR, &f, "tenant %s is stopped (VOMO rejected its token): not synced",
                     t->name);
            rc = EXIT_RUNTIME;
            continue;
        }
        for (int r = 0; r < RES_COUNT; r++) {
            const struct slot *s = &t->slots[r];
            if (!(t->resources & RES_BIT(r)) || s->scans_failed < s->scans_finished)
                continue;
            f.resource = resource_name((enum resource)r);
            log_emit(LOG_ERROR, &f, "%s/%s: every scan failed: not synced", t->name, f.resource);
            rc = EXIT_RUNTIME;
        }
    }
    return rc;
}

/* With --exit-after-sync: stop once every slot has finished a scan. */
static void on_scan_done(struct engine *e, struct slot *slot, const char *status)
{
    struct daemon *d = e->data;
    hintproc_scan_done(d->hints, slot, status);
    if (!d->exit_after_sync || d->stopping)
        return;
    for (struct tenant *t = e->tenants; t; t = t->next)
        for (int r = 0; r < RES_COUNT; r++)
            if ((t->resources & RES_BIT(r)) && t->status == TENANT_OK &&
                t->slots[r].scans_finished == 0)
                return;
    d->exit_code = sync_outcome(e);
    begin_stop(d, "every resource finished a scan");
}

/* One daemon per state database: a second one refuses to start. */
static int take_lock(const struct config *cfg, int *fd)
{
    pid_t holder = 0;
    if (strcmp(cfg->state_db, ":memory:") == 0)
        return 0; /* nothing shared to protect */
    int rc = pidlock_acquire(cfg->state_db, fd, &holder);
    if (rc == -EBUSY)
        fprintf(stderr,
                "vomo-sync: another vomo-sync (pid %ld) is running on %s; stop it first, or "
                "give this one its own state_db\n",
                (long)holder, cfg->state_db);
    else if (rc < 0)
        fprintf(stderr, "vomo-sync: cannot create %s.lock: %s\n", cfg->state_db, strerror(-rc));
    return rc;
}

static int open_state(const struct config *cfg, struct store **out)
{
    int from = 0, to = 0;
    int rc = store_open(cfg->state_db, out);
    if (rc < 0) {
        fprintf(stderr, "vomo-sync: cannot open the state database %s: %s\n", cfg->state_db,
                strerror(rc == -STORE_ENEWER ? EINVAL : -rc));
        return rc;
    }
    rc = store_migrate(*out, &from, &to);
    if (rc < 0) {
        fprintf(stderr, "vomo-sync: %s: %s\n", cfg->state_db, store_errmsg(*out));
        store_close(*out);
        *out = NULL;
        return rc;
    }
    if (from != to)
        log_info("state database %s migrated from schema version %d to %d", cfg->state_db, from,
                 to);
    return 0;
}

static int parse_args(int argc, char **argv, struct daemon *d)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--exit-after-sync") == 0) {
            d->exit_after_sync = true;
            continue;
        }
        fprintf(stderr, "vomo-sync run: unknown argument '%s'\n", argv[i]);
        usage(stderr);
        return -1;
    }
    return 0;
}

static struct config *load_config(const char *path)
{
    struct cfg_errors errs;
    cfg_errors_init(&errs);
    struct config *cfg = NULL;
    if (cfg_load(path, 0, &cfg, &errs) < 0)
        cfg = NULL;
    cfg_errors_print(&errs, stderr);
    cfg_errors_free(&errs);
    return cfg;
}

/*
 * SIGTERM, SIGINT and SIGHUP are held from the start until the loop's
 * signal handles exist: a stop asked for during a long migration is then
 * honoured gracefully (exit 0) instead of killing the process, and an
 * early SIGHUP does not terminate it.
 */
static void hold_signals(bool hold)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    (void)pthread_sigmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static void start_loop_handles(struct daemon *d)
{
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sighup);
    d->sigterm.data = d->sigint.data = d->sighup.data = d;
    uv_signal_start(&d->sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_stop_signal, SIGINT);
    uv_signal_start(&d->sighup, on_sighup, SIGHUP);
    hold_signals(false);
    uv_timer_init(&d->loop, &d->status_timer);
    d->status_timer.data = d;
    uv_timer_start(&d->status_timer, on_status_timer, STATUS_EVERY_MS, STATUS_EVERY_MS);
}

static void kick_hints(void *arg)
{
    hintproc_kick(arg);
}

/* The endpoint on the socket bound at start (or none for listen = off). */
static int start_web(struct daemon *d)
{
    char err[256] = "";
    const char *listen = d->engine->cfg->http_listen;
    int fd = d->http_fd;
    d->http_fd = -1;
    if (web_open(&d->web, &d->loop, d->engine, listen, fd, d->http_activated, err, sizeof(err)) <
        0) {
        fprintf(stderr, "vomo-sync: %s\n", err);
        return -1;
    }
    if (d->web.address[0])
        log_info("http endpoint listening on %s%s: /metrics /status /healthz /readyz "
                 "/hooks/vomo/",
                 d->web.address, d->http_activated ? " (socket passed by systemd)" : "");
    return 0;
}

static int run_loop(struct daemon *d, struct config *cfg, struct store *store)
{
    uv_loop_init(&d->loop);
    if (engine_new(&d->loop, cfg, store, &d->engine) < 0) {
        fprintf(stderr, "vomo-sync: cannot start the HTTP client\n");
        cfg_free(cfg);
        uv_loop_close(&d->loop);
        return EXIT_RUNTIME;
    }
    if (start_web(d) < 0) {
        d->exit_code = EXIT_RUNTIME;
        d->stopping = true;
        engine_stop(d->engine, NULL);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        web_close(&d->web, NULL);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        engine_free(d->engine);
        (void)uv_loop_close(&d->loop);
        return EXIT_RUNTIME;
    }
    d->engine->data = d;
    d->engine->on_scan_done = on_scan_done;
    start_sink(d);
    if (sdnotify_init(&d->notify, &d->loop) < 0)
        log_warn("systemd notification socket unusable: readiness will not be reported");
    start_loop_handles(d);
    if (engine_start(d->engine) < 0) {
        begin_stop(d, "start failed");
        d->exit_code = EXIT_RUNTIME;
    } else {
        d->hints = hintproc_new(d->engine);
        d->web.on_hint = kick_hints;
        d->web.hint_arg = d->hints;
        hintproc_start(d->hints);
        sdnotify_ready(&d->notify); /* migrated, configured, the loop is about to run */
        web_set_phase(&d->web, WEB_READY);
        publish_status(d);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    engine_free(d->engine);
    if (uv_loop_close(&d->loop) != 0)
        log_warn("event loop closed with handles still open");
    return d->exit_code;
}

/* [http] listen, bound now: a busy port is a clear startup error. */
static int bind_http(const struct config *cfg, struct daemon *d)
{
    char err[256] = "";
    int rc = web_bind(cfg->http_listen, &d->http_fd, &d->http_activated, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr,
                "vomo-sync: %s ([http] listen in %s: free the port, choose another one, or "
                "set listen = off)\n",
                err, cfg->path);
    return rc;
}

int cmd_run(int argc, char **argv, const char *config_path)
{
    struct daemon d = {.config_path = config_path, .exit_code = EXIT_OK, .http_fd = -1};
    int rc = parse_args(argc, argv, &d);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    hold_signals(true);
    struct config *cfg = load_config(config_path);
    if (!cfg)
        return EXIT_USAGE;
    apply_logging(cfg);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "vomo-sync: libcurl failed to initialise\n");
        cfg_free(cfg);
        return EXIT_RUNTIME;
    }
    int lock_fd = -1;
    if (take_lock(cfg, &lock_fd) < 0) {
        cfg_free(cfg);
        curl_global_cleanup();
        return EXIT_RUNTIME;
    }
    if (bind_http(cfg, &d) < 0) {
        pidlock_release(lock_fd);
        cfg_free(cfg);
        curl_global_cleanup();
        return EXIT_RUNTIME;
    }
    struct store *store = NULL;
    if (open_state(cfg, &store) < 0) {
        if (d.http_fd >= 0)
            close(d.http_fd);
        pidlock_release(lock_fd);
        cfg_free(cfg);
        curl_global_cleanup();
        return EXIT_RUNTIME;
    }
    log_info("vomo-sync %s starting with %s (%zu tenant(s))", VOMO_SYNC_VERSION, config_path,
             cfg->ntenants);
    rc = run_loop(&d, cfg, store);
    store_close(store);
    pidlock_release(lock_fd);
    curl_global_cleanup();
    log_clear_secrets();
    return rc;
}
