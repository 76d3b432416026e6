/* Unit tests for net/rfb-parse.c: every handshake path, every client
 * message (delivered whole and one byte at a time), and the hostile
 * inputs of research/reliability.md sections 2.1 and 2.2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/rfb-parse.h"
#include "vfbd/base/bytes.h"

static const uint8_t sec_none[] = {RFB_SEC_NONE};
static const uint8_t sec_vnc[] = {RFB_SEC_VNC_AUTH};
static const uint8_t sec_both[] = {RFB_SEC_NONE, RFB_SEC_VNC_AUTH};
static const uint8_t sec_vnc_first[] = {RFB_SEC_VNC_AUTH, RFB_SEC_NONE};

#define V33 "RFB 003.003\n"
#define V37 "RFB 003.007\n"
#define V38 "RFB 003.008\n"

/* A private copy of exactly n bytes, so that ASan catches any read past
 * what the parser was told it has. */
static uint8_t *dup_exact(const void *bytes, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	assert_non_null(b);
	if (n)
		memcpy(b, bytes, n);
	return b;
}

static bool pixfmt_equal(const struct rfb_pixfmt *a, const struct rfb_pixfmt *b)
{
	return a->bpp == b->bpp && a->depth == b->depth &&
	       a->big_endian == b->big_endian &&
	       a->true_colour == b->true_colour && a->red_max == b->red_max &&
	       a->green_max == b->green_max && a->blue_max == b->blue_max &&
	       a->red_shift == b->red_shift &&
	       a->green_shift == b->green_shift &&
	       a->blue_shift == b->blue_shift;
}

static bool msg_equal(const struct rfb_msg *a, const struct rfb_msg *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case RFB_MSG_VERSION:
		return a->u.minor == b->u.minor;
	case RFB_MSG_SECURITY_CHOICE:
		return a->u.security == b->u.security;
	case RFB_MSG_AUTH_RESPONSE:
		return memcmp(a->u.auth_response, b->u.auth_response, 16) == 0;
	case RFB_MSG_CLIENT_INIT:
		return a->u.shared == b->u.shared;
	case RFB_MSG_SET_PIXEL_FORMAT:
		return pixfmt_equal(&a->u.pixfmt, &b->u.pixfmt);
	case RFB_MSG_SET_ENCODINGS:
		return a->u.encodings.list == b->u.encodings.list &&
		       a->u.encodings.count == b->u.encodings.count;
	case RFB_MSG_UPDATE_REQUEST:
		return a->u.update.incremental == b->u.update.incremental &&
		       a->u.update.x == b->u.update.x &&
		       a->u.update.y == b->u.update.y &&
		       a->u.update.w == b->u.update.w &&
		       a->u.update.h == b->u.update.h;
	case RFB_MSG_KEY:
		return a->u.key.down == b->u.key.down &&
		       a->u.key.keysym == b->u.key.keysym;
	case RFB_MSG_POINTER:
		return a->u.pointer.buttons == b->u.pointer.buttons &&
		       a->u.pointer.x == b->u.pointer.x &&
		       a->u.pointer.y == b->u.pointer.y;
	case RFB_MSG_CUT_TEXT:
		return a->u.cut_text.text == b->u.cut_text.text &&
		       a->u.cut_text.len == b->u.cut_text.len;
	case RFB_MSG_QEMU_KEY:
		return a->u.qemu_key.down == b->u.qemu_key.down &&
		       a->u.qemu_key.keysym == b->u.qemu_key.keysym &&
		       a->u.qemu_key.keycode == b->u.qemu_key.keycode;
	case RFB_MSG_FENCE:
		return a->u.fence.flags == b->u.fence.flags &&
		       a->u.fence.len == b->u.fence.len &&
		       a->u.fence.payload == b->u.fence.payload;
	case RFB_MSG_CONTINUOUS_UPDATES:
		return a->u.continuous.enable == b->u.continuous.enable &&
		       a->u.continuous.x == b->u.continuous.x &&
		       a->u.continuous.w == b->u.continuous.w;
	case RFB_MSG_SET_DESKTOP_SIZE:
		return a->u.desktop_size.width == b->u.desktop_size.width &&
		       a->u.desktop_size.screens == b->u.desktop_size.screens &&
		       a->u.desktop_size.layout == b->u.desktop_size.layout;
	}
	return false;
}

static void assert_parsed(ssize_t r, size_t want, const char *reason)
{
	if (r != (ssize_t)want)
		print_error("rfb_parse returned %zd, wanted %zu (reason: %s)\n",
			    r, want, r < 0 && reason ? reason : "-");
	assert_int_equal(r, want);
}

/* Feeds one whole message of `len` bytes twice: to a copy of the parser
 * one byte more at a time (every proper prefix must return 0 and leave
 * the phase and *msg alone), and to `p` all at once. Both must consume
 * exactly `len` bytes and agree. Returns the buffer that msg points into;
 * the caller frees it. Long messages are probed at their edges only. */
static uint8_t *expect_msg(struct rfb_parser *p, const void *bytes, size_t len,
			   struct rfb_msg *msg)
{
	struct rfb_parser q = *p;
	struct rfb_msg m, sentinel;
	const char *reason = NULL;
	uint8_t *full = dup_exact(bytes, len);
	ssize_t r;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	for (size_t k = 0; k < len; k++) {
		uint8_t *part;

		if (len > 4096 && k > 9 && k < len - 2)
			continue;
		part = dup_exact(bytes, k);
		m = sentinel;
		r = rfb_parse(&q, part, k, &m, &reason);
		free(part);
		if (r != 0)
			print_error("prefix of %zu/%zu bytes gave %zd (%s)\n",
				    k, len, r, r < 0 ? reason : "-");
		assert_int_equal(r, 0);
		assert_int_equal(q.phase, p->phase);
		assert_memory_equal(&m, &sentinel, sizeof(m));
	}
	r = rfb_parse(&q, full, len, &m, &reason);
	assert_parsed(r, len, reason);
	r = rfb_parse(p, full, len, msg, &reason);
	assert_parsed(r, len, reason);
	assert_int_equal(p->phase, q.phase);
	assert_int_equal(p->minor, q.minor);
	assert_true(msg_equal(msg, &m));
	return full;
}

