/*
 * check_unit.c - the systemd unit as shipped: `systemd-analyze verify`
 * accepts it (with ExecStart pointing at the freshly built binary) and
 * `systemd-analyze security --offline=true` rates its exposure at 2.0 or
 * lower; the template unit vomo-sync@.service for many instances passes
 * the same checks and keeps every hardening line of the main unit.  Both
 * commands work without systemd running as PID 1.  When systemd-analyze
 * is not installed at all, the suite says so and passes.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define OUTPUT_MAX (256 * 1024)

struct cmd_result {
    int status;   /* exit status, or 128 + signal */
    char *output; /* stdout and stderr together */
};

static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vomo-unit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

/* The full path of an executable found on PATH (or in /usr/bin, /bin), or NULL. */
static char *find_program(const char *name)
{
    const char *path = getenv("PATH");
    char *dirs = xasprintf("%s:/usr/bin:/bin:/usr/sbin:/sbin", path ? path : "");
    char *found = NULL;
    for (const char *d = dirs; *d && !found;) {
        size_t n = strcspn(d, ":");
        char *p = xasprintf("%.*s/%s", (int)n, d, name);
        if (n > 0 && access(p, X_OK) == 0)
            found = p;
        else
            free(p);
        d += n + (d[n] == ':');
    }
    free(dirs);
    return found;
}

/*
 * Runs argv with the test's quiet systemd environment plus env (NULL or
 * "NAME=value" strings ending in NULL), capturing its standard error, and
 * its standard output unless drop_stdout.
 */
