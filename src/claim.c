/*
 * claim.c - the table of records with a delivery in flight (claim.h): a
 * chained hash table from "resource/id" to the owner holding the record
 * and the FIFO of claims waiting for it.  Entries exist only while a
 * record is held, so the table stays as small as the work in flight (a few
 * pages of records and a DLQ batch).
 */
#include "claim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct claim_entry {
    struct claim_entry *next; /* bucket chain */
    char *key;                /* "resource/id": resource names have no '/' */
    uint64_t hash;
    const void *owner; /* of the claims holding it */
    int holders;
    struct claim *head, *tail; /* waiting, oldest first */
};

#define CLAIMS_MIN_BUCKETS 64

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void claims_init(struct claims *cs)
{
    *cs = (struct claims){0};
}

void claims_free(struct claims *cs)
{
    for (size_t i = 0; i < cs->nbuckets; i++) {
        while (cs->buckets[i]) {
            struct claim_entry *e = cs->buckets[i];
            cs->buckets[i] = e->next;
            free(e->key);
            free(e);
        }
    }
    free(cs->buckets);
    *cs = (struct claims){0};
}

size_t claims_count(const struct claims *cs)
{
    return cs->count;
}

static void grow(struct claims *cs)
{
    size_t n = cs->nbuckets ? cs->nbuckets * 2 : CLAIMS_MIN_BUCKETS;
    struct claim_entry **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < cs->nbuckets; i++) {
        while (cs->buckets[i]) {
            struct claim_entry *e = cs->buckets[i];
            cs->buckets[i] = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(cs->buckets);
    cs->buckets = b;
    cs->nbuckets = n;
}

static struct claim_entry *find(const struct claims *cs, const char *key, uint64_t h)
{
    if (!cs->nbuckets)
        return NULL;
    for (struct claim_entry *e = cs->buckets[h & (cs->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

bool claim_take(struct claims *cs, struct claim *c, const char *resource, const char *id)
{
    /* "resource/id", built by hand: a claim is taken for every record. */
    size_t rn = strlen(resource), in = strlen(id);
    char *key = xmalloc(rn + in + 2);
    memcpy(key, resource, rn);
    key[rn] = '/';
    memcpy(key + rn + 1, id, in + 1);
    uint64_t h = fnv1a(key);
    struct claim_entry *e = find(cs, key, h);
    c->next = NULL;
    if (!e) {
        if (cs->count >= cs->nbuckets)
            grow(cs);
        e = xcalloc(1, sizeof(*e));
        e->key = key;
        e->hash = h;
        e->next = cs->buckets[h & (cs->nbuckets - 1)];
        cs->buckets[h & (cs->nbuckets - 1)] = e;
        cs->count++;
        e->owner = c->owner;
    } else {
        free(key);
    }
    c->entry = e;
    if (e->holders == 0 || e->owner == c->owner) {
        e->holders++;
        c->state = CLAIM_HELD;
        return true;
    }
    c->state = CLAIM_WAITING;
    if (e->tail)
        e->tail->next = c;
    else
        e->head = c;
    e->tail = c;
    return false;
}

static void unlink_entry(struct claims *cs, struct claim_entry *e)
{
    for (struct claim_entry **pp = &cs->buckets[e->hash & (cs->nbuckets - 1)]; *pp;
         pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    cs->count--;
    free(e->key);
    free(e);
}

static void withdraw(struct claim_entry *e, struct claim *c)
{
    struct claim *prev = NULL;
    for (struct claim *w = e->head; w; prev = w, w = w->next)
        if (w == c) {
            if (prev)
                prev->next = c->next;
            else
                e->head = c->next;
            if (e->tail == c)
                e->tail = prev;
            break;
        }
}

/*
 * The last holder left: the oldest waiting claim gets the record, and with
 * it every other waiting claim of the same owner (they would otherwise
 * wait for their own owner).  granted() runs after the entry is settled, so
 * a new holder may release at once (it had nothing left to send).
 */
static void hand_over(struct claim_entry *e)
{
    struct claim *first = e->head;
    e->owner = first->owner;
    struct claim *granted = NULL, **tail = &granted;
    struct claim **pp = &e->head;
    e->tail = NULL;
    while (*pp) {
        struct claim *w = *pp;
        if (w->owner == e->owner) {
            *pp = w->next;
            w->state = CLAIM_HELD;
            w->next = NULL;
            e->holders++;
            *tail = w;
            tail = &w->next;
        } else {
            e->tail = w;
            pp = &w->next;
        }
    }
    while (granted) {
        struct claim *w = granted;
        granted = w->next;
        w->next = NULL;
        w->granted(w);
    }
}

void claim_release(struct claims *cs, struct claim *c)
{
    struct claim_entry *e = c->entry;
    enum claim_state was = c->state;
    c->state = CLAIM_IDLE;
    c->entry = NULL;
    if (was == CLAIM_WAITING) {
        withdraw(e, c);
        return;
    }
    if (was != CLAIM_HELD || --e->holders > 0)
        return;
    if (e->head)
        hand_over(e);
    else
        unlink_entry(cs, e);
}