/* expect_msg() for messages whose fields are checked without pointers. */
static void expect_msg_free(struct rfb_parser *p, const void *bytes, size_t len,
			    struct rfb_msg *msg)
{
	free(expect_msg(p, bytes, len, msg));
}

/* Expects `bytes` to fail with exactly `why`, leaving the parser dead. */
static void expect_error(struct rfb_parser *p, const void *bytes, size_t len,
			 const char *why)
{
	struct rfb_msg m, sentinel;
	const char *reason = NULL;
	uint8_t *b = dup_exact(bytes, len);
	ssize_t r;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	m = sentinel;
	r = rfb_parse(p, b, len, &m, &reason);
	free(b);
	assert_int_equal(r, -EPROTO);
	assert_int_equal(p->phase, RFB_PHASE_DEAD);
	assert_non_null(reason);
	assert_true(strlen(reason) > 0);
	if (why)
		assert_string_equal(reason, why);
	assert_memory_equal(&m, &sentinel, sizeof(m));
}

/* Takes a fresh parser through a 3.8 None handshake. */
static void to_normal(struct rfb_parser *p, uint32_t cut_text_max)
{
	struct rfb_msg m;

	rfb_parser_init(p, sec_none, 1, cut_text_max);
	expect_msg_free(p, V38, 12, &m);
	expect_msg_free(p, "\x01", 1, &m);
	expect_msg_free(p, "\x01", 1, &m);
	assert_int_equal(p->phase, RFB_PHASE_NORMAL);
}

static void test_init(void **state)
{
	struct rfb_parser p;

	memset(&p, 0xff, sizeof(p));
	rfb_parser_init(&p, sec_vnc_first, 2, 4096);
	assert_int_equal(p.phase, RFB_PHASE_VERSION);
	assert_int_equal(p.n_offered, 2);
	assert_int_equal(p.offered[0], RFB_SEC_VNC_AUTH);
	assert_int_equal(p.offered[1], RFB_SEC_NONE);
	assert_int_equal(p.cut_text_max, 4096);

	rfb_parser_init(&p, sec_none, 1, UINT32_MAX);
	assert_int_equal(p.cut_text_max, RFB_CUT_TEXT_MAX);
	rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX + 1);
	assert_int_equal(p.cut_text_max, RFB_CUT_TEXT_MAX);
}

static void test_handshake_33_none(void **state)
{
	struct rfb_parser p;
	struct rfb_msg m;

	rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, V33, 12, &m);
	assert_int_equal(m.type, RFB_MSG_VERSION);
	assert_int_equal(m.u.minor, 3);
	assert_int_equal(p.minor, 3);
	assert_int_equal(p.phase, RFB_PHASE_CLIENT_INIT);

	expect_msg_free(&p, "\x01", 1, &m);
	assert_int_equal(m.type, RFB_MSG_CLIENT_INIT);
	assert_true(m.u.shared);
	assert_int_equal(p.phase, RFB_PHASE_NORMAL);
}

static void test_handshake_33_vnc(void **state)
{
	static const uint8_t resp[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
					 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
					 0xcc, 0xdd, 0xee, 0xff};
	struct rfb_parser p;
	struct rfb_msg m;

	rfb_parser_init(&p, sec_vnc, 1, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, V33, 12, &m);
	assert_int_equal(m.u.minor, 3);
	assert_int_equal(p.phase, RFB_PHASE_AUTH_RESPONSE);

	expect_msg_free(&p, resp, sizeof(resp), &m);
	assert_int_equal(m.type, RFB_MSG_AUTH_RESPONSE);
	assert_memory_equal(m.u.auth_response, resp, sizeof(resp));
	assert_int_equal(p.phase, RFB_PHASE_CLIENT_INIT);

	expect_msg_free(&p, "\x00", 1, &m);
	assert_int_equal(m.type, RFB_MSG_CLIENT_INIT);
	assert_false(m.u.shared);
	assert_int_equal(p.phase, RFB_PHASE_NORMAL);
}

/* In 3.3 the server imposes offered[0], whatever else it lists. */
static void test_handshake_33_uses_first_offered(void **state)
{
	struct rfb_parser p;
	struct rfb_msg m;

	rfb_parser_init(&p, sec_vnc_first, 2, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, V33, 12, &m);
	assert_int_equal(p.phase, RFB_PHASE_AUTH_RESPONSE);

	rfb_parser_init(&p, sec_both, 2, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, V33, 12, &m);
	assert_int_equal(p.phase, RFB_PHASE_CLIENT_INIT);
}

/* A 3.3 client cannot be given a type the parser has no phase for:
 * going straight to ClientInit would skip authentication. */
static void test_handshake_33_unknown_type_fails_closed(void **state)
{
	static const uint8_t vencrypt[] = {19};
	struct rfb_parser p;

	rfb_parser_init(&p, vencrypt, 1, RFB_CUT_TEXT_MAX);
	expect_error(&p, V33, 12, "security type 19 has no handshake in vfbd");
}

