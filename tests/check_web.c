/*
 * check_web.c - the local HTTP endpoint of the real daemon binary, run as
 * a child against the fake VOMO: /healthz and /readyz (ready once running,
 * 503 with a reason while stopping), 404/405 as JSON, a port that cannot
 * be bound (exit 1 naming the address, before the database is touched),
 * a socket passed by systemd (LISTEN_FDS), SIGHUP moving the endpoint,
 * stalled clients that do not hold up the sync, and check-config's
 * refusal of an address that is not loopback without the read API's token
 * (and its warning with one).
 */
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* A listening socket on 127.0.0.1 and a free port; *port gets the port. */
static int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    socklen_t len = sizeof(a);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static long get(uint16_t port, const char *path, char **body)
{
    return tu_http("GET", port, path, body, NULL);
}

static void start(struct tu_env *env, const char *overrides, const struct fake_opts *o)
{
    tu_env_init(env, o);
    tu_tenant(env, "acme", 40, 5, 5);
    tu_fake_start(env);
    char *ini = tu_tenant_ini("acme", NULL);
    tu_config(env, overrides ? overrides : "daemon.log_level = info", ini);
    free(ini);
}

static bool log_has(struct tu_env *env, const char *needle)
{
    char *log = tu_daemon_log(env);
    bool found = strstr(log, needle) != NULL;
    free(log);
    return found;
}

