/*
 * netaddr.h - the listen addresses of the local HTTP endpoint as written
 * in the configuration: "127.0.0.1:9464", "[::1]:9464" or "off".  Pure:
 * numeric addresses only (no name lookups), so a typo is an error at
 * check-config rather than a surprise at start.
 */
#ifndef VOMO_NETADDR_H
#define VOMO_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

struct netaddr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Parses "A.B.C.D:PORT" or "[IPV6]:PORT" (port 0..65535; 0 picks a free
 * one).  0, or -EINVAL with *why set to a static explanation. */
int netaddr_parse(const char *s, struct netaddr *out, const char **why) WUR;
/* Whether the address is loopback (127.0.0.0/8 or ::1). */
bool netaddr_is_loopback(const struct netaddr *a);
uint16_t netaddr_port(const struct netaddr *a);
/* "127.0.0.1:9464" or "[::1]:9464" into out. */
void netaddr_format(const struct netaddr *a, char *out, size_t len);

#endif
