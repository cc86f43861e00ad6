/*
 * cli_write.c - `vomo-sync write TENANT RESOURCE OP [--id ID] --data
 * JSON|@FILE|-`: checks one write to VOMO and queues it as a pending outbox
 * row.  It only touches the state database, so it works whether the daemon
 * runs or not; a running daemon sends the row on its next outbox tick, a
 * stopped one when it starts.  Bad input exits 2 with one sentence saying
 * what is wrong; nothing is queued then.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_common.h"
#include "outbox_ops.h"
#include "store_outbox.h"

#define WRITE_DATA_MAX (1024 * 1024) /* one write's body; VOMO records are small */

static const char write_usage[] =
    "usage: vomo-sync [--config FILE] write TENANT RESOURCE OP [--id ID]\n"
    "                 [--data JSON|@FILE|-] [--key KEY] [--json] [--db FILE]\n\n"
    "Queues one write to VOMO in the outbox and prints its id; the daemon sends it\n"
    "(now if it runs, else when it starts).  Writes:\n"
    "  users upsert            POST /users (upsert by email; needs \"email\")\n"
    "  groups create           POST /groups (needs \"name\")\n"
    "  groups update --id ID   PUT /groups/ID (full replacement; needs \"name\")\n"
    "  groups delete --id ID   DELETE /groups/ID\n"
    "  groups set_members --id ID   PUT /groups/ID/members ({\"members\": [ids]})\n"
    "  projects create         POST /projects (needs \"name\")\n"
    "  projects update --id ID PUT /projects/ID (full replacement; needs \"name\")\n\n"
    "options:\n"
    "  --id ID       the VOMO id of the record (update, delete, set_members)\n"
    "  --data D      the JSON object to send: inline, @FILE, or - for stdin\n"
    "  --key KEY     the caller's key for this intent: queueing the same key again\n"
    "                for the tenant returns the existing row instead of a second write\n"
    "  --json        print the queued row as JSON\n"
    "  --db FILE     use this database file instead of the configured state_db\n"
    "  --help        this text\n\n"
    "exit status: 0 queued (or already queued under --key), 1 runtime failure,\n"
    "2 bad input\n";

struct write_opts {
    const char *id, *data, *key, *db;
    int json;
};

static int parse_opts(int argc, char **argv, struct write_opts *o)
{
    enum { O_ID = 256, O_DATA, O_KEY, O_DB, O_JSON };
    static const struct option opts[] = {{"id", required_argument, NULL, O_ID},
                                         {"data", required_argument, NULL, O_DATA},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"db", required_argument, NULL, O_DB},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(write_usage, stdout);
            return EXIT_OK;
        }
        if (c == ':')
            return cli_usage_error(write_usage, "write: %s needs a value", argv[optind - 1]);
        if (c == '?')
            return cli_usage_error(write_usage, "write: bad option '%s'", argv[optind - 1]);
        if (c == O_ID)
            o->id = optarg;
        else if (c == O_DATA)
            o->data = optarg;
        else if (c == O_KEY)
            o->key = optarg;
        else if (c == O_DB)
            o->db = optarg;
        else
            o->json = 1;
    }
    return -1;
}

/* Reads all of stdin up to the cap: 0 and *out, or a negative errno. */
static int read_stdin(char **out)
{
    struct buf b;
    buf_init(&b, WRITE_DATA_MAX);
    char chunk[4096];
    ssize_t n;
    while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0)
        if (buf_append(&b, chunk, (size_t)n) < 0) {
            buf_free(&b);
            return -E2BIG;
        }
    if (n < 0) {
        buf_free(&b);
        return -errno;
    }
    *out = b.data ? buf_steal(&b) : xstrdup("");
    return 0;
}

/* The --data value as text (caller frees), or an exit code after saying why. */
static int load_data(const char *spec, char **out)
{
    *out = NULL;
    if (!spec)
        return 0;
    int rc = 0;
    size_t len = 0;
    if (strcmp(spec, "-") == 0)
        rc = read_stdin(out);
    else if (spec[0] == '@')
        rc = read_whole_file(spec + 1, WRITE_DATA_MAX, out, &len);
    else
        *out = xstrdup(spec);
    if (rc == -E2BIG || rc == -EFBIG)
        return cli_usage_error(write_usage, "write: the data is larger than %d bytes",
                               WRITE_DATA_MAX);
    if (rc < 0)
        return cli_usage_error(write_usage, "write: cannot read the data from %s: %s",
                               spec[0] == '@' ? spec + 1 : "stdin", strerror(-rc));
    return 0;
}

static int print_row(struct store *s, int64_t id, int json)
{
    if (!json) {
        printf("%lld\n", (long long)id);
        return EXIT_OK;
    }
    char id_text[24];
    snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
    const char *params[] = {id_text};
    cJSON *rows = NULL;
    if (cli_query(s, "SELECT * FROM outbox WHERE id = CAST(?1 AS INTEGER)", params, 1, &rows) < 0)
        return EXIT_RUNTIME;
    cli_print_json(stdout, cJSON_GetArrayItem(rows, 0));
    cJSON_Delete(rows);
    return EXIT_OK;
}

static int queue(struct store *s, char **pos, const struct write_opts *o, const char *data,
                 const char *key)
{
    char actor[64], now[TS_LEN];
    cli_actor(actor);
    cli_now(now);
    struct outbox_new n = {.tenant = pos[0],
                           .resource = pos[1],
                           .op = pos[2],
                           .target_id = o->id,
                           .payload = data,
                           .op_key = o->key,
                           .record_key = key,
                           .actor = actor,
                           .now = now};
    int64_t id = 0;
    int existed = 0;
    if (store_outbox_add(s, &n, &id, &existed) < 0)
        return cli_fail("%s", store_errmsg(s));
    if (existed)
        fprintf(stderr,
                "vomo-sync: --key '%s' is already queued for tenant %s as outbox %lld: "
                "nothing added\n",
                o->key, pos[0], (long long)id);
    return print_row(s, id, o->json);
}

/* Checks the write against the configuration (the tenant must exist)
 * unless --db named the database directly. */
static int check_tenant(const struct config *cfg, const char *tenant)
{
    if (!cfg || cfg_tenant(cfg, tenant))
        return -1;
    return cli_usage_error(write_usage, "write: no tenant '%s' in %s (its [tenant.%s] section)",
                           tenant, cfg->path ? cfg->path : "the configuration", tenant);
}

int cmd_write(int argc, char **argv, const char *config_path)
{
    struct write_opts o = {0};
    cli_init();
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (argc - optind != 3)
        return cli_usage_error(write_usage, "write needs TENANT RESOURCE OP");
    char **pos = argv + optind;
    char *data = NULL, *path = NULL;
    char why[256], key[OUTBOX_KEY_LEN];
    struct config *cfg = NULL;
    struct store *s = NULL;
    if (o.key && !*o.key)
        return cli_usage_error(write_usage, "write: --key must not be empty");
    if ((rc = load_data(o.data, &data)) != 0)
        return rc;
    rc = -1;
    if (outbox_validate(pos[1], pos[2], o.id, data, why, sizeof(why), key) < 0)
        rc = cli_usage_error(write_usage, "write: %s", why);
    if (rc < 0 && (rc = cli_db_path(o.db, config_path, &path, &cfg)) == 0)
        rc = check_tenant(cfg, pos[0]);
    if (rc < 0 && (rc = cli_open(path, &s)) == 0)
        rc = queue(s, pos, &o, data, key);
    store_close(s);
    cfg_free(cfg);
    free(path);
    free(data);
    return rc;
}
