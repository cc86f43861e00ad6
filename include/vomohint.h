/*
 * vomohint.h - VOMO's own webhooks as data: the `vomo-signature` check
 * (lowercase hex HMAC-SHA256 of the raw body under the tenant's secret,
 * compared in constant time) and the event's parse into a hint: which of
 * our resources it names, which record, and the key that makes a replay of
 * the same event recognisable.  Pure: no I/O, no clock.
 *
 * VOMO names events `noun.verb` (project.updated, campaign.deleted,
 * participation.created).  Nouns map to the resources vomo-sync syncs:
 * project(s) -> projects, user(s) and volunteer(s) -> users, group(s) ->
 * groups.  Campaigns, participations and anything else name nothing we
 * mirror (a participation does not even change the user's updated_at):
 * they are recorded and ignored.
 */
#ifndef VOMO_VOMOHINT_H
#define VOMO_VOMOHINT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

/* Bodies above this are refused (413) before anything else. */
#define VOMOHINT_MAX_BODY (256 * 1024)

/* Whether `header` (the vomo-signature value, may be NULL) is the HMAC of
 * body under secret; surrounding white space is ignored, nothing else. */
bool vomohint_signature_ok(const char *secret, const char *body, size_t len, const char *header);

struct vomohint {
    char type[64];            /* as sent, cut to fit */
    char type_label[32];      /* bounded, for metrics: "project.updated" or "other" */
    bool known;               /* names a resource we sync */
    enum resource resource;   /* when known */
    bool deleted;             /* verb "deleted" */
    char record_id[128];      /* data.id normalised, "" when none */
    char organization_id[64]; /* "" when absent */
    char event_key[80];       /* "id:..." or "sha256:<hex of the body>" */
};

/* Parses an event.  0, or -EINVAL with a static reason in *why: not a JSON
 * object, or no `type` string. */
int vomohint_parse(const char *body, size_t len, struct vomohint *out, const char **why) WUR;
/* The bounded metrics label of a type as stored ("project.updated" or
 * "other"). */
void vomohint_type_label(const char *type, char out[32]);

#endif