static struct cmd_result run_env(char *const argv[], const char *const *env, bool drop_stdout)
{
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        dup2(drop_stdout ? null : fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        setenv("SYSTEMD_LOG_LEVEL", "warning", 1);
        setenv("SYSTEMD_LOG_COLOR", "0", 1);
        setenv("SYSTEMD_COLORS", "0", 1);
        setenv("SYSTEMD_PAGER", "cat", 1);
        setenv("LC_ALL", "C.UTF-8", 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    struct buf b;
    buf_init(&b, OUTPUT_MAX);
    char chunk[4096];
    ssize_t r;
    while ((r = read(fds[0], chunk, sizeof(chunk))) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            ck_assert_int_eq(buf_append(&b, chunk, (size_t)r), 0);
    close(fds[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    struct cmd_result res = {
        .status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
        .output = buf_steal(&b),
    };
    return res;
}

static struct cmd_result run(char *const argv[])
{
    return run_env(argv, NULL, false);
}

/* Writes text to tmpdir/name and returns the path (caller frees). */
static char *write_unit(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* Replaces every occurrence of from in s by to; returns a new string. */
static char *replace_all(const char *s, const char *from, const char *to)
{
    struct buf b;
    buf_init(&b, 0);
    const char *hit;
    while ((hit = strstr(s, from)) != NULL) {
        ck_assert_int_eq(buf_append(&b, s, (size_t)(hit - s)), 0);
        ck_assert_int_eq(buf_puts(&b, to), 0);
        s = hit + strlen(from);
    }
    ck_assert_int_eq(buf_puts(&b, s), 0);
    return buf_steal(&b);
}

/* True when s holds an @UPPER_CASE@ word that `make install` would fill in. */
static bool has_placeholder(const char *s)
{
    for (const char *at = strchr(s, '@'); at; at = strchr(at + 1, '@')) {
        size_t n = strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        if (n > 0 && at[1 + n] == '@')
            return true;
    }
    return false;
}

/* A shipped unit (systemd/NAME.in) with its placeholders filled in the way
 * `make install` does, except that ExecStart runs the binary this tree just
 * built. */
static char *unit_text(const char *name)
{
    char *in;
    size_t len;
    char *src = xasprintf("%s/systemd/%s.in", SOURCE_ROOT, name);
    ck_assert_int_eq(read_whole_file(src, 1 << 20, &in, &len), 0);
    char *a = replace_all(in, "@BINDIR@/vomo-sync", VOMO_SYNC_BIN);
    char *b = replace_all(a, "@SYSCONFDIR@", "/etc");
    free(in);
    free(a);
    free(src);
    ck_assert_msg(!has_placeholder(b), "an @PLACEHOLDER@ is left in %s", name);
    return b;
}

static char *installed_unit_text(void)
{
    return unit_text("vomo-sync.service");
}

/* Lines of output that mention needle, joined, or NULL when there are none. */
static char *lines_mentioning(const char *output, const char *needle)
{
    struct buf b;
    buf_init(&b, 0);
    const char *line = output;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char *l = xstrndup(line, n);
        if (strstr(l, needle))
            ck_assert_int_eq(buf_printf(&b, "%s\n", l), 0);
        free(l);
        line += n + (end ? 1 : 0);
    }
    if (b.len == 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* Runs `systemd-analyze verify` on path; returns the result. */
static struct cmd_result verify(const char *analyze, const char *path)
{
    char *argv[] = {(char *)analyze,      (char *)"verify", (char *)"--man=no",
                    (char *)"--no-pager", (char *)path,     NULL};
    return run(argv);
}

/* Parses "Overall exposure level for NAME: 1.2 OK" from security output. */
static double exposure_of(const char *output)
{
    const char *p = strstr(output, "Overall exposure level for ");
    ck_assert_msg(p != NULL, "no exposure level in:\n%s", output);
    p = strstr(p, ": ");
    ck_assert_ptr_nonnull(p);
    char *end;
    errno = 0;
    double v = strtod(p + 2, &end);
    ck_assert_msg(errno == 0 && end != p + 2, "unreadable exposure level: %.40s", p);
    return v;
}

static double security_exposure(const char *analyze, const char *path)
{
    char *argv[] = {(char *)analyze,      (char *)"security", (char *)"--offline=true",
                    (char *)"--no-pager", (char *)path,       NULL};
    struct cmd_result r = run(argv);
    ck_assert_msg(r.status == 0, "systemd-analyze security exited %d:\n%s", r.status, r.output);
    double v = exposure_of(r.output);
    free(r.output);
    return v;
}

START_TEST(unit_passes_verify)
{
    char *analyze = find_program("systemd-analyze");
    if (!analyze) {
        printf("check_unit: systemd-analyze is not installed; unit not verified\n");
        return;
    }
    ck_assert_msg(access(VOMO_SYNC_BIN, X_OK) == 0,
                  "%s is not built: build the daemon before this suite", VOMO_SYNC_BIN);
    char *text = installed_unit_text();
    char *path = write_unit("vomo-sync.service", text);
    struct cmd_result r = verify(analyze, path);
    char *complaints = lines_mentioning(r.output, "vomo-sync");
    ck_assert_msg(r.status == 0, "systemd-analyze verify exited %d:\n%s", r.status, r.output);
    ck_assert_msg(complaints == NULL, "systemd-analyze verify complains:\n%s", complaints);
    free(r.output);
    free(path);
    free(text);
    free(analyze);
}
END_TEST

/* The optional socket unit verifies next to the service it activates. */
START_TEST(socket_unit_passes_verify)
{
    char *analyze = find_program("systemd-analyze");
    if (!analyze) {
        printf("check_unit: systemd-analyze is not installed; socket unit not verified\n");
        return;
    }
    char *text = installed_unit_text();
    char *service = write_unit("vomo-sync.service", text);
    char *sock;
    size_t len;
    ck_assert_int_eq(read_whole_file(SOURCE_ROOT "/systemd/vomo-sync.socket", 1 << 20, &sock, &len),
                     0);
    ck_assert_ptr_nonnull(strstr(sock, "ListenStream=127.0.0.1:9464\n"));
    char *path = write_unit("vomo-sync.socket", sock);
    struct cmd_result r = verify(analyze, path);
    char *complaints = lines_mentioning(r.output, "vomo-sync");
    ck_assert_msg(r.status == 0, "systemd-analyze verify exited %d:\n%s", r.status, r.output);
    ck_assert_msg(complaints == NULL, "systemd-analyze verify complains:\n%s", complaints);
    free(r.output);
    free(path);
    free(service);
    free(sock);
    free(text);
    free(analyze);
}
END_TEST

/* The verify check above can fail: a misspelt key is reported. */
START_TEST(verify_reports_a_broken_unit)
{
    char *analyze = find_program("systemd-analyze");
    if (!analyze) {
        printf("check_unit: systemd-analyze is not installed; skipped\n");
        return;
    }
    char *text = installed_unit_text();
    char *broken = replace_all(text, "ProtectSystem=strict", "ProtectSystme=strict");
    char *path = write_unit("vomo-sync.service", broken);
    struct cmd_result r = verify(analyze, path);
    char *complaints = lines_mentioning(r.output, "ProtectSystme");
    ck_assert_msg(complaints != NULL, "verify did not notice a misspelt key:\n%s", r.output);
    free(complaints);
    free(r.output);
    free(path);
    free(broken);
    free(text);
    free(analyze);
}
END_TEST

START_TEST(unit_exposure_is_at_most_2)
{
    char *analyze = find_program("systemd-analyze");
    if (!analyze) {
        printf("check_unit: systemd-analyze is not installed; exposure not measured\n");
        return;
    }
    char *text = installed_unit_text();
    char *path = write_unit("vomo-sync.service", text);
    double exposure = security_exposure(analyze, path);
    printf("check_unit: vomo-sync.service exposure level %.1f\n", exposure);
    ck_assert_msg(exposure <= 2.0, "exposure level %.1f is above 2.0", exposure);
    free(path);
    free(text);
    free(analyze);
}
END_TEST

/* The exposure gate can fail: a unit with no hardening rates far above 2.0. */
START_TEST(bare_unit_exposure_is_high)
{
    char *analyze = find_program("systemd-analyze");
    if (!analyze) {
        printf("check_unit: systemd-analyze is not installed; skipped\n");
        return;
    }
    char *path = write_unit("bare.service", "[Service]\nExecStart=/bin/true\n");
    double exposure = security_exposure(analyze, path);
    ck_assert_msg(exposure > 2.0, "a bare unit rated %.1f", exposure);
    free(path);
    free(analyze);
}
END_TEST

/* ---- the template unit for many instances ---- */

#define TEMPLATE "vomo-sync@.service"
#define INSTANCE "vomo-sync@shard1.service"

/* The template written to tmpdir; returns the path of an instance of it
 * (systemd-analyze loads the template for it and fills in %i). */
static char *write_template(const char *text)
{
    free(write_unit(TEMPLATE, text));
    return xasprintf("%s/%s", tmpdir, INSTANCE);
}

START_TEST(template_instance_passes_verify)
{
    char *analyze = find_program("systemd-analyze");
    if (!analyze) {
        printf("check_unit: systemd-analyze is not installed; template not verified\n");
        return;
    }
    char *text = unit_text(TEMPLATE);
    ck_assert_ptr_nonnull(strstr(text, "--config /etc/vomo-sync/%i.ini run\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nStateDirectory=vomo-sync/%i\n"));
    char *path = write_template(text);
    struct cmd_result r = verify(analyze, path);
    char *complaints = lines_mentioning(r.output, "vomo-sync");
    ck_assert_msg(r.status == 0, "systemd-analyze verify exited %d:\n%s", r.status, r.output);
    ck_assert_msg(complaints == NULL, "systemd-analyze verify complains:\n%s", complaints);
    free(r.output);
    /* The check can fail: a misspelt key in the template is reported. */
    char *broken = replace_all(text, "ProtectSystem=strict", "ProtectSystme=strict");
    free(write_template(broken));
    r = verify(analyze, path);
    complaints = lines_mentioning(r.output, "ProtectSystme");
    ck_assert_msg(complaints != NULL, "verify did not notice a misspelt key:\n%s", r.output);
    free(complaints);
    free(r.output);
    free(broken);
    free(path);
    free(text);
    free(analyze);
}
END_TEST

/* An instance is sandboxed like the single unit: every line of the main
 * unit's [Service] section is in the template, except the three that name
 * the instance, and the measured exposure is the same. */
START_TEST(template_is_hardened_like_the_main_unit)
{
    char *main_text = installed_unit_text();
    char *tmpl = unit_text(TEMPLATE);
    const char *line = strstr(main_text, "\n[Service]\n");
    ck_assert_ptr_nonnull(line);
    const char *end = strstr(line, "\n[Install]");
    for (line = line + 1; line < end;) {
        const char *eol = strchr(line, '\n');
        char *l = xstrndup(line, (size_t)(eol - line));
        bool own = strncmp(l, "ExecStart=", 10) == 0 || strncmp(l, "StateDirectory=", 15) == 0 ||
                   l[0] == '#' || l[0] == '\0';
        char *want = xasprintf("\n%s\n", l);
        ck_assert_msg(own || strstr(tmpl, want), "the template lacks '%s'", l);
        free(want);
        free(l);
        line = eol + 1;
    }
    char *analyze = find_program("systemd-analyze");
    if (analyze) {
        char *mpath = write_unit("vomo-sync.service", main_text);
        char *ipath = write_template(tmpl);
        double m = security_exposure(analyze, mpath);
        double t = security_exposure(analyze, ipath);
        printf("check_unit: vomo-sync@.service exposure level %.1f (vomo-sync.service %.1f)\n", t,
               m);
        ck_assert_msg(t <= m + 0.05, "template exposure %.1f above the main unit's %.1f", t, m);
        free(mpath);
        free(ipath);
        free(analyze);
    } else {
        printf("check_unit: systemd-analyze is not installed; exposure not measured\n");
    }
    free(tmpl);
    free(main_text);
}
END_TEST

/* ---- manual pages ---- */

static const char *const man_pages[] = {"vomo-sync.8", "vomo-sync.ini.5"};

/* groff's (and man's, when installed) complaints about page, or NULL. */
static char *render_warnings(const char *groff, const char *man, const char *page)
{
    struct buf all;
    buf_init(&all, 0);
    if (groff) {
        char *argv[] = {(char *)groff, (char *)"-man", (char *)"-ww",
                        (char *)"-z",  (char *)page,   NULL};
        struct cmd_result r = run(argv);
        if (r.status != 0 || r.output[0])
            ck_assert_int_eq(buf_printf(&all, "groff exit %d: %s", r.status, r.output), 0);
        free(r.output);
    }
    if (man) {
        char *argv[] = {(char *)man, (char *)"--warnings", (char *)"-l", (char *)page, NULL};
        const char *env[] = {"MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", NULL};
        struct cmd_result r = run_env(argv, env, true);
        if (r.status != 0 || r.output[0])
            ck_assert_int_eq(buf_printf(&all, "man exit %d: %s", r.status, r.output), 0);
        free(r.output);
    }
    if (all.len == 0) {
        buf_free(&all);
        return NULL;
    }
    return buf_steal(&all);
}

START_TEST(man_pages_render_without_warnings)
{
    char *groff = find_program("groff");
    char *man = find_program("man");
    if (!groff && !man) {
        printf("check_unit: neither groff nor man is installed; pages not rendered\n");
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(man_pages); i++) {
        char *page = xasprintf("%s/man/%s", SOURCE_ROOT, man_pages[i]);
        ck_assert_msg(access(page, R_OK) == 0, "%s is missing", page);
        char *warnings = render_warnings(groff, man, page);
        ck_assert_msg(warnings == NULL, "%s:\n%s", man_pages[i], warnings);
        free(page);
    }
    free(groff);
    free(man);
}
END_TEST

/* The render check can fail: an undefined macro is reported. */
START_TEST(render_check_reports_a_broken_page)
{
    char *groff = find_program("groff");
    char *man = find_program("man");
    if (!groff && !man) {
        printf("check_unit: neither groff nor man is installed; skipped\n");
        return;
    }
    char *page = write_unit("broken.8", ".TH BROKEN 8\n.SH NAME\nbroken \\- test\n.XX oops\n");
    char *warnings = render_warnings(groff, man, page);
    ck_assert_msg(warnings != NULL && strstr(warnings, "XX"), "no warning for an undefined macro");
    free(warnings);
    free(page);
    free(groff);
    free(man);
}
END_TEST

static char *read_page(const char *name)
{
    char *path = xasprintf("%s/man/%s", SOURCE_ROOT, name);
    char *text;
    size_t len;
    ck_assert_msg(read_whole_file(path, 1 << 20, &text, &len) == 0, "cannot read %s", path);
    free(path);
    return text;
}

/* Every configuration key (include/config.h, ARCHITECTURE.md), by section. */
static const char *const config_keys[][2] = {
    {"daemon", "state_db"},
    {"daemon", "log_level"},
    {"daemon", "log_format"},
    {"daemon", "shutdown_timeout"},
    {"daemon", "litestream"},
    {"daemon", "litestream_wal_max"},
    {"vomo", "base_url"},
    {"vomo", "request_timeout"},
    {"vomo", "connect_timeout"},
    {"vomo", "max_concurrency"},
    {"vomo", "max_response_size"},
    {"poll", "interval"},
    {"poll", "reconcile_interval"},
    {"poll", "jitter"},
    {"poll", "safety_margin"},
    {"poll", "scan_passes"},
    {"retry", "max_attempts"},
    {"retry", "base_delay"},
    {"retry", "max_delay"},
    {"retry", "budget"},
    {"retry", "budget_cost"},
    {"retry", "budget_refill"},
    {"breaker", "failure_threshold"},
    {"breaker", "open_timeout"},
    {"dlq", "interval"},
    {"dlq", "max_attempts"},
    {"dlq", "base_delay"},
    {"dlq", "max_delay"},
    {"dlq", "batch_size"},
    {"webhook", "timeout"},
    {"webhook", "max_concurrency"},
    {"http", "listen"},
    {"alerts", "webhook_url"},
    {"alerts", "webhook_secret_file"},
    {"alerts", "alertmanager_url"},
    {"tenant.NAME", "token_file"},
    {"tenant.NAME", "resources"},
    {"tenant.NAME", "destination"},
    {"tenant.NAME", "checkpoint_mode"},
    {"tenant.NAME", "webhook_url"},
    {"tenant.NAME", "webhook_secret_file"},
};

/* True when the page's ".SH [section]" part has a ".BR key " entry. */
static bool section_documents(const char *page, const char *section, const char *key)
{
    char *head = xasprintf("\n.SH [%s]\n", section);
    const char *start = strstr(page, head);
    free(head);
    if (!start)
        return false;
    start += 1;
    const char *end = strstr(start, "\n.SH ");
    char *entry = xasprintf("\n.BR %s ", key);
    const char *hit = strstr(start, entry);
    free(entry);
    return hit && (!end || hit < end);
}

START_TEST(ini_page_documents_every_key)
{
    char *page = read_page("vomo-sync.ini.5");
    for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
        ck_assert_msg(section_documents(page, config_keys[i][0], config_keys[i][1]),
                      "vomo-sync.ini(5) does not document [%s] %s", config_keys[i][0],
                      config_keys[i][1]);
    ck_assert(!section_documents(page, "daemon", "no_such_key"));
    free(page);
}
END_TEST

START_TEST(command_page_documents_every_command)
{
    static const char *const commands[] = {
        "run",
        "check-config",
        "migrate",
        "status",
        "dlq list",
        "dlq show",
        "dlq retry",
        "dlq resolve",
        "dlq discard",
        "dlq purge",
        "checkpoint show",
        "checkpoint reset",
        "reconcile allow",
        "alerts",
        "resume",
        "write",
        "outbox list",
        "outbox show",
        "outbox retry",
        "outbox cancel",
        "outbox purge",
    };
    static const char *const sections[] = {"SIGNALS", "EXIT STATUS",         "ENVIRONMENT",
                                           "FILES",   "SYSTEMD INTEGRATION", "SEE ALSO"};
    char *page = read_page("vomo-sync.8");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        char *head = xasprintf("\n.SS %s", commands[i]);
        ck_assert_msg(strstr(page, head), "vomo-sync(8) does not document '%s'", commands[i]);
        free(head);
    }
    for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
        char *head = xasprintf("\n.SH %s\n", sections[i]);
        ck_assert_msg(strstr(page, head), "vomo-sync(8) has no %s section", sections[i]);
        free(head);
    }
    free(page);
}
END_TEST

/* The unit's Documentation= pages resolve once installed: verify with its
 * man page check on, and MANPATH pointing at the pages of this tree. */
START_TEST(unit_documentation_pages_resolve)
{
    char *analyze = find_program("systemd-analyze");
    char *man = find_program("man");
    if (!analyze || !man) {
        printf("check_unit: systemd-analyze or man is not installed; links not checked\n");
        free(analyze);
        free(man);
        return;
    }
    char *mandir = xasprintf("%s/man", tmpdir);
    ck_assert_int_eq(mkdir(mandir, 0700), 0);
    const char *sub[] = {"man8", "man5"};
    for (size_t i = 0; i < ARRAY_SIZE(man_pages); i++) {
        char *d = xasprintf("%s/%s", mandir, sub[i]);
        char *src = xasprintf("%s/man/%s", SOURCE_ROOT, man_pages[i]);
        char *dst = xasprintf("%s/%s", d, man_pages[i]);
        ck_assert_int_eq(mkdir(d, 0700), 0);
        ck_assert_int_eq(symlink(src, dst), 0);
        free(d);
        free(src);
        free(dst);
    }
    char *text = installed_unit_text();
    char *path = write_unit("vomo-sync.service", text);
    char *manpath = xasprintf("MANPATH=%s", mandir);
    const char *env[] = {manpath, NULL};
    char *argv[] = {analyze, (char *)"verify", (char *)"--man=yes", (char *)"--no-pager", path,
                    NULL};
    struct cmd_result r = run_env(argv, env, false);
    char *complaints = lines_mentioning(r.output, "vomo-sync");
    ck_assert_msg(r.status == 0 && complaints == NULL, "verify --man=yes exited %d:\n%s", r.status,
                  r.output);
    free(r.output);
    free(manpath);
    free(path);
    free(text);
    free(mandir);
    free(analyze);
    free(man);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("unit");
    TCase *tc = tcase_create("systemd-analyze");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unit_passes_verify);
    tcase_add_test(tc, socket_unit_passes_verify);
    tcase_add_test(tc, verify_reports_a_broken_unit);
    tcase_add_test(tc, unit_exposure_is_at_most_2);
    tcase_add_test(tc, bare_unit_exposure_is_high);
    tcase_add_test(tc, unit_documentation_pages_resolve);
    tcase_add_test(tc, template_instance_passes_verify);
    tcase_add_test(tc, template_is_hardened_like_the_main_unit);
    suite_add_tcase(s, tc);
    TCase *man = tcase_create("man");
    tcase_set_timeout(man, 30);
    tcase_add_checked_fixture(man, setup, teardown);
    tcase_add_test(man, man_pages_render_without_warnings);
    tcase_add_test(man, render_check_reports_a_broken_page);
    tcase_add_test(man, ini_page_documents_every_key);
    tcase_add_test(man, command_page_documents_every_command);
    suite_add_tcase(s, man);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(unit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
