/*
 * sdnotify.c - the daemon's side of the systemd notification protocol
 * (sd_notify(3)): readiness, status lines, reload and stop markers, and the
 * watchdog ping driven by a libuv timer.  libsystemd is used through the two
 * helpers below only, so a build without it turns every call into a no-op.
 */
#include "sdnotify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

/* Sends one message; failures are ignored, as systemd may be gone. */
static void notify_send(const char *msg)
{
    (void)sd_notify(0, msg);
}

/* The watchdog interval meant for this process, or 0. */
static uint64_t notify_watchdog_usec(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0)
        return 0;
    return usec;
}

static bool notify_socket_set(void)
{
    const char *s = getenv("NOTIFY_SOCKET");
    return s && *s;
}
#else
static void notify_send(const char *msg)
{
    (void)msg;
}

static uint64_t notify_watchdog_usec(void)
{
    return 0;
}

static bool notify_socket_set(void)
{
    return false;
}
#endif

#define SDNOTIFY_STATUS_MAX 200

static void send_if_enabled(struct sdnotify *n, const char *msg)
{
    if (n->enabled)
        notify_send(msg);
}

static void on_watchdog(uv_timer_t *t)
{
    struct sdnotify *n = container_of(t, struct sdnotify, watchdog);
    sdnotify_watchdog(n);
}

int sdnotify_init(struct sdnotify *n, uv_loop_t *loop)
{
    memset(n, 0, sizeof(*n));
    n->enabled = notify_socket_set();
    if (!n->enabled)
        return 0;
    n->watchdog_usec = notify_watchdog_usec();
    if (n->watchdog_usec == 0)
        return 0;
    int rc = uv_timer_init(loop, &n->watchdog);
    if (rc < 0)
        return rc;
    n->timer_inited = true;
    uv_unref((uv_handle_t *)&n->watchdog);
    uint64_t period_ms = n->watchdog_usec / 2000;
    if (period_ms == 0)
        period_ms = 1;
    rc = uv_timer_start(&n->watchdog, on_watchdog, period_ms, period_ms);
    if (rc < 0)
        return rc;
    n->timer_started = true;
    return 0;
}

void sdnotify_ready(struct sdnotify *n)
{
    send_if_enabled(n, "READY=1");
}

/*
 * Keeps a status line to one line of printable text: systemd shows it
 * verbatim in `systemctl status`.  Truncation backs off to a UTF-8
 * character boundary so the line never ends in half a character.
 */
static void status_sanitise(char *s)
{
    size_t len = strlen(s);
    if (len > SDNOTIFY_STATUS_MAX) {
        len = SDNOTIFY_STATUS_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
        s[len] = '\0';
    }
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

void sdnotify_status(struct sdnotify *n, const char *fmt, ...)
{
    if (!n->enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    status_sanitise(text);
    char *msg = xasprintf("STATUS=%s", text);
    notify_send(msg);
    free(msg);
    free(text);
}

void sdnotify_reloading(struct sdnotify *n)
{
    if (!n->enabled)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec =
        (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull;
    char msg[64];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
    notify_send(msg);
}

void sdnotify_stopping(struct sdnotify *n)
{
    if (n->timer_started) {
        (void)uv_timer_stop(&n->watchdog);
        n->timer_started = false;
    }
    send_if_enabled(n, "STOPPING=1");
}

void sdnotify_watchdog(struct sdnotify *n)
{
    if (!n->enabled || n->watchdog_usec == 0)
        return;
    notify_send("WATCHDOG=1");
    n->pings++;
}

void sdnotify_close(struct sdnotify *n)
{
    if (!n->timer_inited)
        return;
    n->timer_inited = false;
    n->timer_started = false;
    if (!uv_is_closing((uv_handle_t *)&n->watchdog))
        uv_close((uv_handle_t *)&n->watchdog, NULL);
}