static void handshake_3x(const char *version, int minor, uint8_t choice,
			 enum rfb_phase after)
{
	struct rfb_parser p;
	struct rfb_msg m;

	rfb_parser_init(&p, sec_both, 2, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, version, 12, &m);
	assert_int_equal(m.type, RFB_MSG_VERSION);
	assert_int_equal(m.u.minor, minor);
	assert_int_equal(p.minor, minor);
	assert_int_equal(p.phase, RFB_PHASE_SECURITY_CHOICE);

	expect_msg_free(&p, &choice, 1, &m);
	assert_int_equal(m.type, RFB_MSG_SECURITY_CHOICE);
	assert_int_equal(m.u.security, choice);
	assert_int_equal(p.phase, after);
	if (after == RFB_PHASE_AUTH_RESPONSE) {
		expect_msg_free(&p, "0123456789abcdef", 16, &m);
		assert_memory_equal(m.u.auth_response, "0123456789abcdef", 16);
		assert_int_equal(p.phase, RFB_PHASE_CLIENT_INIT);
	}
	expect_msg_free(&p, "\x07", 1, &m);
	assert_true(m.u.shared);
	assert_int_equal(p.phase, RFB_PHASE_NORMAL);
}

static void test_handshake_37(void **state)
{
	handshake_3x(V37, 7, RFB_SEC_NONE, RFB_PHASE_CLIENT_INIT);
	handshake_3x(V37, 7, RFB_SEC_VNC_AUTH, RFB_PHASE_AUTH_RESPONSE);
}

static void test_handshake_38(void **state)
{
	handshake_3x(V38, 8, RFB_SEC_NONE, RFB_PHASE_CLIENT_INIT);
	handshake_3x(V38, 8, RFB_SEC_VNC_AUTH, RFB_PHASE_AUTH_RESPONSE);
}

/* RFC 6143: 3.4 to 3.6 are treated as 3.3. */
static void test_version_34_to_36_mean_33(void **state)
{
	static const char *const v[] = {"RFB 003.004\n", "RFB 003.005\n",
					"RFB 003.006\n"};
	struct rfb_parser p;
	struct rfb_msg m;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rfb_parser_init(&p, sec_vnc, 1, RFB_CUT_TEXT_MAX);
		expect_msg_free(&p, v[i], 12, &m);
		assert_int_equal(m.u.minor, 3);
		assert_int_equal(p.minor, 3);
		assert_int_equal(p.phase, RFB_PHASE_AUTH_RESPONSE);
	}
}

/* Apple's 3.889 and anything newer get 3.8. */
static void test_version_above_8_means_38(void **state)
{
	static const char *const v[] = {"RFB 003.889\n", "RFB 003.009\n",
					"RFB 003.999\n", "RFB 003.010\n"};
	struct rfb_parser p;
	struct rfb_msg m;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
		expect_msg_free(&p, v[i], 12, &m);
		assert_int_equal(m.u.minor, 8);
		assert_int_equal(p.minor, 8);
		assert_int_equal(p.phase, RFB_PHASE_SECURITY_CHOICE);
	}
}

static void test_bad_versions(void **state)
{
	static const char *const bad[] = {
		"XXXXXXXXXXXX",
		"RFB 004.000\n",
		"RFB 003.00\0\0",
		"RFB 00a.003\n",
		"RFB 003.00a\n",
		"RFB 003.003\r",
		"RFB 003.003 ",
		"RFB 003,008\n",
		"rfb 003.008\n",
		"RFB_003.008\n",
		"RFB 003.002\n",
		"RFB 003.000\n",
		"RFB 999.999\n",
		"RFB 000.003\n",
		"RFB 002.008\n",
		"RFB  03.008\n",
		"RFB 003.-08\n",
		"RFB 003.8\n\0\0",
		"\0\0\0\0\0\0\0\0\0\0\0\0",
		"GET / HTTP/1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rfb_parser p;

		rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
		expect_error(&p, bad[i], 12, NULL);
		/* Once dead, even a valid version is refused. */
		expect_error(&p, V38, 12, NULL);
	}
}

/* A prefix that can no longer match fails at once; one that still can
 * waits. */
static void test_version_prefixes(void **state)
{
	struct rfb_parser p;
	struct rfb_msg m;
	ssize_t r;

	rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
	expect_error(&p, "X", 1, "malformed protocol version");

	rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
	expect_error(&p, "RFB 004", 7, "unsupported protocol version 004.xxx");

	rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
	expect_error(&p, "RFB 003.002\n", 12,
		     "unsupported protocol version 003.002");

	rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
	r = rfb_parse(&p, (const uint8_t *)"RFB 003.00", 10, &m, NULL);
	assert_int_equal(r, 0);
	assert_int_equal(p.phase, RFB_PHASE_VERSION);
	expect_error(&p, "RFB 003.00\0", 11, "malformed protocol version");
}

/* Bytes after the version belong to the next message. */
static void test_version_consumes_12(void **state)
{
	static const char buf[] = V38 "\x01\x01";
	struct rfb_parser p;
	struct rfb_msg m;
	ssize_t r;

	rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
	r = rfb_parse(&p, (const uint8_t *)buf, sizeof(buf) - 1, &m, NULL);
	assert_int_equal(r, 12);
	assert_int_equal(p.phase, RFB_PHASE_SECURITY_CHOICE);
}

static void expect_not_offered(const char *version, const uint8_t *offered,
			       unsigned n, uint8_t choice)
{
	struct rfb_parser p;
	struct rfb_msg m;
	char why[64];

	rfb_parser_init(&p, offered, n, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, version, 12, &m);
	snprintf(why, sizeof(why), "security type %u was not offered", choice);
	expect_error(&p, &choice, 1, why);
	/* Nothing buffered behind the bad choice is parsed (neatvnc a90c491).
	 */
	expect_error(&p, "\x01", 1, NULL);
}

