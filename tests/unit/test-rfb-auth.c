/* VNC authentication in net/rfb-auth.c, checked against libvncserver's
 * own DES helpers: challenges, responses, and password files in both the
 * text and the vncpasswd formats. */
#include "net/rfb-auth.h"

#include <errno.h>
#include <fcntl.h>
#include <rfb/rfbproto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define LEN RFB_VNC_CHALLENGE_LEN

static void respond(const uint8_t challenge[LEN], const char *password,
		    uint8_t response[LEN])
{
	char key[64];

	snprintf(key, sizeof(key), "%s", password);
	memcpy(response, challenge, LEN);
	rfbEncryptBytes(response, key);
}

static void test_challenge_random(void **state)
{
	uint8_t buf[40][LEN + 2];

	for (size_t i = 0; i < 40; i++) {
		memset(buf[i], 0xa5, sizeof(buf[i]));
		assert_int_equal(rfb_auth_new_challenge(buf[i] + 1), 0);
		/* Exactly LEN bytes are written. */
		assert_int_equal(buf[i][0], 0xa5);
		assert_int_equal(buf[i][LEN + 1], 0xa5);
	}
	for (size_t i = 0; i < 40; i++)
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(buf[i] + 1, buf[j] + 1, LEN);
	/* Every byte varies, not only some of them. */
	for (size_t k = 1; k <= LEN; k++) {
		bool varies = false;

		for (size_t i = 1; i < 40; i++)
			varies |= buf[i][k] != buf[0][k];
		assert_true(varies);
	}
}

