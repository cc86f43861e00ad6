/*
 * check_sign.c - HMAC-SHA256 against the RFC 4231 test vectors, SHA-256
 * against FIPS 180-2 examples, and the constant-time comparison.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

static void hmac_is(const char *key, size_t key_len, const char *data, size_t len,
                    const char *expect)
{
    char out[SHA256_HEX_LEN];
    sign_hmac_sha256_hex(key, key_len, data, len, out);
    ck_assert_str_eq(out, expect);
}

START_TEST(test_rfc4231_case1)
{
    char key[20];
    memset(key, 0x0b, sizeof(key));
    hmac_is(key, sizeof(key), "Hi There", 8,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}
END_TEST

START_TEST(test_rfc4231_case2)
{
    hmac_is("Jefe", 4, "what do ya want for nothing?", 28,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(test_rfc4231_case3)
{
    char key[20], data[50];
    memset(key, 0xaa, sizeof(key));
    memset(data, 0xdd, sizeof(data));
    hmac_is(key, sizeof(key), data, sizeof(data),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}
END_TEST

START_TEST(test_rfc4231_case6)
{
    char key[131];
    memset(key, 0xaa, sizeof(key));
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_is(key, sizeof(key), data, strlen(data),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(test_rfc4231_case7)
{
    char key[131];
    memset(key, 0xaa, sizeof(key));
    const char *data = "This is a test using a larger than block-size key and a larger than "
                       "block-size data. The key needs to be hashed before being used by the "
                       "HMAC algorithm.";
    hmac_is(key, sizeof(key), data, strlen(data),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}
END_TEST

START_TEST(test_hmac_empty)
{
    /* HMAC-SHA256 with an empty key over an empty message. */
    hmac_is(NULL, 0, NULL, 0, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    hmac_is("", 0, "", 0, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}
END_TEST

START_TEST(test_sha256)
{
    char out[SHA256_HEX_LEN];
    sign_sha256_hex("", 0, out);
    ck_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sign_sha256_hex(NULL, 0, out);
    ck_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sign_sha256_hex("abc", 3, out);
    ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sign_sha256_hex(two, strlen(two), out);
    ck_assert_str_eq(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* Length is what counts, not the NUL. */
    sign_sha256_hex("abc\0def", 3, out);
    ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_equal)
{
    ck_assert_int_eq(sign_equal("abc123", "abc123"), 1);
    ck_assert_int_eq(sign_equal("", ""), 1);
    ck_assert_int_eq(sign_equal("abc123", "abc124"), 0);
    ck_assert_int_eq(sign_equal("abc123", "abc12"), 0);
    ck_assert_int_eq(sign_equal("abc12", "abc123"), 0);
    ck_assert_int_eq(sign_equal("ABC123", "abc123"), 0);
    ck_assert_int_eq(sign_equal(NULL, "a"), 0);
    ck_assert_int_eq(sign_equal("a", NULL), 0);
    char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];
    sign_hmac_sha256_hex("k", 1, "body", 4, a);
    sign_hmac_sha256_hex("k", 1, "body", 4, b);
    ck_assert_int_eq(sign_equal(a, b), 1);
    sign_hmac_sha256_hex("k", 1, "bodY", 4, b);
    ck_assert_int_eq(sign_equal(a, b), 0);
}
END_TEST

static Suite *sign_suite(void)
{
    Suite *s = suite_create("sign");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rfc4231_case1);
    tcase_add_test(tc, test_rfc4231_case2);
    tcase_add_test(tc, test_rfc4231_case3);
    tcase_add_test(tc, test_rfc4231_case6);
    tcase_add_test(tc, test_rfc4231_case7);
    tcase_add_test(tc, test_hmac_empty);
    tcase_add_test(tc, test_sha256);
    tcase_add_test(tc, test_equal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sign_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
