/*
 * cli_outbox.c - `vomo-sync outbox`: the operator's side of the writes to
 * VOMO.  list and show read; retry and cancel change one row and write an
 * outbox_events row naming the Unix user (with the write's dlq row, if it
 * has one, following); purge deletes done and cancelled rows past an age.
 * A running daemon picks a retried row up on its next outbox tick.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "store_outbox.h"

static const char outbox_usage[] =
    "usage: vomo-sync [--config FILE] outbox SUBCOMMAND [OPTIONS] [--db FILE]\n\n"
    "  list [--state S] [--tenant T] [--limit N] [--json]\n"
    "        writes as a table (id, tenant, resource, op, target_id, state, attempts,\n"
    "        next_attempt_at, remote_id).  By default the ones not finished (pending,\n"
    "        in_flight, unknown, manual_review); --state pending|in_flight|unknown|\n"
    "        done|manual_review|cancelled|all picks others.\n"
    "  show ID [--json]     every column of one write and its history\n"
    "  retry ID             makes a write due now (attempts are kept); one whose\n"
    "                       outcome may be unknown is searched for in VOMO first\n"
    "  cancel ID [--note TEXT]\n"
    "                       gives up a write that is not being sent right now\n"
    "  purge --done [--older-than AGE] [--dry-run]\n"
    "        deletes done and cancelled writes last changed more than AGE ago\n"
    "        (default 30d) with their history.  Open writes are never purged.\n\n"
    "options:\n"
    "  --json      print JSON (list: one array; show: one object)\n"
    "  --db FILE   use this database file instead of the configured state_db\n"
    "  --help      this text\n";

struct ob_opts {
    const char *db, *state, *tenant, *limit, *note, *older_than;
    int json, done, dry_run;
};

static int parse_opts(int argc, char **argv, struct ob_opts *o)
{
    enum { O_DB = 256, O_STATE, O_TENANT, O_LIMIT, O_NOTE, O_OLDER, O_JSON, O_DONE, O_DRY };
    static const struct option opts[] = {{"db", required_argument, NULL, O_DB},
                                         {"state", required_argument, NULL, O_STATE},
                                         {"tenant", required_argument, NULL, O_TENANT},
                                         {"limit", required_argument, NULL, O_LIMIT},
                                         {"note", required_argument, NULL, O_NOTE},
                                         {"older-than", required_argument, NULL, O_OLDER},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"done", no_argument, NULL, O_DONE},
                                         {"dry-run", no_argument, NULL, O_DRY},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char **str_of[] = {[O_DB - O_DB] = &o->db,         [O_STATE - O_DB] = &o->state,
                             [O_TENANT - O_DB] = &o->tenant, [O_LIMIT - O_DB] = &o->limit,
                             [O_NOTE - O_DB] = &o->note,     [O_OLDER - O_DB] = &o->older_than};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(outbox_usage, stdout);
            return EXIT_OK;
        }
        if (c == ':')
            return cli_usage_error(outbox_usage, "outbox: %s needs a value", argv[optind - 1]);
        if (c == '?')
            return cli_usage_error(outbox_usage, "outbox: bad option '%s'", argv[optind - 1]);
        if (c <= O_OLDER)
            *str_of[c - O_DB] = optarg;
        else if (c == O_JSON)
            o->json = 1;
        else if (c == O_DONE)
            o->done = 1;
        else
            o->dry_run = 1;
    }
    return -1;
}

static int valid_state(const char *s)
{
    static const char *const ok[] = {"pending",       "in_flight", "unknown", "done",
                                     "manual_review", "cancelled", "all"};
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
        if (strcmp(s, ok[i]) == 0)
            return 1;
    return 0;
}

static int ob_list(struct store *s, const struct ob_opts *o)
{
    const char *params[] = {o->state ? o->state : "open", o->tenant, o->limit ? o->limit : "-1"};
    cJSON *rows = NULL;
    if (cli_query(s,
                  "SELECT id, tenant, resource, op, target_id, state, attempts, next_attempt_at, "
                  "remote_id, last_http_status, error_class, last_error, op_key, created_at, "
                  "updated_at FROM outbox WHERE (?1 = 'all' OR state = ?1 OR (?1 = 'open' AND "
                  "state NOT IN ('done', 'cancelled'))) AND (?2 IS NULL OR tenant = ?2) "
                  "ORDER BY id LIMIT CAST(?3 AS INTEGER)",
                  params, ARRAY_SIZE(params), &rows) < 0)
        return EXIT_RUNTIME;
    static const char *const cols[] = {"id",       "tenant",          "resource",
                                       "op",       "target_id",       "state",
                                       "attempts", "next_attempt_at", "remote_id"};
    if (o->json)
        cli_print_json(stdout, rows);
    else if (cJSON_GetArraySize(rows) == 0)
        printf("no writes%s\n", o->state ? "" : " waiting, in flight or in manual review");
    else
        cli_table(stdout, rows, cols, ARRAY_SIZE(cols));
    cJSON_Delete(rows);
    return EXIT_OK;
}

static void show_text(const cJSON *row, const cJSON *history)
{
    static const char *const fields[] = {
        "id",          "tenant",        "resource",        "op",           "target_id",
        "state",       "attempts",      "next_attempt_at", "remote_id",    "last_http_status",
        "error_class", "maybe_applied", "first_sent_at",   "last_sent_at", "op_key",
        "resolution",  "note",          "created_at",      "updated_at",   "last_error"};
    char cell[1024];
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        cli_cell(cJSON_GetObjectItemCaseSensitive(row, fields[i]), cell, sizeof(cell));
        printf("%-17s %s\n", fields[i], cell);
    }
    cli_cell(cJSON_GetObjectItemCaseSensitive(row, "payload"), cell, sizeof(cell));
    printf("payload:\n%s\n\nhistory:\n", cell);
    static const char *const hcols[] = {"at",          "actor",       "action",
                                        "error_class", "http_status", "note"};
    cli_table(stdout, history, hcols, ARRAY_SIZE(hcols));
}

static int ob_show(struct store *s, const char *id_text, const struct ob_opts *o)
{
    const char *params[] = {id_text};
    cJSON *rows = NULL, *history = NULL;
    if (cli_query(s, "SELECT * FROM outbox WHERE id = CAST(?1 AS INTEGER)", params, 1, &rows) < 0)
        return EXIT_RUNTIME;
    cJSON *row = cJSON_GetArrayItem(rows, 0);
    int rc = EXIT_OK;
    if (!row)
        rc =
            cli_fail("no outbox row with id %s (see `vomo-sync outbox list --state all`)", id_text);
    else if (cli_query(s,
                       "SELECT at, actor, action, error_class, http_status, note FROM "
                       "outbox_events WHERE outbox_id = CAST(?1 AS INTEGER) ORDER BY id",
                       params, 1, &history) < 0)
        rc = EXIT_RUNTIME;
    if (rc == EXIT_OK && o->json) {
        cJSON_AddItemToObject(row, "history", history);
        history = NULL;
        cli_print_json(stdout, row);
    } else if (rc == EXIT_OK) {
        show_text(row, history);
    }
    cJSON_Delete(history);
    cJSON_Delete(rows);
    return rc;
}

static int ob_change(struct store *s, const char *sub, const char *id_text, const struct ob_opts *o)
{
    char actor[64], now[TS_LEN], prev[16] = "";
    int64_t id = 0;
    if (cli_parse_id(id_text, &id) < 0)
        return cli_usage_error(outbox_usage, "outbox %s: '%s' is not an outbox id", sub, id_text);
    cli_actor(actor);
    cli_now(now);
    bool retry = strcmp(sub, "retry") == 0;
    int rc = retry ? store_outbox_retry(s, id, actor, now, prev)
                   : store_outbox_cancel(s, id, "cancelled", o->note, actor, now);
    if (rc < 0)
        return cli_fail("%s", store_errmsg(s));
    if (retry)
        printf("outbox %lld: %s -> due now\n", (long long)id, prev);
    else
        printf("outbox %lld: cancelled\n", (long long)id);
    return EXIT_OK;
}

static int ob_purge(struct store *s, const struct ob_opts *o)
{
    int64_t ms = 0, deleted = 0;
    char cutoff[TS_LEN];
    const char *age = o->older_than ? o->older_than : "30d";
    if (cfg_parse_duration(age, &ms) < 0 || ms <= 0)
        return cli_usage_error(
            outbox_usage, "outbox purge: --older-than '%s' is not a duration (e.g. 12h, 30d)", age);
    ts_format(clock_wall_ms() - ms, cutoff);
    const char *params[] = {cutoff};
    cJSON *rows = NULL;
    if (store_begin(s) < 0)
        return cli_fail("%s", store_errmsg(s));
    int rc = cli_query(s,
                       "SELECT count(*) AS n FROM outbox WHERE state IN ('done', 'cancelled') "
                       "AND updated_at < ?1",
                       params, 1, &rows) < 0
                 ? EXIT_RUNTIME
                 : EXIT_OK;
    if (rc == EXIT_OK && !o->dry_run && store_outbox_purge(s, cutoff, &deleted) < 0)
        rc = cli_fail("%s", store_errmsg(s));
    if (rc == EXIT_OK && !o->dry_run && store_commit(s) < 0)
        rc = cli_fail("%s", store_errmsg(s));
    store_rollback(s);
    if (rc == EXIT_OK)
        printf("%s %lld done or cancelled writes last changed before %s, with their history\n",
               o->dry_run ? "would delete" : "deleted",
               (long long)cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 0), "n")
                   ->valuedouble,
               cutoff);
    cJSON_Delete(rows);
    return rc;
}

/* -1 when the call is valid, else EXIT_USAGE after saying what is wrong. */
static int check_args(const char *sub, int npos, char **pos, const struct ob_opts *o)
{
    int64_t n;
    int is_list = strcmp(sub, "list") == 0, is_purge = strcmp(sub, "purge") == 0;
    int wants_id = !is_list && !is_purge;
    if (npos != wants_id)
        return cli_usage_error(outbox_usage,
                               wants_id ? "outbox %s needs one ID" : "outbox %s takes no ID", sub);
    if (wants_id && cli_parse_id(pos[0], &n) < 0)
        return cli_usage_error(outbox_usage, "outbox %s: '%s' is not an outbox id", sub, pos[0]);
    if ((o->state || o->tenant || o->limit) && !is_list)
        return cli_usage_error(outbox_usage,
                               "outbox %s: --state, --tenant and --limit go with "
                               "list",
                               sub);
    if (o->state && !valid_state(o->state))
        return cli_usage_error(outbox_usage, "outbox list: unknown --state '%s'", o->state);
    if (o->limit && (parse_i64(o->limit, &n) < 0 || n <= 0))
        return cli_usage_error(outbox_usage, "outbox list: --limit takes a positive number");
    if (o->note && strcmp(sub, "cancel") != 0)
        return cli_usage_error(outbox_usage, "outbox %s: --note goes with cancel", sub);
    if (is_purge && !o->done)
        return cli_usage_error(outbox_usage,
                               "outbox purge needs --done (it deletes finished writes)");
    if (!is_purge && (o->done || o->older_than || o->dry_run))
        return cli_usage_error(outbox_usage,
                               "outbox %s: --done, --older-than and --dry-run go with purge", sub);
    return -1;
}

