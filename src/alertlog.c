/*
 * alertlog.c - the log and journal notifier of the built-in alerts (see
 * alertlog.h).  The journal fields come from log.c, which turns every
 * key/value pair into an upper-case field.
 */
#include "alertlog.h"

#include <string.h>

#include "alertrule.h"
#include "log.h"

const char *alertlog_message_id(const char *name)
{
    for (int r = 0; r < AR_COUNT; r++)
        if (strcmp(alertrule_name((enum alert_rule)r), name) == 0)
            return alertrule_message_id((enum alert_rule)r);
    return NULL;
}

void alertlog_notify(void *ctx, const struct alert_event *ev)
{
    (void)ctx;
    const char *mid = alertlog_message_id(ev->name);
    struct log_kv kv[] = {LOG_STR("alert", ev->name), LOG_STR("severity", ev->severity),
                          LOG_STR("state", ev->state), LOG_INT("alert_id", ev->id),
                          LOG_STR("message_id", mid ? mid : "")};
    struct log_fields f = {.tenant = ev->tenant[0] ? ev->tenant : NULL,
                           .resource = ev->resource[0] ? ev->resource : NULL,
                           .delay_ms = LOG_NO_DELAY,
                           .kv = kv,
                           .nkv = ARRAY_SIZE(kv)};
    bool firing = strcmp(ev->state, "firing") == 0;
    enum log_level level = ev->replay                                        ? LOG_INFO
                           : firing && strcmp(ev->severity, "critical") == 0 ? LOG_ERROR
                                                                             : LOG_WARN;
    if (ev->replay)
        log_emit(level, &f, "alert %s still firing (since before this start): %s", ev->name,
                 ev->summary);
    else if (firing)
        log_emit(level, &f, "alert %s firing (%s): %s", ev->name, ev->severity, ev->summary);
    else
        log_emit(level, &f, "alert %s resolved: %s", ev->name, ev->summary);
}
