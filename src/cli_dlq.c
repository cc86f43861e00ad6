/*
 * cli_dlq.c - `vomo-sync dlq`: the operator's side of the dead-letter
 * queue.  list and show read; retry, resolve and discard change one row (or,
 * for retry --all, many) and write a dlq_events row naming the Unix user;
 * purge deletes resolved rows past a given age (keeping what the skip rule
 * needs).  The running daemon picks up a retried row on its next processor
 * tick.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "store.h"

static const char dlq_usage[] =
    "usage: vomo-sync [--config FILE] dlq SUBCOMMAND [OPTIONS] [--db FILE]\n\n"
    "  list [--status S] [--tenant T] [--resource R] [--error-class C] [--limit N] [--json]\n"
    "        dead letters as a table (id, tenant, resource, record_id, status,\n"
    "        error_class, attempts, next_attempt_at; a failed write to VOMO has\n"
    "        record_id outbox:ID and, in --json, kind write).  By default only the open ones\n"
    "        (pending and manual_review); --status pending|manual_review|resolved|\n"
    "        discarded|all picks others.\n"
    "  show ID [--json]\n"
    "        every column of one dead letter, its payload and its history.\n"
    "  retry ID [--force] | retry --all [--status pending|manual_review] [--tenant T]\n"
    "        makes rows pending and due now (attempts are kept); the daemon retries\n"
    "        them on its next tick.  --all takes every open row (narrowed by --status\n"
    "        and --tenant).  Resolved rows cannot be retried; a discarded row only\n"
    "        with --force.\n"
    "  resolve ID [--note TEXT]   closes a row as handled by hand (resolution manual)\n"
    "  discard ID [--note TEXT]   closes a row as not worth delivering\n"
    "  purge --resolved [--older-than AGE] [--dry-run]\n"
    "        deletes resolved rows last changed more than AGE ago (default 30d;\n"
    "        e.g. 12h, 7d) with their history.  Open rows and discarded rows are\n"
    "        never purged, nor a version resolved by hand until VOMO has a newer\n"
    "        one: scans read them to leave those versions alone.\n\n"
    "options:\n"
    "  --json      print JSON (list: one array; show: one object)\n"
    "  --db FILE   use this database file instead of the configured state_db\n"
    "  --help      this text\n";

struct dlq_opts {
    const char *db, *status, *tenant, *resource, *error_class, *limit, *note, *older_than;
    int json, all, force, resolved, dry_run;
};

enum {
    O_DB = 256,
    O_STATUS,
    O_TENANT,
    O_RESOURCE,
    O_CLASS,
    O_LIMIT,
    O_NOTE,
    O_OLDER,
    O_JSON,
    O_ALL,
    O_FORCE,
    O_RESOLVED,
    O_DRY
};

static void set_opt(struct dlq_opts *o, int c, const char *arg)
{
    switch (c) {
    case O_DB:
        o->db = arg;
        break;
    case O_STATUS:
        o->status = arg;
        break;
    case O_TENANT:
        o->tenant = arg;
        break;
    case O_RESOURCE:
        o->resource = arg;
        break;
    case O_CLASS:
        o->error_class = arg;
        break;
    case O_LIMIT:
        o->limit = arg;
        break;
    case O_NOTE:
        o->note = arg;
        break;
    case O_OLDER:
        o->older_than = arg;
        break;
    case O_JSON:
        o->json = 1;
        break;
    case O_ALL:
        o->all = 1;
        break;
    case O_FORCE:
        o->force = 1;
        break;
    case O_RESOLVED:
        o->resolved = 1;
        break;
    case O_DRY:
        o->dry_run = 1;
        break;
    default:
        break;
    }
}

/* Parses every option of every subcommand (each checks what applies to it);
 * returns -1 to go on, else an exit code. */
static int parse_opts(int argc, char **argv, struct dlq_opts *o)
{
    static const struct option opts[] = {{"db", required_argument, NULL, O_DB},
                                         {"status", required_argument, NULL, O_STATUS},
                                         {"tenant", required_argument, NULL, O_TENANT},
                                         {"resource", required_argument, NULL, O_RESOURCE},
                                         {"error-class", required_argument, NULL, O_CLASS},
                                         {"limit", required_argument, NULL, O_LIMIT},
                                         {"note", required_argument, NULL, O_NOTE},
                                         {"older-than", required_argument, NULL, O_OLDER},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"all", no_argument, NULL, O_ALL},
                                         {"force", no_argument, NULL, O_FORCE},
                                         {"resolved", no_argument, NULL, O_RESOLVED},
                                         {"dry-run", no_argument, NULL, O_DRY},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(dlq_usage, stdout);
            return EXIT_OK;
        }
        if (c == ':')
            return cli_usage_error(dlq_usage, "dlq: %s needs a value", argv[optind - 1]);
        if (c == '?')
            return cli_usage_error(dlq_usage, "dlq: bad option '%s'", argv[optind - 1]);
        set_opt(o, c, optarg);
    }
    return -1;
}

