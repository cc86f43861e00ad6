/*
 * jsonarena.h - cJSON's memory from one arena for the length of a parse:
 * between jsonarena_begin() and jsonarena_end() on a thread, every node and
 * string cJSON allocates on that thread comes from the arena, its frees do
 * nothing, and jsonarena_end() releases it all at once.  A page of records
 * is a few hundred small allocations; one bump pointer replaces them and
 * the walk cJSON_Delete() would make to free them.
 *
 * Everywhere else (other threads, or this one outside a begin/end) cJSON
 * allocates with malloc and frees with free, as without this module: the
 * hooks are installed once, before main, and look at a thread-local arena.
 *
 * Ownership: the caller owns the struct (on its stack); nothing cJSON
 * returned inside the window may be used after jsonarena_end().  Windows do
 * not nest.
 */
#ifndef VOMO_JSONARENA_H
#define VOMO_JSONARENA_H

#include <stddef.h>

struct jsonarena_chunk;

struct jsonarena {
    struct jsonarena_chunk *head; /* the chunk being filled; older ones follow */
    size_t bytes;                 /* handed out so far */
};

/* Starts the window on this thread (a must be zeroed or ended). */
void jsonarena_begin(struct jsonarena *a);
/* Ends it and frees everything cJSON allocated in it. */
void jsonarena_end(struct jsonarena *a);
/* Bytes handed out in the window so far. */
size_t jsonarena_bytes(const struct jsonarena *a);

#endif