static void test_security_not_offered(void **state)
{
	static const uint8_t hostile[] = {0, 2, 19, 16, 255};
	static const char *const versions[] = {V37, V38};

	for (size_t v = 0; v < 2; v++) {
		for (size_t i = 0; i < sizeof(hostile); i++)
			expect_not_offered(versions[v], sec_none, 1,
					   hostile[i]);
		/* CVE-2006-2450 / CVE-2024-42458: None when only VNC auth
		 * was offered. */
		expect_not_offered(versions[v], sec_vnc, 1, RFB_SEC_NONE);
		expect_not_offered(versions[v], sec_vnc, 1, 0);
		expect_not_offered(versions[v], sec_both, 2, 0);
		expect_not_offered(versions[v], sec_both, 2, 19);
		expect_not_offered(versions[v], sec_both, 2, 255);
	}
}

/* Type 0 is "failure", never a choice, even if a caller lists it. */
static void test_security_zero_never_accepted(void **state)
{
	static const uint8_t with_zero[] = {RFB_SEC_INVALID, RFB_SEC_NONE};
	struct rfb_parser p;
	struct rfb_msg m;

	expect_not_offered(V38, with_zero, 2, 0);

	rfb_parser_init(&p, with_zero, 2, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, V38, 12, &m);
	expect_msg_free(&p, "\x01", 1, &m);
	assert_int_equal(p.phase, RFB_PHASE_CLIENT_INIT);
}

/* An offered type the parser has no phase for fails closed. */
static void test_security_offered_unknown_fails_closed(void **state)
{
	static const uint8_t offered[] = {19, RFB_SEC_VNC_AUTH};
	struct rfb_parser p;
	struct rfb_msg m;

	rfb_parser_init(&p, offered, 2, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, V38, 12, &m);
	expect_error(&p, "\x13", 1,
		     "security type 19 has no handshake in vfbd");
}

static void test_set_pixel_format(void **state)
{
	/* RGB565 big-endian, with junk in all padding bytes. */
	static const uint8_t msg[20] = {
		0x00, 0xff, 0xff, 0xff, 0x10, 0x10, 0x01, 0x01, 0x00, 0x1f,
		0x00, 0x3f, 0x00, 0x1f, 0x0b, 0x05, 0x00, 0xee, 0xee, 0xee};
	/* bpp 0 (CVE-2014-7815) still parses: checking is the caller's. */
	static const uint8_t bad[20] = {0x00, 0,    0,	  0,	0x00, 0x18,
					0x00, 0x01, 0x00, 0xff, 0x00, 0xff,
					0x00, 0xff, 0x10, 0x08, 0x00};
	struct rfb_parser p;
	struct rfb_msg m;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, msg, sizeof(msg), &m);
	assert_int_equal(m.type, RFB_MSG_SET_PIXEL_FORMAT);
	assert_int_equal(m.u.pixfmt.bpp, 16);
	assert_int_equal(m.u.pixfmt.depth, 16);
	assert_int_equal(m.u.pixfmt.big_endian, 1);
	assert_int_equal(m.u.pixfmt.true_colour, 1);
	assert_int_equal(m.u.pixfmt.red_max, 31);
	assert_int_equal(m.u.pixfmt.green_max, 63);
	assert_int_equal(m.u.pixfmt.blue_max, 31);
	assert_int_equal(m.u.pixfmt.red_shift, 11);
	assert_int_equal(m.u.pixfmt.green_shift, 5);
	assert_int_equal(m.u.pixfmt.blue_shift, 0);
	assert_int_equal(p.phase, RFB_PHASE_NORMAL);

	expect_msg_free(&p, bad, sizeof(bad), &m);
	assert_int_equal(m.type, RFB_MSG_SET_PIXEL_FORMAT);
	assert_int_equal(m.u.pixfmt.bpp, 0);
	assert_int_equal(m.u.pixfmt.depth, 24);
	assert_int_equal(m.u.pixfmt.red_shift, 16);
}

static void test_set_encodings(void **state)
{
	static const uint8_t msg[] = {0x02, 0x00, 0x00, 0x03, 0x00, 0x00,
				      0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
				      0xff, 0xff, 0xff, 0x21};
	struct rfb_parser p;
	struct rfb_msg m;
	uint8_t *buf;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	buf = expect_msg(&p, msg, sizeof(msg), &m);
	assert_int_equal(m.type, RFB_MSG_SET_ENCODINGS);
	assert_int_equal(m.u.encodings.count, 3);
	assert_ptr_equal(m.u.encodings.list, buf + 4);
	assert_int_equal(get_be32s(m.u.encodings.list), RFB_ENC_ZRLE);
	assert_int_equal(get_be32s(m.u.encodings.list + 4), RFB_ENC_RAW);
	assert_int_equal(get_be32s(m.u.encodings.list + 8),
			 RFB_ENC_DESKTOP_SIZE);
	free(buf);
}

/* CVE-2008-2382 class: n = 0 is a complete 4-byte message, and what
 * follows is parsed, not waited for. */
