/*
 * fake_hooks.c - the webhook sink of the fake: POST /_hooks/{tenant} is
 * where the daemon's webhook destination delivers in tests.  Every delivery
 * is recorded; when a secret is configured for the tenant the
 * X-Vomo-Sync-Signature header must be "sha256=" and the lowercase hex
 * HMAC-SHA256 of the body, else the sink answers 401.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "fake_int.h"

static void hmac_hex(const char *key, const char *data, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, strlen(data), mac, &len);
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    out[64] = '\0';
}

/* Compares without an early exit, as a real receiver should. */
static bool same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

bool fake_hooks_verify_locked(struct fake *f, const char *tenant, const char *body,
                              const char *signature)
{
    const char *secret = fake_secret_locked(f, tenant);
    if (!secret)
        return true;
    if (!signature || strncmp(signature, "sha256=", 7) != 0)
        return false;
    char want[65];
    hmac_hex(secret, body ? body : "", want);
    return same(signature + 7, want);
}

void fake_hooks_record_locked(struct fake *f, const char *tenant, const char *body,
                              const char *signature, const char *idem, int status, bool sig_ok)
{
    struct fake_delivery d = {
        .time_ms = clock_wall_ms(),
        .tenant = (char *)tenant,
        .signature = (char *)(signature ? signature : ""),
        .idempotency_key = (char *)(idem ? idem : ""),
        .body = (char *)(body ? body : ""),
        .status = status,
        .signature_ok = sig_ok,
    };
    fake_log_delivery_locked(f, &d);
}
