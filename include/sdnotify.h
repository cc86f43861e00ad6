/*
 * sdnotify.h - tells systemd how the daemon is doing: READY=1 once the
 * state database is migrated and the loop runs, STATUS= lines an operator
 * sees in `systemctl status`, WATCHDOG=1 at half of WATCHDOG_USEC from a
 * timer on the daemon's loop, RELOADING=1 around a SIGHUP reload and
 * STOPPING=1 on shutdown.
 *
 * Outside systemd (no NOTIFY_SOCKET), and in a build without libsystemd
 * (HAVE_LIBSYSTEMD undefined), every call is a silent no-op.  Every message
 * is sent from the calling thread, which must be the daemon's main process
 * (the unit says NotifyAccess=main).  The environment is never modified, so
 * children the daemon or a test spawns keep their own view of it.
 *
 * Ownership: struct sdnotify is embedded by its owner and must not move
 * between sdnotify_init() and the end of the close started by
 * sdnotify_close(); the watchdog timer lives inside it.  The timer is
 * unreferenced, so it never keeps a loop alive on its own; the owner still
 * calls sdnotify_close() and lets its loop run once more to finish the close.
 */
#ifndef VOMO_SDNOTIFY_H
#define VOMO_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

struct sdnotify {
    uv_timer_t watchdog;    /* sends WATCHDOG=1 every watchdog_usec / 2 */
    uint64_t watchdog_usec; /* from WATCHDOG_USEC (for this pid); 0 = no watchdog */
    uint64_t pings;         /* WATCHDOG=1 messages sent, for tests and logs */
    bool enabled;           /* NOTIFY_SOCKET is set: messages go somewhere */
    bool timer_inited;      /* the timer handle exists and must be closed */
    bool timer_started;
};

/*
 * Reads NOTIFY_SOCKET and, through sd_watchdog_enabled(), WATCHDOG_USEC and
 * WATCHDOG_PID; when the watchdog is on for this process, starts the ping
 * timer on loop.  Returns 0 (also when systemd is absent: then every later
 * call does nothing) or a negative errno from libuv.
 */
int sdnotify_init(struct sdnotify *n, uv_loop_t *loop) WUR;

/* READY=1: the daemon serves.  Also sent again at the end of a reload. */
void sdnotify_ready(struct sdnotify *n);

/* STATUS=<text>: one line (newlines become spaces), at most 200 bytes. */
void sdnotify_status(struct sdnotify *n, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* RELOADING=1 with MONOTONIC_USEC= (systemd >= 253 wants both; older ones
 * ignore the second).  Call sdnotify_ready() when the reload is done. */
void sdnotify_reloading(struct sdnotify *n);

/* STOPPING=1: shutdown has begun; stops the watchdog pings. */
void sdnotify_stopping(struct sdnotify *n);

/* WATCHDOG=1 now, for a long step that keeps the loop from running. */
void sdnotify_watchdog(struct sdnotify *n);

/* Stops and closes the timer; the owner's loop completes the close.
 * Safe to call more than once, and after a failed or no-op init. */
void sdnotify_close(struct sdnotify *n);

#endif
