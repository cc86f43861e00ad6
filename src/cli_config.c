/*
 * cli_config.c - the `check-config` command: loads the configuration the
 * way the daemon would (token and secret files included), prints warnings
 * to stderr, then either the effective configuration (secrets redacted) to
 * stdout with exit 0, or every error as "FILE:LINE: section.key: message"
 * to stderr with exit 2.  An operator runs it before a restart or SIGHUP.
 * It also warns about the other INI files of the folder (other instances)
 * that configure the same tenant token or the same state database.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vomo-sync [--config FILE] check-config [--quiet]\n\n"
                 "Validates the configuration file and the token and secret files it names,\n"
                 "then prints the effective configuration (secrets redacted).  Warns when\n"
                 "another *.ini file in the same folder (another instance) configures the\n"
                 "same tenant token or the same state database.\n\n"
                 "options:\n"
                 "  --quiet   print nothing when the configuration is valid\n"
                 "  --help    this text\n\n"
                 "exit status: 0 valid, 2 invalid (each error on stderr as FILE:LINE: KEY: "
                 "MESSAGE)\n");
}

int cmd_check_config(int argc, char **argv, const char *config_path)
{
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            quiet = 1;
        } else {
            fprintf(stderr, "vomo-sync check-config: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    struct config *cfg;
    struct cfg_errors errs;
    int rc = cfg_load(config_path, 0, &cfg, &errs);
    if (rc == 0)
        cfg_check_siblings(cfg, &errs);
    cfg_errors_print(&errs, stderr);
    if (rc == 0 && !quiet)
        cfg_print(cfg, stdout);
    if (rc < 0)
        fprintf(stderr, "vomo-sync: %s: %zu error%s\n", config_path, errs.count,
                errs.count == 1 ? "" : "s");
    cfg_errors_free(&errs);
    cfg_free(cfg);
    return rc == 0 ? EXIT_OK : EXIT_USAGE;
}
