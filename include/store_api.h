/*
 * store_api.h - the store's reads for the local read API (store_api.c):
 * one record of the mirror with its payload as VOMO sent it, a page of
 * live records in id order with the count of the whole list (in one read
 * transaction, so page and total agree), and when a resource's last
 * complete scan ended.  Part of the store module; see store.h for
 * ownership and errors.
 */
#ifndef VOMO_STORE_API_H
#define VOMO_STORE_API_H

#include <stdint.h>

#include "store.h"

struct api_record {
    char updated_at[TS_LEN];
    char deleted_at[TS_LEN]; /* "" while live */
    char *payload;           /* owned; free with store_api_record_free */
};
/* 0, or -ENOENT when the mirror never held the record. */
int store_api_record(struct store *s, const char *tenant, const char *resource, const char *id,
                     struct api_record *out) WUR;
void store_api_record_free(struct api_record *r);

/* Called for each record of a page; the strings are valid during the call. */
typedef void (*store_api_row_fn)(void *arg, const char *id, const char *updated_at,
                                 const char *payload);
/*
 * Live (not deleted) records of (tenant, resource) updated on or after
 * updated_after ("" or NULL: all), ordered by id (the text of the key, so
 * the order is stable from page to page): `limit` of them from `offset`,
 * each through fn; *total gets how many the whole list holds.
 */
int store_api_page(struct store *s, const char *tenant, const char *resource,
                   const char *updated_after, int64_t offset, int limit, store_api_row_fn fn,
                   void *arg, int64_t *total) WUR;

/* When the last complete scan (incremental or full) of (tenant, resource)
 * ended: 0 and out, or -ENOENT when none ever did. */
int store_api_last_complete(struct store *s, const char *tenant, const char *resource,
                            char out[TS_LEN]) WUR;

/* How the last scan (any outcome) of (tenant, resource) ended, from its
 * checkpoint: "complete", "incomplete", "failed", or "" when none. */
int store_api_last_status(struct store *s, const char *tenant, const char *resource,
                          char out[16]) WUR;

#endif