static int valid_status(const char *s, int allow_all)
{
    static const char *const ok[] = {"pending", "manual_review", "resolved", "discarded"};
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
        if (strcmp(s, ok[i]) == 0)
            return 1;
    return allow_all && strcmp(s, "all") == 0;
}

static int dlq_list(struct store *s, const struct dlq_opts *o)
{
    const char *params[] = {o->status ? o->status : "open", o->tenant, o->resource, o->error_class,
                            o->limit ? o->limit : "-1"};
    cJSON *rows = NULL;
    if (cli_query(s,
                  "SELECT id, tenant, resource, record_id, record_updated_at, status, "
                  "error_class, http_status, attempts, next_attempt_at, last_error, resolution, "
                  "note, created_at, updated_at, kind, outbox_id FROM dlq "
                  "WHERE (?1 = 'all' OR status = ?1 OR "
                  "       (?1 = 'open' AND status IN ('pending', 'manual_review'))) "
                  "AND (?2 IS NULL OR tenant = ?2) AND (?3 IS NULL OR resource = ?3) "
                  "AND (?4 IS NULL OR error_class = ?4) ORDER BY id LIMIT CAST(?5 AS INTEGER)",
                  params, ARRAY_SIZE(params), &rows) < 0)
        return EXIT_RUNTIME;
    static const char *const cols[] = {"id",     "tenant",      "resource", "record_id",
                                       "status", "error_class", "attempts", "next_attempt_at"};
    if (o->json)
        cli_print_json(stdout, rows);
    else if (cJSON_GetArraySize(rows) == 0)
        printf("no dead letters%s\n", o->status ? "" : " pending or in manual review");
    else
        cli_table(stdout, rows, cols, ARRAY_SIZE(cols));
    cJSON_Delete(rows);
    return EXIT_OK;
}

/* The payload as JSON when it parses, else as a string. */
static void payload_to_json(cJSON *row)
{
    cJSON *p = cJSON_GetObjectItemCaseSensitive(row, "payload");
    if (!cJSON_IsString(p))
        return;
    cJSON *parsed = cJSON_Parse(p->valuestring);
    if (parsed)
        cJSON_ReplaceItemInObjectCaseSensitive(row, "payload", parsed);
}

static void show_text(const cJSON *row, const cJSON *history)
{
    static const char *const fields[] = {
        "id",         "tenant",      "resource",    "record_id",  "record_updated_at",
        "status",     "error_class", "http_status", "attempts",   "next_attempt_at",
        "resolution", "note",        "created_at",  "updated_at", "kind",
        "outbox_id",  "last_error"};
    char cell[1024];
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        cli_cell(cJSON_GetObjectItemCaseSensitive(row, fields[i]), cell, sizeof(cell));
        printf("%-18s %s\n", fields[i], cell);
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(row, "payload");
    char *text = cJSON_IsString(p) ? NULL : cJSON_Print(p);
    printf("payload:\n%s\n", text ? text : cJSON_IsString(p) ? p->valuestring : "-");
    cJSON_free(text);
    static const char *const hcols[] = {"at",          "actor",       "action",
                                        "error_class", "http_status", "note"};
    printf("\nhistory:\n");
    cli_table(stdout, history, hcols, ARRAY_SIZE(hcols));
}

static int dlq_show(struct store *s, const char *id_text, const struct dlq_opts *o)
{
    const char *params[] = {id_text};
    cJSON *rows = NULL, *history = NULL;
    if (cli_query(s, "SELECT * FROM dlq WHERE id = CAST(?1 AS INTEGER)", params, 1, &rows) < 0)
        return EXIT_RUNTIME;
    cJSON *row = cJSON_GetArrayItem(rows, 0);
    int rc = EXIT_OK;
    if (!row)
        rc = cli_fail("no dlq row with id %s (see `vomo-sync dlq list --status all`)", id_text);
    else if (cli_query(s,
                       "SELECT at, actor, action, error_class, http_status, note FROM dlq_events "
                       "WHERE dlq_id = CAST(?1 AS INTEGER) ORDER BY id",
                       params, 1, &history) < 0)
        rc = EXIT_RUNTIME;
    if (rc == EXIT_OK) {
        payload_to_json(row);
        if (o->json) {
            cJSON_AddItemToObject(row, "history", history);
            history = NULL;
            cli_print_json(stdout, row);
        } else {
            show_text(row, history);
        }
    }
    cJSON_Delete(history);
    cJSON_Delete(rows);
    return rc;
}

