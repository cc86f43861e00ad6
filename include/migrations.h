/*
 * migrations.h - the schema migrations embedded at build time from
 * migrations/NNNN_name.sql by scripts/embed-migrations.  migrations[i] has
 * version i + 1; store.c applies them in order.
 */
#ifndef VOMO_MIGRATIONS_H
#define VOMO_MIGRATIONS_H

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration migrations[];
extern const int migrations_count;

#endif
