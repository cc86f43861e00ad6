/*
 * cli_alerts.c - `vomo-sync alerts [--all] [--json]`: the built-in alerts
 * as the running daemon's evaluator recorded them in the state database
 * (one row of `alerts` per episode): those firing now, or with --all every
 * episode of the last 8 days as well.  Read-only; works without a daemon.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"

#define ALL_DAYS 8
#define ALL_LIMIT "1000"

static const char alerts_usage[] =
    "usage: vomo-sync [--config FILE] alerts [--all] [--json] [--db FILE]\n\n"
    "Lists the built-in alerts firing now (VomoServerErrors, TenantFailing,\n"
    "ErrorClassSpike, DlqGrowthAccelerating, PollingLag, TenantStopped,\n"
    "ErrorBudgetBurn), as the running daemon recorded them: one row per episode.\n\n"
    "options:\n"
    "  --all       also the episodes of the last 8 days that have resolved (newest\n"
    "              first, at most 1000)\n"
    "  --json      one JSON array instead of a table\n"
    "  --db FILE   use this database file instead of the configured state_db\n"
    "  --help      this text\n";

static const char firing_sql[] =
    "SELECT id, name, tenant, resource, severity, state, started_at, resolved_at, summary "
    "FROM alerts WHERE state = 'firing' ORDER BY started_at, id";
static const char all_sql[] =
    "SELECT id, name, tenant, resource, severity, state, started_at, resolved_at, summary "
    "FROM alerts WHERE state = 'firing' OR started_at >= ?1 "
    "ORDER BY started_at DESC, id DESC LIMIT " ALL_LIMIT;

static int list(struct store *s, bool all, bool json)
{
    char since[TS_LEN];
    ts_format(clock_wall_ms() - (int64_t)ALL_DAYS * 24 * 3600 * 1000, since);
    const char *const params[] = {since};
    cJSON *rows = NULL;
    if (cli_query(s, all ? all_sql : firing_sql, params, all ? 1 : 0, &rows) < 0)
        return cli_fail("%s", store_errmsg(s));
    if (json) {
        cli_print_json(stdout, rows);
    } else if (cJSON_GetArraySize(rows) == 0) {
        printf(all ? "no alert in the last %d days\n" : "no alert firing\n", ALL_DAYS);
    } else {
        static const char *const cols[] = {"id",         "name",        "tenant",
                                           "resource",   "severity",    "state",
                                           "started_at", "resolved_at", "summary"};
        cli_table(stdout, rows, cols, ARRAY_SIZE(cols));
    }
    cJSON_Delete(rows);
    return EXIT_OK;
}

int cmd_alerts(int argc, char **argv, const char *config_path)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL;
    bool all = false, json = false;
    int c;
    cli_init();
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(alerts_usage, stdout);
            return EXIT_OK;
        }
        if (c == 'a')
            all = true;
        else if (c == 'j')
            json = true;
        else if (c == 'd')
            db = optarg;
        else
            return cli_usage_error(alerts_usage, "alerts: bad option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error(alerts_usage, "alerts: unexpected argument '%s'", argv[optind]);
    char *path = NULL;
    struct store *s = NULL;
    int rc = cli_db_path(db, config_path, &path, NULL);
    if (rc == 0)
        rc = cli_open(path, &s);
    if (rc == 0)
        rc = list(s, all, json);
    store_close(s);
    free(path);
    return rc;
}
