/*
 * clirun.h - the CLI suites' way to run the real vomo-sync binary
 * (VOMO_SYNC_BIN) as a user would and keep what it printed: the command
 * line is `vomo-sync --config CFG ARGS...`, stdout and stderr go through
 * files the suite names and are read back whole (up to 1 MiB each).
 */
#ifndef VOMO_CLIRUN_H
#define VOMO_CLIRUN_H

struct clirun {
    int code;  /* exit status, or 128 + the signal that ended it */
    char *out; /* what it printed, "" when nothing; freed by clirun_free */
    char *err;
};

/* Runs to completion; in_path (NULL: inherited) is its stdin.  args is
 * NULL-terminated, at most 28 of them.  A failed spawn fails the test. */
struct clirun clirun_argv(const char *cfg_path, const char *in_path, const char *out_path,
                          const char *err_path, const char *const *args);
void clirun_free(struct clirun *r);

#endif
