/*
 * clirun.c - running the vomo-sync binary for the CLI suites (see
 * clirun.h).
 */
#include "clirun.h"

#include <check.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "util.h"

extern char **environ;

static char *slurp(const char *p)
{
    char *data = NULL;
    size_t len = 0;
    if (read_whole_file(p, 1 << 20, &data, &len) < 0)
        return xstrdup("");
    return data;
}

struct clirun clirun_argv(const char *cfg_path, const char *in_path, const char *out_path,
                          const char *err_path, const char *const *args)
{
    const char *argv[32] = {VOMO_SYNC_BIN, "--config", cfg_path};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in_path)
        posix_spawn_file_actions_addopen(&fa, 0, in_path, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, VOMO_SYNC_BIN, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    struct clirun r = {.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

void clirun_free(struct clirun *r)
{
    free(r->out);
    free(r->err);
}