static void test_set_encodings_empty(void **state)
{
	static const uint8_t buf[] = {0x02, 0x00, 0x00, 0x00, 0x04, 0x01,
				      0x00, 0x00, 0x00, 0x00, 0x00, 0x61};
	struct rfb_parser p;
	struct rfb_msg m;
	ssize_t r;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	r = rfb_parse(&p, buf, sizeof(buf), &m, NULL);
	assert_int_equal(r, 4);
	assert_int_equal(m.type, RFB_MSG_SET_ENCODINGS);
	assert_int_equal(m.u.encodings.count, 0);
	r = rfb_parse(&p, buf + 4, sizeof(buf) - 4, &m, NULL);
	assert_int_equal(r, 8);
	assert_int_equal(m.type, RFB_MSG_KEY);
	assert_int_equal(m.u.key.keysym, 0x61);

	to_normal(&p, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, buf, 4, &m);
	assert_int_equal(m.u.encodings.count, 0);
}

static void test_set_encodings_max(void **state)
{
	const size_t len = 4 + 65535 * 4;
	uint8_t *msg = calloc(1, len);
	struct rfb_parser p;
	struct rfb_msg m;
	uint8_t *buf;

	assert_non_null(msg);
	msg[0] = RFB_C2S_SET_ENCODINGS;
	put_be16(msg + 2, 65535);
	for (uint32_t i = 0; i < 65535; i++)
		put_be32(msg + 4 + 4 * i, i * 7u);

	to_normal(&p, 16);
	assert_int_equal(rfb_parse_max_message(&p), len);
	buf = expect_msg(&p, msg, len, &m);
	assert_int_equal(m.type, RFB_MSG_SET_ENCODINGS);
	assert_int_equal(m.u.encodings.count, 65535);
	assert_ptr_equal(m.u.encodings.list, buf + 4);
	assert_int_equal(get_be32(m.u.encodings.list + 4 * 65534), 65534u * 7u);
	free(buf);
	free(msg);
}

static void test_update_request(void **state)
{
	/* Any non-zero flag byte means true. */
	static const uint8_t inc[] = {0x03, 0x02, 0x01, 0x02, 0x03,
				      0x04, 0x05, 0x06, 0x07, 0x08};
	static const uint8_t full[] = {0x03, 0x00, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xfe};
	struct rfb_parser p;
	struct rfb_msg m;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, inc, sizeof(inc), &m);
	assert_int_equal(m.type, RFB_MSG_UPDATE_REQUEST);
	assert_true(m.u.update.incremental);
	assert_int_equal(m.u.update.x, 0x0102);
	assert_int_equal(m.u.update.y, 0x0304);
	assert_int_equal(m.u.update.w, 0x0506);
	assert_int_equal(m.u.update.h, 0x0708);

	expect_msg_free(&p, full, sizeof(full), &m);
	assert_false(m.u.update.incremental);
	assert_int_equal(m.u.update.x, 0xffff);
	assert_int_equal(m.u.update.y, 0xffff);
	assert_int_equal(m.u.update.w, 0xffff);
	assert_int_equal(m.u.update.h, 0xfffe);
}

static void test_key_event(void **state)
{
	static const uint8_t down[] = {0x04, 0x80, 0x00, 0x00,
				       0xff, 0xff, 0xff, 0xff};
	static const uint8_t up[] = {0x04, 0x00, 0xab, 0xcd,
				     0x00, 0x00, 0xff, 0x0d};
	struct rfb_parser p;
	struct rfb_msg m;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, down, sizeof(down), &m);
	assert_int_equal(m.type, RFB_MSG_KEY);
	assert_true(m.u.key.down);
	assert_int_equal(m.u.key.keysym, 0xffffffffu);

	expect_msg_free(&p, up, sizeof(up), &m);
	assert_false(m.u.key.down);
	assert_int_equal(m.u.key.keysym, 0xff0d);
}

static void test_pointer_event(void **state)
{
	static const uint8_t msg[] = {0x05, 0xff, 0xff, 0xff, 0x12, 0x34};
	static const uint8_t msg2[] = {0x05, 0x01, 0x00, 0x02, 0x00, 0x00};
	struct rfb_parser p;
	struct rfb_msg m;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	expect_msg_free(&p, msg, sizeof(msg), &m);
	assert_int_equal(m.type, RFB_MSG_POINTER);
	assert_int_equal(m.u.pointer.buttons, 0xff);
	assert_int_equal(m.u.pointer.x, 0xffff);
	assert_int_equal(m.u.pointer.y, 0x1234);

	expect_msg_free(&p, msg2, sizeof(msg2), &m);
	assert_int_equal(m.u.pointer.buttons, 1);
	assert_int_equal(m.u.pointer.x, 2);
	assert_int_equal(m.u.pointer.y, 0);
}

static void test_cut_text(void **state)
{
	static const uint8_t msg[] = "\x06\xaa\xbb\xcc\x00\x00\x00\x05hello";
	static const uint8_t empty[] = {0x06, 0, 0, 0, 0, 0, 0, 0};
	struct rfb_parser p;
	struct rfb_msg m;
	uint8_t *buf;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	buf = expect_msg(&p, msg, 13, &m);
	assert_int_equal(m.type, RFB_MSG_CUT_TEXT);
	assert_int_equal(m.u.cut_text.len, 5);
	assert_ptr_equal(m.u.cut_text.text, buf + 8);
	assert_memory_equal(m.u.cut_text.text, "hello", 5);
	free(buf);

	expect_msg_free(&p, empty, sizeof(empty), &m);
	assert_int_equal(m.type, RFB_MSG_CUT_TEXT);
	assert_int_equal(m.u.cut_text.len, 0);
}

static void put_cut_header(uint8_t hdr[8], uint32_t len)
{
	memset(hdr, 0, 8);
	hdr[0] = RFB_C2S_CLIENT_CUT_TEXT;
	put_be32(hdr + 4, len);
}

