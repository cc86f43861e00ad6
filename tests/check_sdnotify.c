/*
 * check_sdnotify.c - the systemd notification module against a real
 * notification socket: each test binds its own AF_UNIX datagram socket in a
 * fresh temporary directory, points NOTIFY_SOCKET (and WATCHDOG_USEC /
 * WATCHDOG_PID) at it, runs the module on a libuv loop in this process and
 * asserts on the datagrams that arrive, their order and their timing.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "sdnotify.h"
#include "util.h"

#define MAX_MSGS 64

struct received {
    char *text[MAX_MSGS];
    uint64_t at_ms[MAX_MSGS]; /* uv_hrtime() in ms when the datagram was read */
    int count;
};

static char dir[64];
static char sock_path[128];
static int sock_fd = -1;
static struct received got;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/vomo-sdnotify-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/notify", dir);
    sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(sock_fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(sock_path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    ck_assert_int_eq(bind(sock_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    ck_assert_int_eq(setenv("NOTIFY_SOCKET", sock_path, 1), 0);
    ck_assert_int_eq(setenv("WATCHDOG_USEC", "100000", 1), 0);
    ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
    memset(&got, 0, sizeof(got));
}

static void teardown(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    for (int i = 0; i < got.count; i++)
        free(got.text[i]);
    close(sock_fd);
    sock_fd = -1;
    unlink(sock_path);
    rmdir(dir);
}

/* Reads every datagram waiting on the socket into `got`. */
static void drain(void)
{
    char buf[4096];
    for (;;) {
        ssize_t r = recv(sock_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (r < 0) {
            ck_assert_int_eq(errno == EAGAIN || errno == EWOULDBLOCK, 1);
            return;
        }
        ck_assert_int_lt(got.count, MAX_MSGS);
        buf[r] = '\0';
        got.text[got.count] = xstrdup(buf);
        got.at_ms[got.count] = uv_hrtime() / 1000000u;
        got.count++;
    }
}

/* What a build with libsystemd must send. */
#ifdef HAVE_LIBSYSTEMD
static int count_of(const char *text)
{
    int c = 0;
    for (int i = 0; i < got.count; i++)
        c += strcmp(got.text[i], text) == 0;
    return c;
}

static int index_of(const char *text)
{
    for (int i = 0; i < got.count; i++)
        if (strcmp(got.text[i], text) == 0)
            return i;
    return -1;
}

/* The loop side of the watchdog test: a poll reading the socket and a timer
 * that stops everything after a fixed time. */
struct watch_run {
    struct sdnotify n;
    uv_poll_t poll;
    uv_timer_t stop;
    uint64_t pings_at_stop;
};

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)p;
    (void)events;
    ck_assert_int_eq(status, 0);
    drain();
}

static void on_stop(uv_timer_t *t)
{
    struct watch_run *w = container_of(t, struct watch_run, stop);
    sdnotify_stopping(&w->n);
    w->pings_at_stop = w->n.pings;
    sdnotify_close(&w->n);
    uv_close((uv_handle_t *)&w->stop, NULL);
    /* The poll stays open one more iteration so STOPPING=1 is read by it. */
}

static void on_after_stop(uv_timer_t *t)
{
    struct watch_run *w = t->data;
    drain();
    uv_close((uv_handle_t *)&w->poll, NULL);
    uv_close((uv_handle_t *)t, NULL);
}

START_TEST(watchdog_pings_at_half_the_interval)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct watch_run w;
    ck_assert_int_eq(sdnotify_init(&w.n, &loop), 0);
    ck_assert(w.n.enabled);
    ck_assert_uint_eq(w.n.watchdog_usec, 100000);
    ck_assert(w.n.timer_started);
    ck_assert_int_eq(uv_poll_init(&loop, &w.poll, sock_fd), 0);
    ck_assert_int_eq(uv_poll_start(&w.poll, UV_READABLE, on_readable), 0);
    ck_assert_int_eq(uv_timer_init(&loop, &w.stop), 0);
    ck_assert_int_eq(uv_timer_start(&w.stop, on_stop, 320, 0), 0);
    uv_timer_t after;
    ck_assert_int_eq(uv_timer_init(&loop, &after), 0);
    after.data = &w;
    ck_assert_int_eq(uv_timer_start(&after, on_after_stop, 420, 0), 0);
    uint64_t start_ms = uv_hrtime() / 1000000u;

    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);

    /* About 6 pings in 320 ms at a 50 ms period; a loaded machine may fire
     * a little late, never early. */
    int pings = count_of("WATCHDOG=1");
    ck_assert_int_ge(pings, 3);
    ck_assert_int_le(pings, 7);
    ck_assert_uint_eq((uint64_t)pings, w.pings_at_stop);
    uint64_t prev = start_ms;
    for (int i = 0; i < got.count; i++) {
        if (strcmp(got.text[i], "WATCHDOG=1") != 0)
            continue;
        uint64_t gap = got.at_ms[i] - prev;
        ck_assert_msg(gap >= 35 && gap <= 150, "ping %d came %llu ms after the previous", i,
                      (unsigned long long)gap);
        prev = got.at_ms[i];
    }
    /* STOPPING=1 is the last message: no ping follows it. */
    ck_assert_int_eq(index_of("STOPPING=1"), got.count - 1);
    ck_assert_uint_eq(w.n.pings, w.pings_at_stop);
}
END_TEST

