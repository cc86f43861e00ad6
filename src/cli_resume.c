/*
 * cli_resume.c - `vomo-sync resume TENANT`: an operator's answer to an
 * error budget that paused a tenant's writes (slo.pause_on_exhausted =
 * writes).  The CLI is another process than the daemon, so it leaves a
 * row in slo_resumes; the running daemon's alert evaluator reads it at its
 * next evaluation ([alerts] interval) and sends the tenant's writes again.
 * The pause does not come back before the budget's consumption has fallen
 * below 100% once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "store_alerts.h"

static const char resume_usage[] =
    "usage: vomo-sync [--config FILE] resume TENANT [--db FILE]\n\n"
    "Sends the writes of TENANT to VOMO again after its exhausted error budget\n"
    "paused them ([slo] pause_on_exhausted = writes).  The running daemon picks\n"
    "this up at its next alert evaluation ([alerts] interval); the pause comes back\n"
    "only once the budget's consumption has fallen below 100% and exceeded 200%\n"
    "again.  Reads are never paused.\n\n"
    "options:\n"
    "  --db FILE   use this database file instead of the configured state_db\n"
    "  --help      this text\n";

static int resume(struct store *s, const char *tenant)
{
    char actor[64];
    cli_actor(actor);
    if (store_slo_resume_request(s, tenant, actor, clock_wall_ms()) < 0)
        return cli_fail("%s", store_errmsg(s));
    const char *const params[] = {tenant};
    cJSON *rows = NULL;
    const char *action = NULL;
    if (cli_query(s, "SELECT action FROM slo_status WHERE tenant = ?1", params, 1, &rows) == 0) {
        const cJSON *a = cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "action");
        action = cJSON_IsString(a) ? a->valuestring : NULL;
    }
    printf("tenant %s: resume recorded; the running daemon sends its writes again at its next "
           "alert evaluation%s\n",
           tenant,
           action && strcmp(action, "writes_paused") != 0
               ? " (its writes are not paused now: nothing changes until they are)"
               : "");
    cJSON_Delete(rows);
    return EXIT_OK;
}

int cmd_resume(int argc, char **argv, const char *config_path)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *db = NULL;
    int c;
    cli_init();
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(resume_usage, stdout);
            return EXIT_OK;
        }
        if (c != 'd')
            return cli_usage_error(resume_usage, "resume: bad option '%s'", argv[optind - 1]);
        db = optarg;
    }
    if (argc - optind != 1)
        return cli_usage_error(resume_usage, "resume needs one TENANT");
    const char *tenant = argv[optind];
    char *path = NULL;
    struct store *s = NULL;
    struct config *cfg = NULL;
    int rc = cli_db_path(db, config_path, &path, db ? NULL : &cfg);
    if (rc == 0 && cfg && !cfg_tenant(cfg, tenant))
        rc = cli_usage_error(resume_usage, "resume: no tenant '%s' in %s", tenant, cfg->path);
    if (rc == 0)
        rc = cli_open(path, &s);
    if (rc == 0)
        rc = resume(s, tenant);
    store_close(s);
    cfg_free(cfg);
    free(path);
    return rc;
}
