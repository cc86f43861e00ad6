/*
 * web_int.h - what the files of the HTTP endpoint share (web.c: the server
 * and health; web_metrics.c: /metrics; web_status.c: /status; web_api.c:
 * the read API): each file adds its own routes.
 * Nobody else includes it; web.h is the public face.
 */
#ifndef VOMO_WEB_INT_H
#define VOMO_WEB_INT_H

#include <cjson/cJSON.h>

#include "web.h"

/* GET /metrics, and the scrape-time collector over w->e. */
int web_metrics_routes(struct web *w) WUR;
/* GET /status (web_status.c). */
int web_status_routes(struct web *w) WUR;
/* GET /api/v1/ (web_api.c): allocates w->api. */
int web_api_routes(struct web *w) WUR;
/* For /status: {"waiting_replies": N, "live_reads": {TENANT: N, ...}}. */
cJSON *web_api_live_json(const struct web *w);
/* After the server closed (no request waits any more): frees w->api from
 * the loop, then calls closed. */
void web_api_close(struct web *w, void (*closed)(struct web *w));
/* POST /hooks/vomo/{tenant} (web_hooks.c). */
int web_hooks_routes(struct web *w) WUR;

#endif
