/*
 * config_alerts.c - the cross-key rules of [alerts], the optional targets
 * of the built-in alerts: webhook_url needs webhook_secret_file (alerts are
 * signed like record deliveries, so a receiver can trust them), whose
 * contents are read here, registered for redaction and never printed; a
 * secret file without a webhook_url is ignored with a warning.  The
 * evaluator's own keys (interval, ...) need no such rule.
 */
#include "config_int.h"

#include <stdlib.h>
#include <string.h>

/* The line a global key was set on: 0 when unset, negative when wrong. */
static int alerts_key_line(const struct loader *L, const char *name)
{
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (strcmp(cfg_keys[i].section, "alerts") == 0 && strcmp(cfg_keys[i].name, name) == 0)
            return L->key_line[i];
    return 0;
}

static void resolve(const struct loader *L, char **path)
{
    if (*path && (*path)[0] != '/') {
        char *abs = xasprintf("%s/%s", L->dir, *path);
        free(*path);
        *path = abs;
    }
}

void cfg_check_alerts(struct loader *L)
{
    struct config *c = L->cfg;
    int url_line = alerts_key_line(L, "webhook_url");
    int file_line = alerts_key_line(L, "webhook_secret_file");
    resolve(L, &c->alert_webhook_secret_file);
    if (c->alert_webhook_url && !c->alert_webhook_secret_file) {
        if (file_line >= 0)
            cfg_add_error(L, url_line, "alerts.webhook_secret_file",
                          "missing: webhook_url needs the file holding the HMAC signing secret "
                          "(webhook_secret_file = /etc/vomo-sync/alerts.secret)");
        return;
    }
    if (!c->alert_webhook_secret_file)
        return;
    if (!c->alert_webhook_url) {
        if (url_line >= 0)
            cfg_add_warning(L, file_line, "alerts.webhook_secret_file",
                            "ignored: no webhook_url is set");
        return;
    }
    if (L->flags & CFG_SKIP_SECRETS)
        return;
    char *why, *warning;
    if (cfg_secret_read(c->alert_webhook_secret_file, &c->alert_webhook_secret, &why, &warning) <
        0) {
        cfg_add_error(L, file_line, "alerts.webhook_secret_file", "%s", why);
        free(why);
        return;
    }
    log_set_secret(c->alert_webhook_secret_file, c->alert_webhook_secret);
    if (warning)
        cfg_add_warning(L, file_line, "alerts.webhook_secret_file", warning);
    free(warning);
}
