/*
 * cli_checkpoint.c - `vomo-sync checkpoint show|reset`: inspect where each
 * tenant/resource scan resumes, or rewind one (to the epoch for a full
 * backfill, or to a given time) so the next scan re-reads what changed since.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "store.h"

static const char checkpoint_usage[] =
    "usage: vomo-sync [--config FILE] checkpoint show [--tenant T] [--json] [--db FILE]\n"
    "       vomo-sync [--config FILE] checkpoint reset TENANT RESOURCE [--to ISO8601] "
    "[--db FILE]\n\n"
    "show   every checkpoint: where the next scan of each tenant/resource resumes\n"
    "       (updated_after), and when it last scanned.\n"
    "reset  moves one checkpoint back: to the epoch by default (a full backfill), or\n"
    "       to --to TIME (any ISO 8601 time, e.g. 2026-11-01T00:00:00Z).  Records are\n"
    "       re-read, not re-sent when unchanged.  The daemon may keep running: a\n"
    "       scan in progress ends without moving the checkpoint (it says so in its\n"
    "       log), and the next scan starts from the new value.\n\n"
    "options:\n"
    "  --tenant T  only this tenant\n"
    "  --json      print one JSON array\n"
    "  --to TIME   the new checkpoint (default 1970-01-01T00:00:00.000Z)\n"
    "  --db FILE   use this database file instead of the configured state_db\n"
    "  --help      this text\n";

struct ck_opts {
    const char *db, *tenant, *to;
    int json;
};

/* Parses options of both subcommands; returns -1 to go on, else an exit code. */
static int parse_opts(int argc, char **argv, struct ck_opts *o)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"tenant", required_argument, NULL, 't'},
        {"to", required_argument, NULL, 'o'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},     {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(checkpoint_usage, stdout);
            return EXIT_OK;
        case 'd':
            o->db = optarg;
            break;
        case 't':
            o->tenant = optarg;
            break;
        case 'o':
            o->to = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case ':':
            return cli_usage_error(checkpoint_usage, "checkpoint: %s needs a value",
                                   argv[optind - 1]);
        default:
            return cli_usage_error(checkpoint_usage, "checkpoint: bad option '%s'",
                                   argv[optind - 1]);
        }
    }
    return -1;
}

static int show(struct store *s, const struct ck_opts *o)
{
    const char *params[] = {o->tenant};
    cJSON *rows = NULL;
    if (cli_query(s,
                  "SELECT tenant, resource, updated_after, last_scan_at, last_scan_status, "
                  "last_full_scan_at, updated_at FROM checkpoints "
                  "WHERE ?1 IS NULL OR tenant = ?1 ORDER BY tenant, resource",
                  params, 1, &rows) < 0)
        return EXIT_RUNTIME;
    static const char *const cols[] = {"tenant",       "resource",         "updated_after",
                                       "last_scan_at", "last_scan_status", "last_full_scan_at"};
    if (o->json)
        cli_print_json(stdout, rows);
    else if (cJSON_GetArraySize(rows) == 0)
        printf("no checkpoints yet: every resource starts with a full backfill\n");
    else
        cli_table(stdout, rows, cols, ARRAY_SIZE(cols));
    cJSON_Delete(rows);
    return EXIT_OK;
}

static int reset(struct store *s, const char *tenant, const char *resource, const char *to)
{
    char old[TS_LEN], now[TS_LEN];
    cli_now(now);
    if (store_checkpoint_reset(s, tenant, resource, to, now, old) < 0)
        return cli_fail("%s", store_errmsg(s));
    printf("checkpoint %s/%s: %s -> %s\n", tenant, resource, old, to);
    /* A running scan compares the reset count when it ends (scan_end.c). */
    printf("reset; a running scan will not overwrite it: the next scan of %s/%s starts from "
           "%s\n",
           tenant, resource, to);
    return EXIT_OK;
}

/* Checks reset's arguments: a known resource, a parseable time, and (with a
 * configuration) a configured tenant. */
static int check_reset_args(int argc, char **argv, const struct ck_opts *o, char to[TS_LEN])
{
    enum resource r;
    if (argc - optind != 2)
        return cli_usage_error(checkpoint_usage, "checkpoint reset needs TENANT and RESOURCE");
    if (resource_parse(argv[optind + 1], &r) < 0)
        return cli_usage_error(checkpoint_usage,
                               "checkpoint reset: unknown resource '%s' (users, groups, projects)",
                               argv[optind + 1]);
    if (o->to && ts_normalise(o->to, to) < 0)
        return cli_usage_error(checkpoint_usage,
                               "checkpoint reset: --to '%s' is not an ISO 8601 time "
                               "(e.g. 2026-11-01T00:00:00Z)",
                               o->to);
    if (!o->to)
        ts_format(0, to);
    return -1;
}

int cmd_checkpoint(int argc, char **argv, const char *config_path)
{
    struct ck_opts o = {0};
    cli_init();
    if (argc < 2)
        return cli_usage_error(checkpoint_usage, "checkpoint: say show or reset");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(checkpoint_usage, stdout);
        return EXIT_OK;
    }
    int is_show = strcmp(sub, "show") == 0;
    if (!is_show && strcmp(sub, "reset") != 0)
        return cli_usage_error(checkpoint_usage, "checkpoint: unknown subcommand '%s'", sub);
    int rc = parse_opts(argc - 1, argv + 1, &o);
    if (rc >= 0)
        return rc;
    char to[TS_LEN];
    optind++; /* parse_opts saw argv + 1 */
    if (is_show && optind < argc)
        return cli_usage_error(checkpoint_usage, "checkpoint show: unexpected argument '%s'",
                               argv[optind]);
    if (!is_show && (rc = check_reset_args(argc, argv, &o, to)) >= 0)
        return rc;
    struct config *cfg = NULL;
    char *path = NULL;
    struct store *s = NULL;
    rc = cli_db_path(o.db, config_path, &path, &cfg);
    if (rc == 0 && !is_show && cfg && !cfg_tenant(cfg, argv[optind]))
        rc = cli_usage_error(checkpoint_usage, "checkpoint reset: no tenant '%s' in %s",
                             argv[optind], config_path);
    if (rc == 0)
        rc = cli_open(path, &s);
    if (rc == 0)
        rc = is_show ? show(s, &o) : reset(s, argv[optind], argv[optind + 1], to);
    store_close(s);
    cfg_free(cfg);
    free(path);
    return rc;
}
