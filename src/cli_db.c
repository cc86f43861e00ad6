/*
 * cli_db.c - `vomo-sync migrate`: creates the state database or upgrades
 * its schema to the one this binary embeds, then exits.  The daemon does the
 * same at start; this command is for operators who upgrade deliberately.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "store.h"

static const char migrate_usage[] =
    "usage: vomo-sync [--config FILE] migrate [--db FILE]\n\n"
    "Creates the state database named by state_db in the configuration, or upgrades\n"
    "its schema to the version this vomo-sync knows, then exits.  A database newer\n"
    "than this vomo-sync is left untouched (upgrade vomo-sync instead).\n\n"
    "options:\n"
    "  --db FILE  use this database file instead of the configured state_db\n"
    "  --help     this text\n";

static int migrate_path(const char *path)
{
    struct store *s = NULL;
    int from = 0, to = 0;
    if (store_open(path, &s) < 0)
        return cli_fail("%s", store_errmsg(NULL));
    int rc = store_migrate(s, &from, &to);
    if (rc < 0) {
        cli_fail("%s", store_errmsg(s));
        store_close(s);
        return EXIT_RUNTIME;
    }
    store_close(s);
    if (from == to)
        printf("state database %s: already at version %d\n", path, to);
    else
        printf("state database %s: schema version %d -> %d\n", path, from, to);
    return EXIT_OK;
}

int cmd_migrate(int argc, char **argv, const char *config_path)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *db = NULL;
    int c;
    cli_init();
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(migrate_usage, stdout);
            return EXIT_OK;
        }
        if (c == 'd')
            db = optarg;
        else
            return cli_usage_error(migrate_usage, "migrate: bad option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error(migrate_usage, "migrate: unexpected argument '%s'", argv[optind]);
    char *path = NULL;
    int rc = cli_db_path(db, config_path, &path, NULL);
    if (rc == 0)
        rc = migrate_path(path);
    free(path);
    return rc;
}
