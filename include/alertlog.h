/*
 * alertlog.h - the log and journal notifier of the built-in alerts: one
 * line per transition, at error for a critical alert firing, at warning
 * otherwise, with the native journal fields ALERT=, SEVERITY=, STATE=,
 * ALERT_ID= and a fixed MESSAGE_ID per alert name, so `journalctl
 * MESSAGE_ID=<id>` finds every episode of one alert (the ids are listed
 * in vomo-sync(8)).  Replayed episodes (the daemon restarted while they
 * fired) are logged at info, once.
 */
#ifndef VOMO_ALERTLOG_H
#define VOMO_ALERTLOG_H

#include "alert_event.h"

/* An alert_notify_fn; ctx is unused (NULL). */
void alertlog_notify(void *ctx, const struct alert_event *ev);
/* The MESSAGE_ID of an alert name, or NULL for an unknown name. */
const char *alertlog_message_id(const char *name);

#endif
