/*
 * sign.c - SHA-256 and HMAC-SHA256 as lowercase hex, through OpenSSL's
 * libcrypto (already linked for libcurl's TLS): webhook bodies are signed
 * with the tenant's secret, record payloads are hashed for the skip rule.
 * Only the EVP and HMAC() interfaces are used, which OpenSSL 3 does not
 * deprecate, and signatures are compared in constant time.
 */
#include "sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A zero-length key or message may come as NULL; libcrypto wants a pointer. */
static const unsigned char nothing[1];

static void to_hex(const unsigned char *md, unsigned int n, char out[SHA256_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n && i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 0x0f];
    }
    out[64] = '\0';
}

/* libcrypto failing to hash means it is broken (or out of memory): a wrong
 * signature would fail silently downstream, so stop loudly instead. */
static void crypto_failed(const char *what)
{
    fprintf(stderr, "vomo-sync: libcrypto failed to compute %s\n", what);
    abort();
}

void sign_hmac_sha256_hex(const char *key, size_t key_len, const char *data, size_t len,
                          char out[SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const void *k = key && key_len ? (const void *)key : (const void *)nothing;
    const unsigned char *d = data && len ? (const unsigned char *)data : nothing;

    if (key_len > INT32_MAX)
        crypto_failed("HMAC-SHA256 (key too long)");
    if (!HMAC(EVP_sha256(), k, (int)key_len, d, len, md, &n) || n != 32)
        crypto_failed("HMAC-SHA256");
    to_hex(md, n, out);
}

/*
 * EVP_sha256() makes OpenSSL 3 look the algorithm up in its providers on
 * every digest (more work than hashing a record); the fetched digest and a
 * context are kept per thread and reused.  Never freed: one of each per
 * thread for the life of the process.
 */
static _Thread_local EVP_MD *sha256_md;
static _Thread_local EVP_MD_CTX *sha256_ctx;

void sign_sha256_hex(const char *data, size_t len, char out[SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const void *d = data && len ? (const void *)data : (const void *)nothing;

    if (!sha256_md && !(sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)))
        crypto_failed("SHA-256 (no implementation)");
    if (!sha256_ctx && !(sha256_ctx = EVP_MD_CTX_new()))
        crypto_failed("SHA-256 (out of memory)");
    if (!EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) || !EVP_DigestUpdate(sha256_ctx, d, len) ||
        !EVP_DigestFinal_ex(sha256_ctx, md, &n) || n != 32)
        crypto_failed("SHA-256");
    to_hex(md, n, out);
}

int sign_equal(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}
