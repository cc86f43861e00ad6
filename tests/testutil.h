/*
 * testutil.h - what the integration suites share: a temporary directory
 * with a config file, token files and a state database; the fake VOMO
 * started in-process; the sync engine run on a test-owned loop until a
 * condition holds (never a blind sleep); the real daemon binary run as a
 * child process; and read-only queries of the state database.
 */
#ifndef VOMO_TESTUTIL_H
#define VOMO_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "engine.h"
#include "fake.h"
#include "store.h"

struct tu_env {
    char dir[256];
    char config_path[320];
    char db_path[320];
    struct fake *fake;
    uint16_t port;
};

/* mkdtemp, and a fake with `opts` (NULL = defaults) not yet started. */
void tu_env_init(struct tu_env *env, const struct fake_opts *opts);
/* Starts the fake (after tenants were added to it). */
void tu_fake_start(struct tu_env *env);
/* Stops the fake, removes the directory. */
/* Removes the directory tree at dir (a suite's temporary directory):
 * files, subdirectories, then dir itself; what is already gone is fine. */
void tu_rm_tree(const char *dir);
void tu_env_cleanup(struct tu_env *env);
/* Writes dir/name (mode 0600) and returns its path in a static rotation. */
const char *tu_write(struct tu_env *env, const char *name, const char *content);
/* Adds a tenant to the fake and writes its token file NAME.token. */
void tu_tenant(struct tu_env *env, const char *name, int users, int groups, int projects);
/*
 * Writes the config: fast millisecond settings pointing at the fake, plus
 * `extra` (INI text appended after the global sections, e.g. overriding
 * keys is not possible; give whole [tenant.X] sections here) and
 * `overrides` (lines "section.key = value" replacing defaults, may be NULL).
 */
void tu_config(struct tu_env *env, const char *overrides, const char *tenants_ini);
/* A [tenant.NAME] section with token_file set (sqlite destination). */
char *tu_tenant_ini(const char *name, const char *more);

/* A [tenant.NAME] section delivering `resources` to the fake's webhook sink
 * /_hooks/NAME, signed with `secret` (written to NAME.secret); the sink is
 * told to check signatures against `sink_secret` (NULL: no check).  The
 * caller frees the text. */
char *tu_webhook_tenant_ini(struct tu_env *env, const char *name, const char *resources,
                            const char *secret, const char *sink_secret, const char *more);

/* An engine on its own loop. */
struct tu_engine {
    uv_loop_t loop;
    struct store *store;
    struct engine *e;
    bool stopped;
};
void tu_engine_start(struct tu_env *env, struct tu_engine *te);
/* Runs the loop until pred(arg) or timeout_ms passes; returns pred's value. */
bool tu_run_until(struct tu_engine *te, bool (*pred)(void *arg), void *arg, int timeout_ms);
/* Runs for ms (letting timers fire); for "nothing else happens" checks. */
void tu_run_for(struct tu_engine *te, int ms);
/* Graceful stop, loop closed (asserted), store closed, engine freed. */
void tu_engine_stop(struct tu_engine *te);
/* Every enabled slot of every tenant has finished at least n scans. */
bool tu_scans_at_least(struct engine *e, int n);
/* Scans finished (any status) by one slot. */
int64_t tu_slot_scans(struct engine *e, const char *tenant, const char *resource);

/* First column of the first row of sql (with optional text parameters
 * ?1..?n from a NULL-terminated list) as an integer; -1 when no row. */
int64_t tu_db_int(struct tu_env *env, const char *sql, ...);
/* Same for text; the caller frees; NULL when no row or NULL. */
char *tu_db_text(struct tu_env *env, const char *sql, ...);
/* How many records of (tenant, resource) in the fake have no live row with
 * the same updated_at in `records`, plus live rows the fake lacks: 0 when
 * the mirror equals the dataset exactly. */
int tu_mirror_diff(struct tu_env *env, const char *tenant, const char *resource);

/* The daemon binary as a child: stdout/stderr to dir/daemon.log. */
pid_t tu_daemon_spawn(struct tu_env *env, const char *const *extra_args,
                      const char *const *env_add);
/* Waits for exit up to timeout_ms: exit status, or -1 on timeout (killed). */
int tu_daemon_wait(pid_t pid, int timeout_ms);
/* Whole log file of the child daemon (caller frees). */
char *tu_daemon_log(struct tu_env *env);

/* Gives a fake tenant another token (what an operator gets when a revoked
 * token is replaced); the tenant's dataset stays. */
void tu_fake_set_token(struct tu_env *env, const char *tenant, const char *token);

/* Captures the daemon's log as JSON lines at debug level in memory. */
struct tu_logcap {
    FILE *f;
    char *data;
    size_t len;
};
void tu_log_capture_start(struct tu_logcap *c);
/* Everything logged so far (valid until the next call or the end). */
const char *tu_log_capture_text(struct tu_logcap *c);
/* Sends the log back to stderr (errors only) and frees the capture. */
void tu_log_capture_end(struct tu_logcap *c);

/* The port a child daemon's HTTP endpoint listens on, read from its log
 * ("http endpoint listening on 127.0.0.1:PORT"); 0 after timeout_ms. */
uint16_t tu_daemon_http_port(struct tu_env *env, int timeout_ms);
/* A blocking HTTP request to 127.0.0.1:port (libcurl easy, 5 s timeout):
 * the status (0 when none) and the body (caller frees; never NULL).
 * `headers` (may be NULL) receives the response headers (caller frees). */
long tu_http(const char *method, uint16_t port, const char *path, char **body, char **headers);

/* Polls pred every 10 ms up to timeout_ms without a loop. */
bool tu_wait(bool (*pred)(void *arg), void *arg, int timeout_ms);

#endif