START_TEST(health_and_readiness_of_the_running_daemon)
{
    struct tu_env env;
    start(&env, NULL, NULL);
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    uint16_t port = tu_daemon_http_port(&env, 10000);
    ck_assert_msg(port != 0, "no endpoint in the log");
    char *body, *headers;
    ck_assert_int_eq(tu_http("GET", port, "/healthz", &body, &headers), 200);
    ck_assert_str_eq(body, "ok\n");
    ck_assert_ptr_nonnull(strstr(headers, "text/plain"));
    free(body);
    free(headers);
    long st = 0;
    for (int i = 0; i < 500 && st != 200; i++) {
        st = get(port, "/readyz", &body);
        if (st != 200) {
            free(body);
            usleep(10000);
        }
    }
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(body, "{\"status\": \"ready\"}\n");
    free(body);
    ck_assert_int_eq(get(port, "/nothing/here", &body), 404);
    ck_assert_str_eq(body, "{\"error\": \"not found\"}\n");
    free(body);
    ck_assert_int_eq(tu_http("POST", port, "/healthz", &body, &headers), 405);
    ck_assert_ptr_nonnull(strstr(headers, "Allow: GET, HEAD"));
    free(body);
    free(headers);
    kill(pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 0);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(readyz_says_stopping_while_work_finishes)
{
    struct tu_env env;
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 3000; /* every request is in flight for 3 s */
    start(&env, "daemon.log_level = info\ndaemon.shutdown_timeout = 5s", &o);
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    uint16_t port = tu_daemon_http_port(&env, 10000);
    ck_assert_uint_ne(port, 0);
    char *body;
    long st = 0;
    for (int i = 0; i < 500 && st != 200; i++) {
        st = get(port, "/readyz", &body);
        free(body);
        if (st != 200)
            usleep(10000);
    }
    ck_assert_int_eq(st, 200);
    kill(pid, SIGTERM);
    st = 0;
    for (int i = 0; i < 200 && st != 503; i++) {
        st = get(port, "/readyz", &body);
        if (st != 503) {
            free(body);
            usleep(10000);
        }
    }
    ck_assert_int_eq(st, 503);
    ck_assert_msg(strstr(body, "\"status\": \"stopping\"") && strstr(body, "reason"), "%s", body);
    free(body);
    /* Liveness is not readiness: the loop still turns while stopping. */
    ck_assert_int_eq(get(port, "/healthz", &body), 200);
    free(body);
    ck_assert_int_eq(tu_daemon_wait(pid, 15000), 0);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(busy_port_exits_1_naming_the_address)
{
    uint16_t port;
    int fd = listen_any(&port);
    char ov[128];
    snprintf(ov, sizeof(ov), "http.listen = 127.0.0.1:%u", port);
    struct tu_env env;
    start(&env, ov, NULL);
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 1);
    char want[64];
    snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: Address already in use", port);
    ck_assert_msg(log_has(&env, want), "log lacks '%s'", want);
    ck_assert(log_has(&env, "[http] listen"));
    /* Refused before the state database was created. */
    ck_assert_int_ne(access(env.db_path, F_OK), 0);
    close(fd);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(socket_passed_by_systemd_is_used)
{
    uint16_t port;
    int fd = listen_any(&port);
    struct tu_env env;
    start(&env, NULL, NULL);
    char fdv[48];
    snprintf(fdv, sizeof(fdv), "VOMO_TEST_LISTEN_FD=%d", fd);
    const char *envs[] = {fdv, NULL};
    pid_t pid = tu_daemon_spawn(&env, NULL, envs);
    ck_assert_uint_eq(tu_daemon_http_port(&env, 10000), port);
    ck_assert(log_has(&env, "socket passed by systemd"));
    char *body;
    ck_assert_int_eq(get(port, "/healthz", &body), 200);
    free(body);
    kill(pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 0);
    close(fd);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(sighup_moves_the_endpoint)
{
    struct tu_env env;
    start(&env, NULL, NULL);
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    uint16_t old_port = tu_daemon_http_port(&env, 10000);
    ck_assert_uint_ne(old_port, 0);
    /* A port that was free a moment ago. */
    uint16_t new_port;
    close(listen_any(&new_port));
    char ov[160];
    snprintf(ov, sizeof(ov), "daemon.log_level = info\nhttp.listen = 127.0.0.1:%u", new_port);
    char *ini = tu_tenant_ini("acme", NULL);
    tu_config(&env, ov, ini);
    free(ini);
    kill(pid, SIGHUP);
    char *body;
    long st = 0;
    for (int i = 0; i < 500 && st != 200; i++) {
        st = get(new_port, "/healthz", &body);
        free(body);
        if (st != 200)
            usleep(10000);
    }
    char *log = tu_daemon_log(&env);
    if (st != 200)
        fprintf(stderr, "%s\n", log);
    ck_assert_msg(st == 200, "new port %u not answering", new_port);
    free(log);
    ck_assert_int_eq(get(old_port, "/healthz", &body), 0); /* refused */
    free(body);
    kill(pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 0);
    tu_env_cleanup(&env);
}
END_TEST

static bool mirror_done(void *arg)
{
    struct tu_env *env = arg;
    return tu_mirror_diff(env, "acme", "users") == 0 &&
           tu_mirror_diff(env, "acme", "groups") == 0 &&
           tu_mirror_diff(env, "acme", "projects") == 0;
}

START_TEST(stalled_clients_do_not_hold_up_the_sync)
{
    struct tu_env env;
    start(&env, NULL, NULL);
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    uint16_t port = tu_daemon_http_port(&env, 10000);
    ck_assert_uint_ne(port, 0);
    int stalled[8];
    for (int i = 0; i < 8; i++) {
        stalled[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(connect(stalled[i], (struct sockaddr *)&a, sizeof(a)), 0);
        const char *half = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
        ck_assert_int_eq(write(stalled[i], half, strlen(half)), (ssize_t)strlen(half));
    }
    ck_assert(tu_wait(mirror_done, &env, 15000));
    char *body;
    ck_assert_int_eq(get(port, "/healthz", &body), 200);
    free(body);
    for (int i = 0; i < 8; i++)
        close(stalled[i]);
    kill(pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 0);
    tu_env_cleanup(&env);
}
END_TEST

/* check-config: a non-loopback address needs the read API's token file
 * (an error naming both keys otherwise) and is then allowed with a
 * warning, the token redacted; a name instead of a number is an error
 * naming the key. */
static int check_config(struct tu_env *env, char **out)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s --config %s check-config 2>&1", VOMO_SYNC_BIN, env->config_path);
    FILE *p = popen(cmd, "r");
    struct buf b;
    buf_init(&b, 0);
    char line[512];
    while (fgets(line, sizeof(line), p))
        (void)!buf_puts(&b, line);
    int st = pclose(p);
    *out = b.data ? buf_steal(&b) : xstrdup("");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(check_config_warns_about_non_loopback)
{
    struct tu_env env;
    start(&env, "http.listen = 0.0.0.0:9464", NULL);
    char *out;
    ck_assert_int_eq(check_config(&env, &out), 2);
    ck_assert_msg(strstr(out, "http.listen") && strstr(out, "api_token_file"), "%s", out);
    free(out);
    char *ini = tu_tenant_ini("acme", NULL);
    char ov[512];
    snprintf(ov, sizeof(ov), "http.listen = 0.0.0.0:9464\nhttp.api_token_file = %s",
             tu_write(&env, "api.token", "api-token-never-shown\n"));
    tu_config(&env, ov, ini);
    ck_assert_int_eq(check_config(&env, &out), 0);
    ck_assert_msg(strstr(out, "warning:") && strstr(out, "no authentication") &&
                      strstr(out, "listen = 0.0.0.0:9464") && strstr(out, "[REDACTED]") &&
                      !strstr(out, "api-token-never-shown"),
                  "%s", out);
    free(out);
    tu_config(&env, "http.listen = localhost:9464", ini);
    ck_assert_int_eq(check_config(&env, &out), 2);
    ck_assert_msg(strstr(out, "http.listen") && strstr(out, "localhost:9464"), "%s", out);
    free(out);
    tu_config(&env, "http.listen = off", ini);
    ck_assert_int_eq(check_config(&env, &out), 0);
    ck_assert_msg(strstr(out, "[http]\nlisten = off\n") && !strstr(out, "warning"), "%s", out);
    free(out);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

/* Runs `vomo-sync --config CFG status ARGS` and returns its stdout. */
static int run_status(struct tu_env *env, const char *args, char **out)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s --config %s status %s 2>/dev/null", VOMO_SYNC_BIN,
             env->config_path, args);
    FILE *p = popen(cmd, "r");
    struct buf b;
    buf_init(&b, 0);
    char line[1024];
    while (fgets(line, sizeof(line), p))
        (void)!buf_puts(&b, line);
    int st = pclose(p);
    *out = b.data ? buf_steal(&b) : xstrdup("");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

START_TEST(status_page_and_the_cli_live_part)
{
    uint16_t port;
    close(listen_any(&port));
    char ov[160];
    snprintf(ov, sizeof(ov), "daemon.log_level = info\nhttp.listen = 127.0.0.1:%u", port);
    struct tu_env env;
    start(&env, ov, NULL);
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    ck_assert_uint_eq(tu_daemon_http_port(&env, 10000), port);
    ck_assert(tu_wait(mirror_done, &env, 15000));
    char *body;
    ck_assert_int_eq(get(port, "/status", &body), 200);
    cJSON *doc = cJSON_Parse(body);
    ck_assert_msg(doc, "not JSON: %s", body);
    ck_assert_str_eq(jstr(doc, "database"), env.db_path);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "resources")), 3);
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(doc, "tenants")));
    const cJSON *live = cJSON_GetObjectItem(doc, "live");
    ck_assert_str_eq(jstr(live, "phase"), "ready");
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(live, "tenants"), 0);
    ck_assert_str_eq(jstr(t, "tenant"), "acme");
    ck_assert_str_eq(jstr(t, "state"), "ok");
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(t, "vomo_lane"));
    const cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(live, "breakers"), 0);
    ck_assert_str_eq(jstr(b, "name"), "vomo");
    cJSON_Delete(doc);
    free(body);

    /* The CLI adds the live part from the running daemon. */
    char *out;
    ck_assert_int_eq(run_status(&env, "--json", &out), 0);
    doc = cJSON_Parse(out);
    ck_assert_msg(doc, "not JSON: %s", out);
    live = cJSON_GetObjectItem(doc, "live");
    ck_assert_msg(live && !cJSON_GetObjectItem(live, "error"), "%s", out);
    ck_assert_str_eq(jstr(live, "phase"), "ready");
    cJSON_Delete(doc);
    free(out);
    ck_assert_int_eq(run_status(&env, "", &out), 0);
    char want[96];
    snprintf(want, sizeof(want), "live (the running daemon at 127.0.0.1:%u, ready):", port);
    ck_assert_msg(strstr(out, want) && strstr(out, "breaker vomo"), "%s", out);
    free(out);

    kill(pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 0);
    /* Without the daemon: the database part, and why there is no live part. */
    ck_assert_int_eq(run_status(&env, "--json", &out), 0);
    doc = cJSON_Parse(out);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "resources")), 3);
    ck_assert_msg(strstr(jstr(cJSON_GetObjectItem(doc, "live"), "error"), "no daemon answers"),
                  "%s", out);
    cJSON_Delete(doc);
    free(out);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(a_failing_status_section_is_not_a_500)
{
    struct tu_env env;
    start(&env, NULL, NULL);
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    uint16_t port = tu_daemon_http_port(&env, 10000);
    ck_assert_uint_ne(port, 0);
    ck_assert(tu_wait(mirror_done, &env, 15000));
    /* An operator's mistake: a view the resources section reads is gone. */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(env.db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ck_assert_int_eq(sqlite3_exec(db, "DROP VIEW record_counts", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char *body;
    ck_assert_int_eq(get(port, "/status", &body), 200);
    cJSON *doc = cJSON_Parse(body);
    ck_assert_msg(doc, "%s", body);
    ck_assert_msg(strstr(jstr(cJSON_GetObjectItem(doc, "resources"), "error"), "record_counts"),
                  "%s", body);
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(doc, "tenants")));
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(doc, "breakers")));
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(doc, "live"), "phase"), "ready");
    cJSON_Delete(doc);
    free(body);
    ck_assert_int_eq(get(port, "/metrics", &body), 200); /* metrics do not read that view */
    free(body);
    kill(pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 0);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *web_suite(void)
{
    Suite *s = suite_create("web");
    TCase *tc = tcase_create("daemon");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, health_and_readiness_of_the_running_daemon);
    tcase_add_test(tc, readyz_says_stopping_while_work_finishes);
    tcase_add_test(tc, busy_port_exits_1_naming_the_address);
    tcase_add_test(tc, socket_passed_by_systemd_is_used);
    tcase_add_test(tc, sighup_moves_the_endpoint);
    tcase_add_test(tc, stalled_clients_do_not_hold_up_the_sync);
    tcase_add_test(tc, check_config_warns_about_non_loopback);
    tcase_add_test(tc, status_page_and_the_cli_live_part);
    tcase_add_test(tc, a_failing_status_section_is_not_a_500);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(web_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
