/*
 * cli_common.c - the plumbing every database command shares: resolving
 * and opening the state database (never creating it outside `migrate`),
 * uniform error and usage messages, the acting Unix user, and read-only
 * queries turned into cJSON rows that print as aligned tables or JSON.
 */
#include "cli_common.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "migrations.h"

void cli_init(void)
{
    store_set_log_errors(0);
    log_setup(LOG_WARN, LOG_FMT_TEXT, stderr);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vomo-sync: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    fputs(usage, stderr);
    return EXIT_USAGE;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vomo-sync: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_RUNTIME;
}

int cli_db_path(const char *db_opt, const char *config_path, char **path, struct config **cfg)
{
    struct config *c = NULL;
    struct cfg_errors errs;
    *path = NULL;
    if (cfg)
        *cfg = NULL;
    if (db_opt) {
        *path = xstrdup(db_opt);
        return 0;
    }
    cfg_errors_init(&errs);
    int rc = cfg_load(config_path, CFG_SKIP_SECRETS, &c, &errs);
    if (rc < 0) {
        cfg_errors_print(&errs, stderr);
        fprintf(stderr,
                "vomo-sync: cannot load the configuration %s (use --config FILE, or "
                "--db FILE to name the state database directly)\n",
                config_path);
        cfg_errors_free(&errs);
        return EXIT_USAGE;
    }
    cfg_errors_free(&errs);
    *path = xstrdup(c->state_db);
    if (cfg)
        *cfg = c;
    else
        cfg_free(c);
    return 0;
}

/* The schema must be exactly what this binary knows: older needs a migrate,
 * newer needs a newer vomo-sync. */
static int check_schema(struct store *s, const char *path)
{
    int v = 0;
    if (store_version(s, &v) < 0)
        return cli_fail("%s", store_errmsg(s));
    if (v < migrations_count)
        return cli_fail("state database %s is at schema version %d, this vomo-sync needs %d: "
                        "run `vomo-sync migrate` (or start the daemon)",
                        path, v, migrations_count);
    if (v > migrations_count)
        return cli_fail("state database %s has schema version %d, newer than this vomo-sync "
                        "(%s knows up to %d): upgrade vomo-sync",
                        path, v, VOMO_SYNC_VERSION, migrations_count);
    return 0;
}

int cli_open(const char *path, struct store **out)
{
    if (store_open_existing(path, out) < 0)
        return cli_fail("%s", store_errmsg(NULL));
    int rc = check_schema(*out, path);
    if (rc != 0) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

void cli_actor(char out[64])
{
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name && *pw->pw_name)
        snprintf(out, 64, "%s", pw->pw_name);
    else
        snprintf(out, 64, "uid %u", (unsigned)getuid());
}

void cli_now(char out[TS_LEN])
{
    ts_format(clock_wall_ms(), out);
}

int cli_parse_id(const char *s, int64_t *id)
{
    int64_t v;
    if (parse_i64(s, &v) < 0 || v <= 0)
        return -EINVAL;
    *id = v;
    return 0;
}

static cJSON *column_value(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return cJSON_CreateNumber((double)sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return cJSON_CreateNumber(sqlite3_column_double(st, i));
    case SQLITE_NULL:
        return cJSON_CreateNull();
    default:
        return cJSON_CreateString((const char *)sqlite3_column_text(st, i));
    }
}

int cli_query(struct store *s, const char *sql, const char *const *params, size_t nparams,
              cJSON **rows)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL);
    *rows = NULL;
    if (r != SQLITE_OK) {
        cli_fail("query failed: %s", sqlite3_errmsg(store_db(s)));
        sqlite3_finalize(st);
        return -EIO;
    }
    for (size_t i = 0; i < nparams; i++) {
        if (params[i])
            sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, (int)i + 1);
    }
    cJSON *arr = cJSON_CreateArray();
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *row = cJSON_CreateObject();
        for (int i = 0; i < sqlite3_column_count(st); i++)
            cJSON_AddItemToObject(row, sqlite3_column_name(st, i), column_value(st, i));
        cJSON_AddItemToArray(arr, row);
    }
    if (r != SQLITE_DONE) {
        int busy = (r & 0xff) == SQLITE_BUSY || (r & 0xff) == SQLITE_LOCKED;
        cli_fail("reading the state database failed: %s%s", sqlite3_errmsg(store_db(s)),
                 busy ? " (it stayed locked by another process)" : "");
        sqlite3_finalize(st);
        cJSON_Delete(arr);
        return busy ? -EBUSY : -EIO;
    }
    sqlite3_finalize(st);
    *rows = arr;
    return 0;
}

void cli_cell(const cJSON *v, char *out, size_t size)
{
    if (!v || cJSON_IsNull(v))
        snprintf(out, size, "-");
    else if (cJSON_IsString(v))
        snprintf(out, size, "%s", v->valuestring);
    else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble)
        snprintf(out, size, "%lld", (long long)v->valuedouble);
    else if (cJSON_IsNumber(v))
        snprintf(out, size, "%g", v->valuedouble);
    else
        snprintf(out, size, "?");
}

/* Cells longer than this are cut in tables (`dlq show` prints them whole). */
#define CLI_CELL_MAX 256

static void print_cell(FILE *out, const char *text, size_t width, int last)
{
    if (last)
        fprintf(out, "%s\n", text);
    else
        fprintf(out, "%-*s  ", (int)width, text);
}

void cli_table(FILE *out, const cJSON *rows, const char *const *cols, size_t ncols)
{
    size_t *w = xcalloc(ncols, sizeof(*w));
    char cell[CLI_CELL_MAX];
    for (size_t c = 0; c < ncols; c++)
        w[c] = strlen(cols[c]);
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        for (size_t c = 0; c < ncols; c++) {
            cli_cell(cJSON_GetObjectItemCaseSensitive(row, cols[c]), cell, sizeof(cell));
            if (strlen(cell) > w[c])
                w[c] = strlen(cell);
        }
    }
    for (size_t c = 0; c < ncols; c++)
        print_cell(out, cols[c], w[c], c + 1 == ncols);
    cJSON_ArrayForEach(row, rows)
    {
        for (size_t c = 0; c < ncols; c++) {
            cli_cell(cJSON_GetObjectItemCaseSensitive(row, cols[c]), cell, sizeof(cell));
            print_cell(out, cell, w[c], c + 1 == ncols);
        }
    }
    free(w);
}

void cli_print_json(FILE *out, const cJSON *v)
{
    char *s = cJSON_Print(v);
    fprintf(out, "%s\n", s ? s : "null");
    cJSON_free(s);
}