static int run_sub(struct store *s, const char *sub, char **pos, const struct ob_opts *o)
{
    if (strcmp(sub, "list") == 0)
        return ob_list(s, o);
    if (strcmp(sub, "show") == 0)
        return ob_show(s, pos[0], o);
    if (strcmp(sub, "purge") == 0)
        return ob_purge(s, o);
    return ob_change(s, sub, pos[0], o);
}

int cmd_outbox(int argc, char **argv, const char *config_path)
{
    static const char *const subs[] = {"list", "show", "retry", "cancel", "purge"};
    struct ob_opts o = {0};
    cli_init();
    if (argc < 2)
        return cli_usage_error(outbox_usage, "outbox: say list, show, retry, cancel or purge");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(outbox_usage, stdout);
        return EXIT_OK;
    }
    size_t i = 0;
    while (i < ARRAY_SIZE(subs) && strcmp(sub, subs[i]) != 0)
        i++;
    if (i == ARRAY_SIZE(subs))
        return cli_usage_error(outbox_usage, "outbox: unknown subcommand '%s'", sub);
    int rc = parse_opts(argc - 1, argv + 1, &o);
    if (rc < 0)
        rc = check_args(sub, argc - 1 - optind, argv + 1 + optind, &o);
    if (rc >= 0)
        return rc;
    char *path = NULL;
    struct store *s = NULL;
    rc = cli_db_path(o.db, config_path, &path, NULL);
    if (rc == 0)
        rc = cli_open(path, &s);
    if (rc == 0)
        rc = run_sub(s, sub, argv + 1 + optind, &o);
    store_close(s);
    free(path);
    return rc;
}
