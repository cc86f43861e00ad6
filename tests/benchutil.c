/*
 * benchutil.c - the shared pieces of the benchmarks (see benchutil.h).
 */
#include "benchutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_exec(sqlite3 *db, const char *who, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s: %s\n", who, sql, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        exit(1);
    }
}