static void test_check_response(void **state)
{
	uint8_t challenge[LEN], response[LEN];

	assert_int_equal(rfb_auth_new_challenge(challenge), 0);
	respond(challenge, "s3cret", response);
	assert_true(rfb_auth_check(challenge, response, "s3cret"));
	assert_false(rfb_auth_check(challenge, response, "s3creT"));
	assert_false(rfb_auth_check(challenge, response, "s3cre"));
	assert_false(rfb_auth_check(challenge, response, "s3crets"));
	assert_false(rfb_auth_check(challenge, response, ""));

	/* A single flipped bit anywhere in the response fails. */
	for (size_t i = 0; i < LEN; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			response[i] ^= (uint8_t)(1u << bit);
			assert_false(
				rfb_auth_check(challenge, response, "s3cret"));
			response[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(rfb_auth_check(challenge, response, "s3cret"));

	/* The response to another challenge fails. */
	challenge[LEN - 1] ^= 1;
	assert_false(rfb_auth_check(challenge, response, "s3cret"));

	/* The challenge itself, sent back, fails. */
	assert_false(rfb_auth_check(challenge, challenge, "s3cret"));
}

/* A fixed vector: the 16 bytes DES-encrypted in two blocks, so the
 * second half of the response counts as much as the first. */
static void test_check_both_halves(void **state)
{
	uint8_t challenge[LEN], response[LEN], other[LEN];

	for (size_t i = 0; i < LEN; i++)
		challenge[i] = (uint8_t)(i * 17 + 3);
	respond(challenge, "pw", response);
	memcpy(other, challenge, LEN);
	other[LEN - 1] ^= 0x80;
	respond(other, "pw", other);
	/* Only the second block differs between the two responses. */
	assert_memory_equal(response, other, 8);
	assert_memory_not_equal(response + 8, other + 8, 8);
	assert_false(rfb_auth_check(challenge, other, "pw"));
	assert_true(rfb_auth_check(challenge, response, "pw"));
}

static void test_eight_characters(void **state)
{
	uint8_t challenge[LEN], response[LEN];

	assert_int_equal(rfb_auth_new_challenge(challenge), 0);
	/* VNC uses the first 8 characters only, on both sides. */
	respond(challenge, "abcdefgh", response);
	assert_true(rfb_auth_check(challenge, response, "abcdefgh"));
	assert_true(rfb_auth_check(challenge, response, "abcdefghijkl"));
	assert_true(rfb_auth_check(challenge, response, "abcdefghX"));
	assert_false(rfb_auth_check(challenge, response, "abcdefg"));
	assert_false(rfb_auth_check(challenge, response, "abcdefgX"));
	respond(challenge, "abcdefghijkl", response);
	assert_true(rfb_auth_check(challenge, response, "abcdefgh"));
}

static char *write_temp(const void *data, size_t len)
{
	char *path = strdup("/tmp/vfbd-test-auth-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Loads `len` bytes of `data` as a password file; returns the result and
 * checks that nothing past the 9-byte output was written. */
static int load(const void *data, size_t len,
		char out[RFB_AUTH_PASSWORD_MAX + 1], const char **why)
{
	char *path = write_temp(data, len);
	char buf[RFB_AUTH_PASSWORD_MAX + 1 + 4];
	int rc;

	memset(buf, 'Z', sizeof(buf));
	*why = "untouched";
	rc = rfb_auth_load_password_file(path, buf, why);
	assert_memory_equal(buf + RFB_AUTH_PASSWORD_MAX + 1, "ZZZZ", 4);
	memcpy(out, buf, RFB_AUTH_PASSWORD_MAX + 1);
	unlink(path);
	free(path);
	if (rc == 0)
		assert_null(*why);
	else
		assert_true(*why && **why && strcmp(*why, "untouched") != 0);
	return rc;
}

static void expect_text(const char *content, size_t len, const char *want)
{
	char out[RFB_AUTH_PASSWORD_MAX + 1];
	const char *why;

	assert_int_equal(load(content, len, out, &why), 0);
	assert_string_equal(out, want);
}

#define TEXT(s, want) expect_text(s, sizeof(s) - 1, want)

static void test_text_files(void **state)
{
	TEXT("secret\n", "secret");
	TEXT("secret", "secret");
	TEXT("secret\r\n", "secret");
	TEXT("secret\rmore", "secret");
	TEXT("first\nsecond\n", "first");
	TEXT("with space\n", "with spa");
	TEXT("abcdefghijklmnop\n", "abcdefgh");
	TEXT("abcdefgh", "abcdefgh");
	TEXT("abcdefghijklmnop", "abcdefgh");
	TEXT("x", "x");
}

/* Files of 8 or 16 bytes are where a vncpasswd file and a text file
 * look alike in length: a text password of 7 or 15 characters and its
 * line ending must still read as text. */
static void test_text_files_of_vncpasswd_length(void **state)
{
	TEXT("secret7\n", "secret7");
	TEXT("passwd\r\n", "passwd");
	TEXT("fifteen-chars!!\n", "fifteen-");
	TEXT("fourteen-chars\r\n", "fourteen");
}

static void test_vncpasswd_files(void **state)
{
	static const struct {
		const char *stored, *want;
	} cases[] = {
		{"vncpw", "vncpw"},
		{"12345678", "12345678"},
		{"123456789abc", "12345678"},
		{"a", "a"},
	};
	char path[] = "/tmp/vfbd-test-vncpasswd-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[RFB_AUTH_PASSWORD_MAX + 1], stored[16];
		const char *why = "untouched";
		uint8_t data[16];
		ssize_t n;

		snprintf(stored, sizeof(stored), "%s", cases[i].stored);
		assert_int_equal(rfbEncryptAndStorePasswd(stored, path), 0);
		assert_int_equal(rfb_auth_load_password_file(path, out, &why),
				 0);
		assert_null(why);
		assert_string_equal(out, cases[i].want);

		/* TigerVNC may append the view-only password: 16 bytes, the
		 * first 8 are the one that counts. */
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		n = read(fd, data, sizeof(data));
		close(fd);
		assert_int_equal(n, 8);
		memcpy(data + 8, data, 8);
		data[8] ^= 0x55;
		assert_int_equal(load(data, 16, out, &why), 0);
		assert_string_equal(out, cases[i].want);
	}
	unlink(path);
}

static void test_bad_files(void **state)
{
	char out[RFB_AUTH_PASSWORD_MAX + 1];
	const char *why = NULL;
	char dir[] = "/tmp/vfbd-test-dir-XXXXXX";

	assert_int_equal(load("", 0, out, &why), -EINVAL);
	assert_int_equal(load("\n", 1, out, &why), -EINVAL);
	assert_int_equal(load("\r\nsecond line\n", 14, out, &why), -EINVAL);
	assert_int_equal(load("\nsecond", 7, out, &why), -EINVAL);

	why = NULL;
	assert_int_equal(rfb_auth_load_password_file("/nonexistent/vfbd/passwd",
						     out, &why),
			 -ENOENT);
	assert_non_null(why);
	assert_string_equal(why, strerror(ENOENT));

	assert_non_null(mkdtemp(dir));
	why = NULL;
	assert_true(rfb_auth_load_password_file(dir, out, &why) < 0);
	assert_non_null(why);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_random),
		cmocka_unit_test(test_check_response),
		cmocka_unit_test(test_check_both_halves),
		cmocka_unit_test(test_eight_characters),
		cmocka_unit_test(test_text_files),
		cmocka_unit_test(test_text_files_of_vncpasswd_length),
		cmocka_unit_test(test_vncpasswd_files),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
