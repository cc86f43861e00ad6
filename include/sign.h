/*
 * sign.h - HMAC-SHA256 and SHA-256 in lowercase hex, through the TLS
 * library libcurl uses (OpenSSL's libcrypto).  Used to sign webhook bodies
 * and to hash record payloads for the skip rule.
 */
#ifndef VOMO_SIGN_H
#define VOMO_SIGN_H

#include <stddef.h>

#define SHA256_HEX_LEN 65

void sign_hmac_sha256_hex(const char *key, size_t key_len, const char *data, size_t len,
                          char out[SHA256_HEX_LEN]);
void sign_sha256_hex(const char *data, size_t len, char out[SHA256_HEX_LEN]);
/* Constant-time comparison of two NUL-terminated strings. */
int sign_equal(const char *a, const char *b);

#endif
