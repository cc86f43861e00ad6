/*
 * check_vomohint.c - unit suite of VOMO webhook events as data: the
 * vomo-signature check (a one-byte change of the body, a missing or
 * uppercase signature fail), how VOMO's event types map to the resources
 * vomo-sync syncs, record ids, replay keys and the bounded metrics label.
 */
#include <check.h>
#include <string.h>

#include "sign.h"
#include "vomohint.h"

static const char body[] = "{\"type\":\"project.updated\",\"organization_id\":42,\"data\":{\"id\":"
                           "\"0815\",\"name\":\"x\"}}";

static void sign(const char *secret, const char *b, size_t len, char out[SHA256_HEX_LEN])
{
    sign_hmac_sha256_hex(secret, strlen(secret), b, len, out);
}

START_TEST(signature_of_the_raw_body)
{
    char sig[SHA256_HEX_LEN];
    sign("s3cret", body, strlen(body), sig);
    ck_assert(vomohint_signature_ok("s3cret", body, strlen(body), sig));
    char padded[80];
    snprintf(padded, sizeof(padded), "  %s\r\n", sig);
    ck_assert(vomohint_signature_ok("s3cret", body, strlen(body), padded));
    ck_assert(!vomohint_signature_ok("other", body, strlen(body), sig));
    ck_assert(!vomohint_signature_ok("s3cret", body, strlen(body), NULL));
    ck_assert(!vomohint_signature_ok("s3cret", body, strlen(body), ""));
    ck_assert(!vomohint_signature_ok(NULL, body, strlen(body), sig));
    /* one byte of the body changed */
    char changed[sizeof(body)];
    memcpy(changed, body, sizeof(body));
    changed[strlen(changed) - 5] ^= 1;
    ck_assert(!vomohint_signature_ok("s3cret", changed, strlen(changed), sig));
    /* a truncated or uppercase signature */
    char cut[SHA256_HEX_LEN];
    memcpy(cut, sig, SHA256_HEX_LEN);
    cut[63] = '\0';
    ck_assert(!vomohint_signature_ok("s3cret", body, strlen(body), cut));
    char upper[SHA256_HEX_LEN];
    for (int i = 0; i < SHA256_HEX_LEN; i++)
        upper[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
    if (strcmp(upper, sig) != 0)
        ck_assert(!vomohint_signature_ok("s3cret", body, strlen(body), upper));
    /* "sha256=" prefixes are not VOMO's format */
    char prefixed[80];
    snprintf(prefixed, sizeof(prefixed), "sha256=%s", sig);
    ck_assert(!vomohint_signature_ok("s3cret", body, strlen(body), prefixed));
}
END_TEST

START_TEST(types_map_to_our_resources)
{
    static const struct {
        const char *type;
        bool known;
        enum resource res;
        bool deleted;
        const char *label;
    } cases[] = {
        {"project.created", true, RES_PROJECTS, false, "project.created"},
        {"project.updated", true, RES_PROJECTS, false, "project.updated"},
        {"project.deleted", true, RES_PROJECTS, true, "project.deleted"},
        {"user.updated", true, RES_USERS, false, "user.updated"},
        {"volunteer.deleted", true, RES_USERS, true, "volunteer.deleted"},
        {"groups.updated", true, RES_GROUPS, false, "group.updated"},
        {"group.renamed", true, RES_GROUPS, false, "other"},
        {"campaign.updated", false, RES_USERS, false, "campaign.updated"},
        {"participation.created", false, RES_USERS, false, "participation.created"},
        {"spaceship.launched", false, RES_USERS, false, "other"},
        {"project", true, RES_PROJECTS, false, "other"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char b[256];
        snprintf(b, sizeof(b), "{\"type\":\"%s\",\"data\":{\"id\":7}}", cases[i].type);
        struct vomohint h;
        const char *why = NULL;
        ck_assert_int_eq(vomohint_parse(b, strlen(b), &h, &why), 0);
        ck_assert_str_eq(h.type, cases[i].type);
        ck_assert_msg(h.known == cases[i].known, "%s", cases[i].type);
        if (h.known) {
            ck_assert_int_eq(h.resource, cases[i].res);
            ck_assert(h.deleted == cases[i].deleted);
        }
        ck_assert_str_eq(h.type_label, cases[i].label);
        char label[32];
        vomohint_type_label(cases[i].type, label);
        ck_assert_str_eq(label, cases[i].label);
    }
}
END_TEST

START_TEST(ids_and_replay_keys)
{
    struct vomohint h;
    const char *why = NULL;
    ck_assert_int_eq(vomohint_parse(body, strlen(body), &h, &why), 0);
    ck_assert_str_eq(h.record_id, "815");
    ck_assert_str_eq(h.organization_id, "42");
    char hex[SHA256_HEX_LEN], want[80];
    sign_sha256_hex(body, strlen(body), hex);
    snprintf(want, sizeof(want), "sha256:%s", hex);
    ck_assert_str_eq(h.event_key, want);
    /* An event id of VOMO's is the key instead, whatever else differs. */
    const char *a = "{\"id\":\"evt_9\",\"type\":\"user.updated\",\"data\":{\"id\":5}}";
    const char *b = "{\"type\":\"user.updated\",\"id\":\"evt_9\",\"data\":{\"id\":5},\"x\":1}";
    ck_assert_int_eq(vomohint_parse(a, strlen(a), &h, &why), 0);
    ck_assert_str_eq(h.event_key, "id:evt_9");
    ck_assert_str_eq(h.record_id, "5");
    ck_assert_int_eq(vomohint_parse(b, strlen(b), &h, &why), 0);
    ck_assert_str_eq(h.event_key, "id:evt_9");
    const char *c = "{\"event_id\":77,\"type\":\"user.updated\",\"data\":{\"id\":5}}";
    ck_assert_int_eq(vomohint_parse(c, strlen(c), &h, &why), 0);
    ck_assert_str_eq(h.event_key, "id:77");
    ck_assert_str_eq(h.organization_id, "");
}
END_TEST

START_TEST(bad_events_are_refused)
{
    struct vomohint h;
    const char *why = NULL;
    static const char *const bad[] = {"",
                                      "[]",
                                      "{\"data\":{}}",
                                      "{\"type\":7}",
                                      "{\"type\":\"\"}",
                                      "not json",
                                      "{\"type\":\"project.updated\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        ck_assert_int_lt(vomohint_parse(bad[i], strlen(bad[i]), &h, &why), 0);
        ck_assert_ptr_nonnull(why);
    }
    /* Odd ids name no record (the hint then asks for a scan). */
    static const char *const odd[] = {
        "{\"type\":\"project.updated\",\"data\":{\"id\":-3}}",
        "{\"type\":\"project.updated\",\"data\":{\"id\":\"12a\"}}",
        "{\"type\":\"project.updated\",\"data\":{\"id\":1.5}}",
        "{\"type\":\"project.updated\",\"data\":{\"id\":\"0\"}}",
        "{\"type\":\"project.updated\",\"data\":\"nope\"}",
        "{\"type\":\"project.updated\"}",
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        ck_assert_int_eq(vomohint_parse(odd[i], strlen(odd[i]), &h, &why), 0);
        ck_assert_msg(h.record_id[0] == '\0', "%s gave %s", odd[i], h.record_id);
        ck_assert(h.known);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vomohint");
    TCase *tc = tcase_create("vomohint");
    tcase_add_test(tc, signature_of_the_raw_body);
    tcase_add_test(tc, types_map_to_our_resources);
    tcase_add_test(tc, ids_and_replay_keys);
    tcase_add_test(tc, bad_events_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
