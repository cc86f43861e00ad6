/*
 * jsonarena.c - the arena of jsonarena.h: chunks of JSONARENA_CHUNK bytes
 * (or one of its own for a larger request), 16-byte aligned bump
 * allocation, and the cJSON hooks that use the thread's current arena or,
 * without one, malloc and free.
 */
#include "jsonarena.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

#define JSONARENA_CHUNK (64 * 1024)
#define JSONARENA_ALIGN 16

struct jsonarena_chunk {
    struct jsonarena_chunk *next;
    size_t used, cap;
    _Alignas(JSONARENA_ALIGN) unsigned char data[];
};

static _Thread_local struct jsonarena *current;

static void *arena_alloc(struct jsonarena *a, size_t n)
{
    size_t need = (n + JSONARENA_ALIGN - 1) & ~(size_t)(JSONARENA_ALIGN - 1);
    struct jsonarena_chunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > JSONARENA_CHUNK ? need : JSONARENA_CHUNK;
        c = xmalloc(sizeof(*c) + cap);
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->bytes += need;
    return p;
}

static void *hook_malloc(size_t n)
{
    struct jsonarena *a = current;
    return a ? arena_alloc(a, n) : malloc(n);
}

static void hook_free(void *p)
{
    if (!current)
        free(p);
    /* else: it goes with the arena at jsonarena_end() */
}

/* Before main, so before any thread can be using cJSON. */
__attribute__((constructor)) static void jsonarena_install(void)
{
    cJSON_Hooks h = {.malloc_fn = hook_malloc, .free_fn = hook_free};
    cJSON_InitHooks(&h);
}

void jsonarena_begin(struct jsonarena *a)
{
    if (current) {
        fprintf(stderr, "jsonarena_begin: a window is already open on this thread\n");
        abort();
    }
    a->head = NULL;
    a->bytes = 0;
    current = a;
}

void jsonarena_end(struct jsonarena *a)
{
    if (current == a)
        current = NULL;
    struct jsonarena_chunk *c = a->head;
    while (c) {
        struct jsonarena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->bytes = 0;
}

size_t jsonarena_bytes(const struct jsonarena *a)
{
    return a->bytes;
}
