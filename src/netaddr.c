/*
 * netaddr.c - parsing and printing the endpoint's listen addresses (see
 * netaddr.h).
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port)
{
    int64_t v;
    if (!*s || parse_i64(s, &v) < 0 || v < 0 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

int netaddr_parse(const char *s, struct netaddr *out, const char **why)
{
    char host[64];
    const char *colon;
    memset(out, 0, sizeof(*out));
    *why = "expected HOST:PORT with a numeric IPv4 address or [IPv6] (e.g. 127.0.0.1:9464), "
           "or off";
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        colon = end + 1;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;
        uint16_t port;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1 || parse_port(colon + 1, &port) < 0)
            return -EINVAL;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        out->len = sizeof(*a6);
        return 0;
    }
    colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;
    uint16_t port;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1 || parse_port(colon + 1, &port) < 0)
        return -EINVAL;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    out->len = sizeof(*a4);
    return 0;
}

bool netaddr_is_loopback(const struct netaddr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
        return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
    return a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

uint16_t netaddr_port(const struct netaddr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

void netaddr_format(const struct netaddr *a, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (a->ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, host, sizeof(host));
        snprintf(out, len, "%s:%u", host, netaddr_port(a));
    } else {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, host, sizeof(host));
        snprintf(out, len, "[%s]:%u", host, netaddr_port(a));
    }
}