static void test_cut_text_at_limit(void **state)
{
	uint8_t msg[8 + 16];
	struct rfb_parser p;
	struct rfb_msg m;
	uint8_t *buf;

	put_cut_header(msg, 16);
	memset(msg + 8, 'x', 16);
	to_normal(&p, 16);
	buf = expect_msg(&p, msg, sizeof(msg), &m);
	assert_int_equal(m.u.cut_text.len, 16);
	assert_ptr_equal(m.u.cut_text.text, buf + 8);
	free(buf);
}

/* The limit is enforced on the header alone: no payload is waited for. */
static void test_cut_text_over_limit(void **state)
{
	uint8_t hdr[8];
	struct rfb_parser p;
	struct rfb_msg m;

	put_cut_header(hdr, 17);
	to_normal(&p, 16);
	for (size_t k = 0; k < 8; k++)
		assert_int_equal(rfb_parse(&p, hdr, k, &m, NULL), 0);
	expect_error(&p, hdr, 8, "cut text 17 bytes exceeds limit 16");
}

/* CVE-2014-6053, CVE-2018-7225, CVE-2015-5239, CVE-2017-7395, and the
 * un-negotiated extended clipboard (top bit set). */
static void test_cut_text_hostile_lengths(void **state)
{
	static const uint32_t lens[] = {RFB_CUT_TEXT_MAX + 1, 0x7fffffff,
					0x80000000,	      0x80000001,
					0xfffffffc,	      0xffffffff};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct rfb_parser p;
		uint8_t hdr[8];
		char why[96];

		put_cut_header(hdr, lens[i]);
		to_normal(&p, UINT32_MAX);
		snprintf(why, sizeof(why),
			 "cut text %u bytes exceeds limit 1048576", lens[i]);
		expect_error(&p, hdr, 8, why);
	}
}

static void test_cut_text_default_limit(void **state)
{
	const size_t len = 8 + RFB_CUT_TEXT_MAX;
	uint8_t *msg = malloc(len);
	struct rfb_parser p;
	struct rfb_msg m;
	uint8_t *buf;

	assert_non_null(msg);
	put_cut_header(msg, RFB_CUT_TEXT_MAX);
	memset(msg + 8, 'y', RFB_CUT_TEXT_MAX);
	to_normal(&p, RFB_CUT_TEXT_MAX);
	assert_int_equal(rfb_parse_max_message(&p), len);
	buf = expect_msg(&p, msg, len, &m);
	assert_int_equal(m.u.cut_text.len, RFB_CUT_TEXT_MAX);
	assert_ptr_equal(m.u.cut_text.text, buf + 8);
	free(buf);
	free(msg);
}

static void test_max_message(void **state)
{
	struct rfb_parser p;

	rfb_parser_init(&p, sec_none, 1, RFB_CUT_TEXT_MAX);
	assert_int_equal(rfb_parse_max_message(&p), 8 + (1u << 20));
	rfb_parser_init(&p, sec_none, 1, 0);
	assert_int_equal(rfb_parse_max_message(&p), 262144);
	rfb_parser_init(&p, sec_none, 1, 262136);
	assert_int_equal(rfb_parse_max_message(&p), 262144);
	rfb_parser_init(&p, sec_none, 1, 262137);
	assert_int_equal(rfb_parse_max_message(&p), 262145);
	rfb_parser_init(&p, sec_none, 1, UINT32_MAX);
	assert_int_equal(rfb_parse_max_message(&p), 8 + (1u << 20));
}

/* CM-01: extensions we do not implement, by their first byte alone. */
static void test_unknown_types(void **state)
{
	static const uint8_t types[] = {1,   7,	  8,   9,   10,	 11,
					15,  82,  127, 150, 248, 250,
					251, 252, 253, 254, 255};

	for (size_t i = 0; i < sizeof(types); i++) {
		uint8_t buf[8] = {types[i], 0, 0, 0, 0, 0, 0, 0};
		struct rfb_parser p;
		char why[64];

		snprintf(why, sizeof(why), "unknown message type %u", types[i]);
		to_normal(&p, RFB_CUT_TEXT_MAX);
		expect_error(&p, buf, 1, why);
		expect_error(&p, buf, 8, NULL);

		to_normal(&p, RFB_CUT_TEXT_MAX);
		expect_error(&p, buf, 8, why);
	}
}

/* Every type byte: the six known ones wait for more, all others fail. */
static void test_all_type_bytes(void **state)
{
	for (unsigned t = 0; t < 256; t++) {
		uint8_t b = (uint8_t)t;
		struct rfb_parser p;
		struct rfb_msg m;
		ssize_t r;

		to_normal(&p, RFB_CUT_TEXT_MAX);
		r = rfb_parse(&p, &b, 1, &m, NULL);
		switch (t) {
		case 0:
		case 2:
		case 3:
		case 4:
		case 5:
		case 6:
			assert_int_equal(r, 0);
			assert_int_equal(p.phase, RFB_PHASE_NORMAL);
			break;
		default:
			assert_int_equal(r, -EPROTO);
			assert_int_equal(p.phase, RFB_PHASE_DEAD);
		}
	}
}

