/*
 * main.c - parses the global options and dispatches to one command.
 * `--config FILE` is accepted before or after the command word; everything
 * else belongs to the command's own handler (see cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "store.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv, const char *config_path);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "run the daemon in the foreground (systemd Type=notify)"},
    {"check-config", cmd_check_config, "validate the configuration and print it, secrets redacted"},
    {"migrate", cmd_migrate, "create or upgrade the state database, then exit"},
    {"status", cmd_status, "checkpoints, last scans, DLQ counts and breaker states"},
    {"dlq", cmd_dlq, "list, show, retry, resolve, discard or purge dead letters"},
    {"checkpoint", cmd_checkpoint, "show or reset checkpoints"},
    {"write", cmd_write, "queue a write to VOMO (users, groups, projects) in the outbox"},
    {"outbox", cmd_outbox, "list, show, retry, cancel or purge writes to VOMO"},
    {"reconcile", cmd_reconcile, "allow deletions a reconciliation refused to make"},
    {"alerts", cmd_alerts, "list the built-in alerts firing (or --all recent ones)"},
    {"resume", cmd_resume, "send a tenant's writes again after its error budget paused them"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vomo-sync [--config FILE] COMMAND [ARGS...]\n"
                 "       vomo-sync --help | --version\n\n"
                 "Keeps an organization's systems in step with VOMO.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\noptions:\n"
            "  --config FILE  configuration file (default $VOMO_SYNC_CONFIG, else %s)\n"
            "  --help         this text; `vomo-sync COMMAND --help` for a command\n"
            "  --version      print the version\n\n"
            "exit status: 0 ok, 1 runtime failure, 2 usage or configuration error\n",
            CFG_DEFAULT_PATH);
}

/*
 * Removes every "--config FILE" / "--config=FILE" from argv (in place) and
 * returns the last one given, or NULL.  Returns "" on a missing argument.
 */
static const char *take_config(int *argc, char **argv)
{
    const char *path = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) {
            if (i + 1 >= *argc)
                return "";
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return path;
}

int main(int argc, char **argv)
{
    /* One thread uses SQLite here (libcurl's resolver threads never do). */
    (void)store_single_thread();
    const char *config_path = take_config(&argc, argv);
    if (config_path && !*config_path) {
        fprintf(stderr, "vomo-sync: --config needs a file name\n");
        return EXIT_USAGE;
    }
    if (!config_path)
        config_path = getenv("VOMO_SYNC_CONFIG");
    if (!config_path || !*config_path)
        config_path = CFG_DEFAULT_PATH;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("vomo-sync %s\n", VOMO_SYNC_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1, config_path);
    fprintf(stderr, "vomo-sync: unknown command '%s' (see vomo-sync --help)\n", argv[1]);
    return EXIT_USAGE;
}
