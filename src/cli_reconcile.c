/*
 * cli_reconcile.c - `vomo-sync reconcile allow TENANT RESOURCE`: a person's
 * answer to a reconciliation that refused to delete.  A reconciliation that
 * finds more records missing from VOMO than it may delete at once
 * (poll.reconcile_max_deletes, or a tenth of those held) deletes nothing
 * and leaves a row in reconcile_blocks; once a person has checked in VOMO
 * that the deletions are real, this lets the next reconciliation of that
 * resource make up to that many (each still confirmed by a 404).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "store.h"

static const char reconcile_usage[] =
    "usage: vomo-sync [--config FILE] reconcile allow TENANT RESOURCE [--db FILE]\n\n"
    "allow  a reconciliation found more records missing from VOMO than it may delete\n"
    "       at once (poll.reconcile_max_deletes, or a tenth of those held) and deleted\n"
    "       nothing; `vomo-sync status` shows it.  Once you have checked in VOMO that\n"
    "       these records are really gone, this lets the next reconciliation of\n"
    "       TENANT/RESOURCE delete up to that many.  Each is still read back first and\n"
    "       deleted only when VOMO answers 404; if more are missing by then, it\n"
    "       refuses again.\n\n"
    "options:\n"
    "  --db FILE   use this database file instead of the configured state_db\n"
    "  --help      this text\n";

static int allow(struct store *s, const char *tenant, const char *resource)
{
    char actor[64], now[TS_LEN];
    cli_actor(actor);
    cli_now(now);
    if (store_reconcile_allow(s, tenant, resource, actor, now) < 0)
        return cli_fail("%s", store_errmsg(s));
    printf("reconciliation of %s/%s: the next one may delete the records it found missing\n",
           tenant, resource);
    return EXIT_OK;
}

int cmd_reconcile(int argc, char **argv, const char *config_path)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *db = NULL;
    int c;
    cli_init();
    if (argc < 2)
        return cli_usage_error(reconcile_usage, "reconcile: say allow");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(reconcile_usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(sub, "allow") != 0)
        return cli_usage_error(reconcile_usage, "reconcile: unknown subcommand '%s'", sub);
    opterr = 0;
    while ((c = getopt_long(argc - 1, argv + 1, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(reconcile_usage, stdout);
            return EXIT_OK;
        }
        if (c != 'd')
            return cli_usage_error(reconcile_usage, "reconcile: bad option '%s'", argv[optind]);
        db = optarg;
    }
    char **pos = argv + 1 + optind;
    enum resource r;
    if (argc - 1 - optind != 2)
        return cli_usage_error(reconcile_usage, "reconcile allow needs TENANT and RESOURCE");
    if (resource_parse(pos[1], &r) < 0)
        return cli_usage_error(reconcile_usage,
                               "reconcile allow: unknown resource '%s' (users, groups, projects)",
                               pos[1]);
    char *path = NULL;
    struct store *s = NULL;
    int rc = cli_db_path(db, config_path, &path, NULL);
    if (rc == 0)
        rc = cli_open(path, &s);
    if (rc == 0)
        rc = allow(s, pos[0], pos[1]);
    store_close(s);
    free(path);
    return rc;
}