static void test_extensions_only_when_enabled(void **state)
{
	static const uint8_t qemu_key[] = {255, 0,    0, 1, 0, 0,
					   0,	0x61, 0, 0, 0, 0x1e};
	static const uint8_t fence[] = {248, 0, 0, 0,	 0x80, 0,
					0,   3, 2, 0xaa, 0xbb};
	static const uint8_t cu[] = {150, 1, 0, 0, 0, 0, 4, 0, 3, 0};
	static const uint8_t sds[8 + 16] = {251, 0, 2, 0, 1, 0, 1, 0};
	const struct {
		const uint8_t *bytes;
		size_t len;
		uint32_t ext;
		enum rfb_msg_type type;
	} cases[] = {
		{qemu_key, sizeof(qemu_key), RFB_EXT_QEMU_KEY,
		 RFB_MSG_QEMU_KEY},
		{fence, sizeof(fence), RFB_EXT_FENCE, RFB_MSG_FENCE},
		{cu, sizeof(cu), RFB_EXT_CONTINUOUS,
		 RFB_MSG_CONTINUOUS_UPDATES},
		{sds, sizeof(sds), RFB_EXT_DESKTOP_SIZE,
		 RFB_MSG_SET_DESKTOP_SIZE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rfb_parser p;
		struct rfb_msg m;
		const char *reason = NULL;
		uint8_t *buf;

		/* Not negotiated: an unknown type, the connection ends. */
		to_normal(&p, RFB_CUT_TEXT_MAX);
		assert_int_equal(rfb_parse(&p, cases[i].bytes, cases[i].len, &m,
					   &reason),
				 -EPROTO);
		assert_non_null(strstr(reason, "unknown message type"));

		to_normal(&p, RFB_CUT_TEXT_MAX);
		p.extensions = cases[i].ext;
		buf = expect_msg(&p, cases[i].bytes, cases[i].len, &m);
		assert_int_equal(m.type, cases[i].type);
		free(buf);
	}
}

static void test_extension_values(void **state)
{
	static const uint8_t qemu_key[] = {255,	 0,    0, 1, 0, 0,
					   0xff, 0x51, 0, 0, 0, 0xc8};
	static const uint8_t qemu_audio[] = {255, 1, 0, 0};
	uint8_t fence[9 + 65] = {248, 0, 0, 0, 0, 0, 0, 1, 65};
	uint8_t sds[8] = {251, 0, 4, 0, 3, 0, 0, 0};
	struct rfb_parser p;
	struct rfb_msg m;
	const char *reason = NULL;
	uint8_t *buf;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	p.extensions = RFB_EXT_QEMU_KEY;
	buf = expect_msg(&p, qemu_key, sizeof(qemu_key), &m);
	assert_true(m.u.qemu_key.down);
	assert_int_equal(m.u.qemu_key.keysym, 0xff51);
	assert_int_equal(m.u.qemu_key.keycode, 0xc8);
	free(buf);
	assert_int_equal(
		rfb_parse(&p, qemu_audio, sizeof(qemu_audio), &m, &reason),
		-EPROTO);

	/* A fence payload over 64 bytes is refused at its length byte. */
	to_normal(&p, RFB_CUT_TEXT_MAX);
	p.extensions = RFB_EXT_FENCE;
	assert_int_equal(rfb_parse(&p, fence, 9, &m, &reason), -EPROTO);
	assert_non_null(strstr(reason, "65"));

	/* SetDesktopSize: 0 screens and more than 16 are refused. */
	for (unsigned n = 0; n <= 17; n += 17) {
		to_normal(&p, RFB_CUT_TEXT_MAX);
		p.extensions = RFB_EXT_DESKTOP_SIZE;
		sds[6] = (uint8_t)n;
		assert_int_equal(rfb_parse(&p, sds, sizeof(sds), &m, &reason),
				 -EPROTO);
	}
}

static void test_dead_stays_dead(void **state)
{
	static const uint8_t key[] = {0x04, 0x01, 0, 0, 0, 0, 0, 0x61};
	struct rfb_parser p;
	struct rfb_msg m;

	to_normal(&p, RFB_CUT_TEXT_MAX);
	expect_error(&p, "\x09", 1, "unknown message type 9");
	expect_error(&p, key, sizeof(key),
		     "parser called after a protocol error");
	expect_error(&p, key, sizeof(key), NULL);
	/* Even an empty buffer does not look like "need more". */
	assert_int_equal(rfb_parse(&p, key, 0, &m, NULL), -EPROTO);
	assert_int_equal(p.phase, RFB_PHASE_DEAD);
}

static void test_back_to_back(void **state)
{
	static const uint8_t buf[] = {
		0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41, /* key */
		0x05, 0x02, 0x00, 0x10, 0x00, 0x20,		/* pointer */
		0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x03, 0x00, /* update request */
		0x04,
	};
	struct rfb_parser p;
	struct rfb_msg m;
	uint8_t *b = dup_exact(buf, sizeof(buf));

	to_normal(&p, RFB_CUT_TEXT_MAX);
	assert_int_equal(rfb_parse(&p, b, sizeof(buf), &m, NULL), 8);
	assert_int_equal(m.type, RFB_MSG_KEY);
	assert_int_equal(m.u.key.keysym, 0x41);
	assert_int_equal(rfb_parse(&p, b + 8, sizeof(buf) - 8, &m, NULL), 6);
	assert_int_equal(m.type, RFB_MSG_POINTER);
	assert_int_equal(m.u.pointer.buttons, 2);
	assert_int_equal(m.u.pointer.x, 0x10);
	assert_int_equal(m.u.pointer.y, 0x20);
	assert_int_equal(rfb_parse(&p, b + 14, sizeof(buf) - 14, &m, NULL), 10);
	assert_int_equal(m.type, RFB_MSG_UPDATE_REQUEST);
	assert_int_equal(m.u.update.w, 0x400);
	assert_int_equal(m.u.update.h, 0x300);
	/* The trailing half message waits. */
	assert_int_equal(rfb_parse(&p, b + 24, sizeof(buf) - 24, &m, NULL), 0);
	assert_int_equal(m.type, RFB_MSG_UPDATE_REQUEST);
	free(b);
}

/* A client that sends its whole handshake in one segment. */
static void test_pipelined_handshake(void **state)
{
	static const char buf[] = V38 "\x02"
				      "0123456789abcdef"
				      "\x00"
				      "\x02\x00\x00\x01\x00\x00\x00\x10";
	static const struct {
		size_t len;
		enum rfb_msg_type type;
	} want[] = {
		{12, RFB_MSG_VERSION},	     {1, RFB_MSG_SECURITY_CHOICE},
		{16, RFB_MSG_AUTH_RESPONSE}, {1, RFB_MSG_CLIENT_INIT},
		{8, RFB_MSG_SET_ENCODINGS},
	};
	const size_t total = sizeof(buf) - 1;
	uint8_t *b = dup_exact(buf, total);
	struct rfb_parser p;
	struct rfb_msg m;
	size_t off = 0;

	rfb_parser_init(&p, sec_both, 2, RFB_CUT_TEXT_MAX);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ssize_t r = rfb_parse(&p, b + off, total - off, &m, NULL);

		assert_int_equal(r, want[i].len);
		assert_int_equal(m.type, want[i].type);
		off += (size_t)r;
	}
	assert_int_equal(off, total);
	assert_int_equal(m.u.encodings.count, 1);
	assert_int_equal(p.phase, RFB_PHASE_NORMAL);
	free(b);
}