START_TEST(messages_arrive_in_order)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct sdnotify n;
    ck_assert_int_eq(sdnotify_init(&n, &loop), 0);
    sdnotify_ready(&n);
    sdnotify_status(&n, "syncing %d tenants\nsecond line", 3);
    sdnotify_reloading(&n);
    sdnotify_ready(&n);
    sdnotify_watchdog(&n);
    sdnotify_stopping(&n);
    drain();

    ck_assert_int_eq(got.count, 6);
    ck_assert_str_eq(got.text[0], "READY=1");
    ck_assert_str_eq(got.text[1], "STATUS=syncing 3 tenants second line");
    ck_assert_int_eq(strncmp(got.text[2], "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
    int64_t usec = 0;
    ck_assert_int_eq(parse_i64(got.text[2] + 27, &usec), 0);
    ck_assert_int_gt(usec, 0);
    ck_assert_str_eq(got.text[3], "READY=1");
    ck_assert_str_eq(got.text[4], "WATCHDOG=1");
    ck_assert_str_eq(got.text[5], "STOPPING=1");
    /* The daemon's own environment is left alone for children it spawns. */
    ck_assert_str_eq(getenv("NOTIFY_SOCKET"), sock_path);

    sdnotify_close(&n);
    sdnotify_close(&n);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(status_is_one_bounded_line)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct sdnotify n;
    ck_assert_int_eq(sdnotify_init(&n, &loop), 0);
    char long_text[501];
    memset(long_text, 'x', 500);
    long_text[500] = '\0';
    sdnotify_status(&n, "%s", long_text);
    /* 199 ASCII bytes then a 2-byte character: cut before the character. */
    sdnotify_status(&n, "%.199s\xc3\xa9tail", long_text);
    drain();
    ck_assert_int_eq(got.count, 2);
    ck_assert_uint_eq(strlen(got.text[0]), strlen("STATUS=") + 200);
    ck_assert_uint_eq(strlen(got.text[1]), strlen("STATUS=") + 199);
    ck_assert_int_eq(got.text[1][strlen(got.text[1]) - 1], 'x');
    sdnotify_close(&n);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(watchdog_timer_never_keeps_the_loop_alive)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct sdnotify n;
    ck_assert_int_eq(sdnotify_init(&n, &loop), 0);
    ck_assert(n.timer_started);
    uint64_t t0 = uv_hrtime();
    /* Nothing else is on the loop: it must return at once, not ping forever. */
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_uint_lt((uv_hrtime() - t0) / 1000000u, 40);
    sdnotify_close(&n);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    drain();
    ck_assert_int_eq(count_of("WATCHDOG=1"), 0);
}
END_TEST

START_TEST(watchdog_for_another_pid_is_ignored)
{
    ck_assert_int_eq(setenv("WATCHDOG_PID", "1", 1), 0);
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct sdnotify n;
    ck_assert_int_eq(sdnotify_init(&n, &loop), 0);
    ck_assert(n.enabled);
    ck_assert_uint_eq(n.watchdog_usec, 0);
    ck_assert(!n.timer_inited);
    sdnotify_watchdog(&n);
    sdnotify_ready(&n);
    drain();
    ck_assert_int_eq(got.count, 1);
    ck_assert_str_eq(got.text[0], "READY=1");
    sdnotify_close(&n);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST
#endif

static void on_quiet_end(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, NULL);
}

START_TEST(without_notify_socket_everything_is_silent)
{
    unsetenv("NOTIFY_SOCKET");
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct sdnotify n;
    ck_assert_int_eq(sdnotify_init(&n, &loop), 0);
    ck_assert(!n.enabled);
    ck_assert_uint_eq(n.watchdog_usec, 0);
    ck_assert(!n.timer_inited);
    sdnotify_ready(&n);
    sdnotify_status(&n, "idle");
    sdnotify_reloading(&n);
    sdnotify_watchdog(&n);
    /* Long enough for two pings had the watchdog been on. */
    uv_timer_t end;
    ck_assert_int_eq(uv_timer_init(&loop, &end), 0);
    ck_assert_int_eq(uv_timer_start(&end, on_quiet_end, 120, 0), 0);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    sdnotify_stopping(&n);
    sdnotify_close(&n);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    drain();
    ck_assert_int_eq(got.count, 0);
    ck_assert_uint_eq(n.pings, 0);
}
END_TEST

static Suite *sdnotify_suite(void)
{
    Suite *s = suite_create("sdnotify");
    TCase *tc = tcase_create("notify");
    tcase_add_checked_fixture(tc, setup, teardown);
#ifdef HAVE_LIBSYSTEMD
    tcase_add_test(tc, watchdog_pings_at_half_the_interval);
    tcase_add_test(tc, messages_arrive_in_order);
    tcase_add_test(tc, status_is_one_bounded_line);
    tcase_add_test(tc, watchdog_timer_never_keeps_the_loop_alive);
    tcase_add_test(tc, watchdog_for_another_pid_is_ignored);
#endif
    tcase_add_test(tc, without_notify_socket_everything_is_silent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sdnotify_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