/* Retries one row inside the caller's transaction and says what happened. */
static int retry_one(struct store *s, int64_t id, unsigned flags, const char *actor,
                     const char *now)
{
    char prev[16];
    int rc = store_dlq_retry(s, id, flags, actor, now, prev);
    if (rc == -EALREADY)
        return cli_fail("%s: %s", store_errmsg(s),
                        strstr(store_errmsg(s), "discarded") && !(flags & STORE_RETRY_DISCARDED)
                            ? "use --force to reopen it"
                            : "a resolved dead letter cannot be retried");
    if (rc < 0)
        return cli_fail("%s", store_errmsg(s));
    printf("dlq %lld: %s -> pending, due now\n", (long long)id, prev);
    return EXIT_OK;
}

static int retry_all(struct store *s, const struct dlq_opts *o, const char *actor, const char *now)
{
    const char *params[] = {o->status, o->tenant};
    cJSON *rows = NULL;
    if (store_begin(s) < 0)
        return cli_fail("%s", store_errmsg(s));
    int rc = cli_query(s,
                       "SELECT id FROM dlq WHERE status IN ('pending', 'manual_review') "
                       "AND (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR tenant = ?2) "
                       "ORDER BY id",
                       params, 2, &rows) < 0
                 ? EXIT_RUNTIME
                 : EXIT_OK;
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, rows)
    {
        if (rc == EXIT_OK)
            rc = retry_one(s, (int64_t)cJSON_GetObjectItemCaseSensitive(row, "id")->valuedouble, 0,
                           actor, now);
        n++;
    }
    cJSON_Delete(rows);
    if (rc == EXIT_OK && store_commit(s) < 0)
        rc = cli_fail("%s", store_errmsg(s));
    if (rc != EXIT_OK) {
        store_rollback(s);
        return rc;
    }
    printf("%d dead letter%s requeued\n", n, n == 1 ? "" : "s");
    return EXIT_OK;
}

static int dlq_retry(struct store *s, const char *id_text, const struct dlq_opts *o)
{
    char actor[64], now[TS_LEN];
    int64_t id = 0;
    cli_actor(actor);
    cli_now(now);
    if (o->all)
        return retry_all(s, o, actor, now);
    if (cli_parse_id(id_text, &id) < 0)
        return cli_usage_error(dlq_usage, "dlq retry: '%s' is not a dlq id", id_text);
    return retry_one(s, id, o->force ? STORE_RETRY_DISCARDED : 0, actor, now);
}

static int dlq_close(struct store *s, const char *sub, const char *id_text,
                     const struct dlq_opts *o)
{
    char actor[64], now[TS_LEN];
    struct dlq_row row;
    int64_t id = 0;
    int discard = strcmp(sub, "discard") == 0;
    if (cli_parse_id(id_text, &id) < 0)
        return cli_usage_error(dlq_usage, "dlq %s: '%s' is not a dlq id", sub, id_text);
    cli_actor(actor);
    cli_now(now);
    if (store_dlq_get(s, id, &row) < 0)
        return cli_fail("no dlq row with id %lld", (long long)id);
    int rc = store_dlq_close(s, id, discard ? "discarded" : "resolved",
                             discard ? "discarded" : "manual", o->note, actor, now);
    if (rc == -EALREADY)
        rc = cli_fail("dlq %lld is already %s: nothing to do", (long long)id, row.status);
    else if (rc < 0)
        rc = cli_fail("%s", store_errmsg(s));
    else
        printf("dlq %lld: %s -> %s\n", (long long)id, row.status,
               discard ? "discarded" : "resolved");
    dlq_row_free(&row);
    return rc;
}

/*
 * Purges inside one transaction and counts what stays; a dry run rolls the
 * same transaction back, so it reports exactly what a real run would do.
 */
static int dlq_purge(struct store *s, const struct dlq_opts *o)
{
    int64_t ms = 0, deleted = 0;
    char cutoff[TS_LEN];
    const char *age = o->older_than ? o->older_than : "30d";
    if (cfg_parse_duration(age, &ms) < 0 || ms <= 0)
        return cli_usage_error(dlq_usage,
                               "dlq purge: --older-than '%s' is not a duration "
                               "(e.g. 12h, 30d)",
                               age);
    ts_format(clock_wall_ms() - ms, cutoff);
    const char *params[] = {cutoff};
    cJSON *rows = NULL;
    if (store_begin(s) < 0)
        return cli_fail("%s", store_errmsg(s));
    int rc = store_dlq_purge(s, cutoff, &deleted) < 0 ? cli_fail("%s", store_errmsg(s)) : EXIT_OK;
    if (rc == EXIT_OK &&
        cli_query(s,
                  "SELECT coalesce(sum(status = 'resolved'), 0) AS manual, "
                  "coalesce(sum(status = 'discarded'), 0) AS discarded FROM dlq "
                  "WHERE status IN ('resolved', 'discarded') AND updated_at < ?1",
                  params, 1, &rows) < 0)
        rc = EXIT_RUNTIME;
    if (rc == EXIT_OK && !o->dry_run && store_commit(s) < 0)
        rc = cli_fail("%s", store_errmsg(s));
    store_rollback(s);
    if (rc == EXIT_OK) {
        const cJSON *r = cJSON_GetArrayItem(rows, 0);
        printf("%s %lld resolved dead letters last changed before %s, with their history; "
               "kept %lld resolved by hand and %lld discarded (scans leave those versions "
               "alone)\n",
               o->dry_run ? "would delete" : "deleted", (long long)deleted, cutoff,
               (long long)cJSON_GetObjectItemCaseSensitive(r, "manual")->valuedouble,
               (long long)cJSON_GetObjectItemCaseSensitive(r, "discarded")->valuedouble);
    }
    cJSON_Delete(rows);
    return rc;
}

