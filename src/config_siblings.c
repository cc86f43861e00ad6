/*
 * config_siblings.c - what `check-config` says about the other INI files in
 * the same folder, the configurations of the other vomo-sync@ instances on
 * this machine.  Sharding goes wrong in two usual ways: one tenant token in
 * two instances (each keeps its own rate limit and retry budget, so
 * together they send VOMO twice what one would, and fight over one limit),
 * and two instances on one state database (the second refuses to start).
 * Both are warnings, as the file itself is valid.  Tokens are compared by
 * content (or by file when a sibling's cannot be read) and never printed.
 */
#include "config_int.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void add_warning(struct cfg_errors *errs, char *msg)
{
    errs->warnings = xrealloc(errs->warnings, (errs->nwarnings + 1) * sizeof(*errs->warnings));
    errs->warnings[errs->nwarnings++] = msg;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b)
        return false;
    if (strcmp(a, b) == 0)
        return true;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static bool same_token(const struct tenant_cfg *a, const struct tenant_cfg *b)
{
    if (a->token && b->token)
        return strcmp(a->token, b->token) == 0;
    return same_file(a->token_file, b->token_file);
}

/* Loads a sibling with its tokens, or without them when they cannot be
 * read (the token files are then compared by path); NULL when invalid. */
static struct config *load_sibling(const char *path)
{
    struct config *o = NULL;
    struct cfg_errors oe;
    if (cfg_load(path, 0, &o, &oe) < 0) {
        cfg_errors_free(&oe);
        if (cfg_load(path, CFG_SKIP_SECRETS, &o, &oe) < 0)
            o = NULL;
    }
    cfg_errors_free(&oe);
    return o;
}

static void compare(const struct config *cfg, const struct config *o, struct cfg_errors *errs)
{
    for (size_t i = 0; i < cfg->ntenants; i++) {
        const struct tenant_cfg *t = &cfg->tenants[i];
        for (size_t j = 0; j < o->ntenants; j++)
            if (same_token(t, &o->tenants[j]))
                add_warning(errs,
                            xasprintf("%s:%d: tenant.%s.token_file: [tenant.%s] in %s "
                                      "has the same VOMO token: two instances would "
                                      "share, and fight over, one rate limit; give each "
                                      "token to one instance only",
                                      cfg->path, t->line, t->name, o->tenants[j].name, o->path));
    }
    if (strcmp(cfg->state_db, ":memory:") != 0 && same_file(cfg->state_db, o->state_db))
        add_warning(errs, xasprintf("%s: daemon.state_db: %s uses the same state database %s: "
                                    "only one of the two instances can run; give each its own "
                                    "(e.g. /var/lib/vomo-sync/INSTANCE/state.db)",
                                    cfg->path, o->path, cfg->state_db));
}

static bool is_ini(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".ini") == 0;
}

static int ini_filter(const struct dirent *d)
{
    return is_ini(d);
}

void cfg_check_siblings(const struct config *cfg, struct cfg_errors *errs)
{
    const char *slash = strrchr(cfg->path, '/');
    char *dir = slash ? xstrndup(cfg->path, (size_t)(slash - cfg->path)) : xstrdup(".");
    if (!*dir) {
        free(dir);
        dir = xstrdup("/");
    }
    struct dirent **names;
    int n = scandir(dir, &names, ini_filter, alphasort);
    for (int i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, names[i]->d_name);
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && !same_file(path, cfg->path)) {
            struct config *o = load_sibling(path);
            if (o)
                compare(cfg, o, errs);
            cfg_free(o);
        }
        free(path);
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    free(dir);
}