static void test_empty_input_in_every_phase(void **state)
{
	static const uint8_t dummy[1];
	struct rfb_parser p;
	struct rfb_msg m;

	rfb_parser_init(&p, sec_vnc, 1, RFB_CUT_TEXT_MAX);
	assert_int_equal(rfb_parse(&p, dummy, 0, &m, NULL), 0);
	expect_msg_free(&p, V37, 12, &m);
	assert_int_equal(rfb_parse(&p, dummy, 0, &m, NULL), 0);
	expect_msg_free(&p, "\x02", 1, &m);
	assert_int_equal(rfb_parse(&p, dummy, 0, &m, NULL), 0);
	assert_int_equal(p.phase, RFB_PHASE_AUTH_RESPONSE);
	expect_msg_free(&p, "0123456789abcdef", 16, &m);
	assert_int_equal(rfb_parse(&p, dummy, 0, &m, NULL), 0);
	assert_int_equal(p.phase, RFB_PHASE_CLIENT_INIT);
	expect_msg_free(&p, "\x01", 1, &m);
	assert_int_equal(rfb_parse(&p, dummy, 0, &m, NULL), 0);
	assert_int_equal(p.phase, RFB_PHASE_NORMAL);
}

/* The reason pointer is optional, and a formatted reason lives in the
 * parser, not in storage shared between connections. */
static void test_reason_storage(void **state)
{
	struct rfb_parser a, b;
	const char *ra = NULL, *rb = NULL;
	struct rfb_msg m;
	uint8_t t;

	to_normal(&a, RFB_CUT_TEXT_MAX);
	to_normal(&b, RFB_CUT_TEXT_MAX);
	t = 200;
	assert_int_equal(rfb_parse(&a, &t, 1, &m, &ra), -EPROTO);
	t = 201;
	assert_int_equal(rfb_parse(&b, &t, 1, &m, &rb), -EPROTO);
	assert_string_equal(ra, "unknown message type 200");
	assert_string_equal(rb, "unknown message type 201");

	to_normal(&a, RFB_CUT_TEXT_MAX);
	assert_int_equal(rfb_parse(&a, &t, 1, &m, NULL), -EPROTO);
	assert_int_equal(a.phase, RFB_PHASE_DEAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_handshake_33_none),
		cmocka_unit_test(test_handshake_33_vnc),
		cmocka_unit_test(test_handshake_33_uses_first_offered),
		cmocka_unit_test(test_handshake_33_unknown_type_fails_closed),
		cmocka_unit_test(test_handshake_37),
		cmocka_unit_test(test_handshake_38),
		cmocka_unit_test(test_version_34_to_36_mean_33),
		cmocka_unit_test(test_version_above_8_means_38),
		cmocka_unit_test(test_bad_versions),
		cmocka_unit_test(test_version_prefixes),
		cmocka_unit_test(test_version_consumes_12),
		cmocka_unit_test(test_security_not_offered),
		cmocka_unit_test(test_security_zero_never_accepted),
		cmocka_unit_test(test_security_offered_unknown_fails_closed),
		cmocka_unit_test(test_set_pixel_format),
		cmocka_unit_test(test_set_encodings),
		cmocka_unit_test(test_set_encodings_empty),
		cmocka_unit_test(test_set_encodings_max),
		cmocka_unit_test(test_update_request),
		cmocka_unit_test(test_key_event),
		cmocka_unit_test(test_pointer_event),
		cmocka_unit_test(test_cut_text),
		cmocka_unit_test(test_cut_text_at_limit),
		cmocka_unit_test(test_cut_text_over_limit),
		cmocka_unit_test(test_cut_text_hostile_lengths),
		cmocka_unit_test(test_cut_text_default_limit),
		cmocka_unit_test(test_max_message),
		cmocka_unit_test(test_unknown_types),
		cmocka_unit_test(test_all_type_bytes),
		cmocka_unit_test(test_extensions_only_when_enabled),
		cmocka_unit_test(test_extension_values),
		cmocka_unit_test(test_dead_stays_dead),
		cmocka_unit_test(test_back_to_back),
		cmocka_unit_test(test_pipelined_handshake),
		cmocka_unit_test(test_empty_input_in_every_phase),
		cmocka_unit_test(test_reason_storage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