/* Checks what each subcommand accepts; returns -1 when the call is valid,
 * else EXIT_USAGE after saying what is wrong. */
static int check_args(const char *sub, int npos, char **pos, const struct dlq_opts *o)
{
    int64_t n;
    int is_list = strcmp(sub, "list") == 0, is_retry = strcmp(sub, "retry") == 0;
    int is_purge = strcmp(sub, "purge") == 0;
    int wants_id = !is_list && !is_purge && !(is_retry && o->all);
    if (npos != wants_id)
        return cli_usage_error(dlq_usage, wants_id ? "dlq %s needs one ID" : "dlq %s takes no ID",
                               sub);
    if (wants_id && cli_parse_id(pos[0], &n) < 0)
        return cli_usage_error(dlq_usage, "dlq %s: '%s' is not a dlq id", sub, pos[0]);
    if (o->status && !(is_list || (is_retry && o->all)))
        return cli_usage_error(dlq_usage, "dlq %s: --status goes with list or retry --all", sub);
    if (o->status && !valid_status(o->status, is_list))
        return cli_usage_error(dlq_usage, "dlq %s: unknown --status '%s'", sub, o->status);
    if (is_retry && o->all && o->status && strcmp(o->status, "pending") != 0 &&
        strcmp(o->status, "manual_review") != 0)
        return cli_usage_error(dlq_usage, "dlq retry --all: --status is pending or manual_review");
    if (o->tenant && !is_list && !(is_retry && o->all))
        return cli_usage_error(dlq_usage, "dlq %s: --tenant goes with list or retry --all", sub);
    if (o->limit && (!is_list || parse_i64(o->limit, &n) < 0 || n <= 0))
        return cli_usage_error(dlq_usage, "dlq: --limit takes a positive number (list only)");
    if (o->all && !is_retry)
        return cli_usage_error(dlq_usage, "dlq %s: --all goes with retry", sub);
    if (o->force && (!is_retry || o->all))
        return cli_usage_error(dlq_usage, "dlq: --force goes with retry ID");
    if (o->note && strcmp(sub, "resolve") != 0 && strcmp(sub, "discard") != 0)
        return cli_usage_error(dlq_usage, "dlq %s: --note goes with resolve or discard", sub);
    if (is_purge && !o->resolved)
        return cli_usage_error(dlq_usage, "dlq purge needs --resolved (it deletes closed rows)");
    if (!is_purge && (o->resolved || o->older_than || o->dry_run))
        return cli_usage_error(dlq_usage,
                               "dlq %s: --resolved, --older-than and --dry-run go "
                               "with purge",
                               sub);
    return -1;
}

static int run_sub(struct store *s, const char *sub, char **pos, const struct dlq_opts *o)
{
    if (strcmp(sub, "list") == 0)
        return dlq_list(s, o);
    if (strcmp(sub, "show") == 0)
        return dlq_show(s, pos[0], o);
    if (strcmp(sub, "retry") == 0)
        return dlq_retry(s, o->all ? NULL : pos[0], o);
    if (strcmp(sub, "purge") == 0)
        return dlq_purge(s, o);
    return dlq_close(s, sub, pos[0], o);
}

int cmd_dlq(int argc, char **argv, const char *config_path)
{
    static const char *const subs[] = {"list", "show", "retry", "resolve", "discard", "purge"};
    struct dlq_opts o = {0};
    cli_init();
    if (argc < 2)
        return cli_usage_error(dlq_usage, "dlq: say list, show, retry, resolve, discard or purge");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(dlq_usage, stdout);
        return EXIT_OK;
    }
    size_t i = 0;
    while (i < ARRAY_SIZE(subs) && strcmp(sub, subs[i]) != 0)
        i++;
    if (i == ARRAY_SIZE(subs))
        return cli_usage_error(dlq_usage, "dlq: unknown subcommand '%s'", sub);
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
