/*
 * pidlock.h - one daemon per state database.  `run` holds an exclusive
 * lock on STATE_DB.lock (which also names its pid) for as long as it runs,
 * so a second daemon started by mistake on the same database refuses to
 * start instead of syncing everything twice.  The lock dies with the
 * process, so a crash never leaves a stale lock behind.
 */
#ifndef VOMO_PIDLOCK_H
#define VOMO_PIDLOCK_H

#include <sys/types.h>

#include "util.h"

/*
 * Takes the lock of state_db.  0 and *fd (kept open until
 * pidlock_release); -EBUSY when another process holds it (*holder gets its
 * pid, 0 when unknown); another negative errno when the lock file cannot be
 * opened.
 */
int pidlock_acquire(const char *state_db, int *fd, pid_t *holder) WUR;
void pidlock_release(int fd);

#endif
