/* VNC authentication with --password-file: the file formats (text whose
 * first line is the password, vncpasswd's obfuscated 8 bytes), VNC's
 * 8-character rule, what a wrong password does to the newcomer (refused,
 * logged) and to the console's current user (nothing), what 3.3, 3.7
 * and 3.8 clients are offered, fresh challenges, blocking an address that
 * keeps guessing, the handshake deadline during auth, and the start-up
 * errors for unusable files. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <rfb/rfbproto.h>

#include "tests/lib/rawclient.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"

static char tmpdir[64];

/* The vfbd a test runs lives here rather than on the test's stack, so
 * that after a failed assertion (which leaves the test at once) the
 * teardown can still stop it. */
static struct vfbd_proc proc;

static int stop_proc(void **state)
{
	if (proc.pid > 0)
		vfbd_stop(&proc);
	return 0;
}

static const char *tmp_path(const char *name)
{
	static char path[8][128];
	static unsigned next;
	char *p = path[next++ % 8];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Starts vfbd on the demo with `password_file`, and with
 * --handshake-timeout `timeout` unless that is NULL. */
static struct vfbd_proc *start(const char *password_file, const char *timeout)
{
	const char *args[] = {"--source",
			      "demo:320x240:static",
			      "--password-file",
			      password_file,
			      timeout ? "--handshake-timeout" : NULL,
			      timeout,
			      NULL};

	assert_true(proc.pid <= 0);
	assert_int_equal(vfbd_start(&proc, args), 0);
	return &proc;
}

/* The id vfbd gave a libvncclient connection. */
static int vnc_id(struct vfbd_proc *p, struct vnc_client *v)
{
	int id = raw_log_id(p, raw_local_port(v->cl->sock), 3000);

	assert_true(id > 0);
	return id;
}

static void connect_ok(struct vfbd_proc *p, struct vnc_client *v,
		       const char *password)
{
	if (vnc_connect(v, p->port, &vnc_formats[0], password, NULL) < 0)
		fail_msg("password \"%s\" was refused", password);
	vnc_request(v, false);
	assert_true(vnc_wait_frame(v, 5000));
	assert_int_equal(v->cl->width, 320);
}

/* The id in the last line containing `prefix` ("client-auth-failed id="). */
static int last_id(struct vfbd_proc *p, const char *prefix)
{
	char line[1024];
	FILE *f = fopen(p->log_path, "r");
	int id = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, prefix);

		if (at)
			id = atoi(at + strlen(prefix));
	}
	fclose(f);
	return id;
}

/* A real client with a wrong password is refused; vfbd logs the failure
 * and closes that connection for auth-failed. */
static void connect_refused(struct vfbd_proc *p, const char *password)
{
	struct vnc_client v;
	int before = vfbd_log_count(p, "client-auth-failed");
	int id;

	if (vnc_connect(&v, p->port, &vnc_formats[0], password, NULL) == 0) {
		vnc_close(&v);
		fail_msg("password \"%s\" was accepted", password);
	}
	for (int waited = 0; waited < 3000; waited += 10) {
		if (vfbd_log_count(p, "client-auth-failed") > before)
			break;
		usleep(10000);
	}
	assert_int_equal(vfbd_log_count(p, "client-auth-failed"), before + 1);
	id = last_id(p, "client-auth-failed id=");
	assert_true(id > 0);
	assert_true(raw_log_waitf(p, 3000, "reason=auth-failed ", NULL,
				  "client-closed id=%d ", id));
	assert_false(raw_log_waitf(p, 0, NULL, NULL,
				   "client-authenticated id=%d ", id));
}

/* The connected client is untouched: no close logged, and it still gets
 * an update when it types. */
static void still_served(struct vfbd_proc *p, struct vnc_client *v, int id)
{
	assert_false(
		raw_log_waitf(p, 0, NULL, NULL, "client-closed id=%d ", id));
	SendKeyEvent(v->cl, 'k', true);
	SendKeyEvent(v->cl, 'k', false);
	assert_true(vnc_wait_frame(v, 5000));
	vnc_request(v, false);
	assert_true(vnc_wait_frame(v, 5000));
}

static void text_file_first_line(void **state)
{
	static const char text[] = "s3cret!\nsecond line\n\njunk\xff\xfe\n";
	const char *path = tmp_path("text");
	struct vfbd_proc *p;
	struct vnc_client a, c;
	int a_id;

	write_file(path, text, sizeof(text) - 1);
	p = start(path, NULL);
	connect_ok(p, &a, "s3cret!");
	a_id = vnc_id(p, &a);
	assert_true(raw_log_waitf(p, 0, NULL, NULL,
				  "client-authenticated id=%d ", a_id));
	/* With the default takeover policy too, a wrong password must not
	 * cost the current user the console. */
	connect_refused(p, "s3cret?");
	connect_refused(p, "second line");
	still_served(p, &a, a_id);
	/* Whereas the right password does take it over: the check above
	 * would have seen it. */
	connect_ok(p, &c, "s3cret!");
	assert_true(raw_log_waitf(p, 3000, "reason=takeover ", NULL,
				  "client-closed id=%d ", a_id));
	vnc_close(&a);
	vnc_close(&c);
	assert_int_equal(vfbd_stop(p), 0);
}

static void text_file_crlf_and_no_newline(void **state)
{
	const char *crlf = tmp_path("crlf"), *bare = tmp_path("bare");
	struct vfbd_proc *p;
	struct vnc_client v;

	write_file(crlf, "dos-pw\r\nnext\r\n", 14);
	p = start(crlf, NULL);
	connect_ok(p, &v, "dos-pw");
	vnc_close(&v);
	connect_refused(p, "dos-pw\r");
	assert_int_equal(vfbd_stop(p), 0);

	write_file(bare, "bare", 4);
	p = start(bare, NULL);
	connect_ok(p, &v, "bare");
	vnc_close(&v);
	assert_int_equal(vfbd_stop(p), 0);
}

/* `echo pass123 > file` writes 8 bytes, as long as a vncpasswd file;
 * 16 bytes is the length of one with a view-only password. Their
 * newline must not make them look obfuscated. */
static void text_file_as_long_as_vncpasswd(void **state)
{
	const char *f8 = tmp_path("eight"), *f16 = tmp_path("sixteen");
	struct vfbd_proc *p;
	struct vnc_client v;

	write_file(f8, "pass123\n", 8);
	p = start(f8, NULL);
	connect_ok(p, &v, "pass123");
	vnc_close(&v);
	assert_int_equal(vfbd_stop(p), 0);

	/* A password and a blank line: still 8 bytes of text. */
	write_file(f8, "secret\n\n", 8);
	p = start(f8, NULL);
	connect_ok(p, &v, "secret");
	vnc_close(&v);
	assert_int_equal(vfbd_stop(p), 0);

	write_file(f16, "1234567\r\nsecond\n", 16);
	p = start(f16, NULL);
	connect_ok(p, &v, "1234567");
	vnc_close(&v);
	assert_int_equal(vfbd_stop(p), 0);
}

static bool has_unprintable(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] < 0x20 || b[i] > 0x7e)
			return true;
	return false;
}

/* A file written by vncpasswd: 8 DES-obfuscated bytes, no newline. */
static void vncpasswd_file(void **state)
{
	const char *path = tmp_path("vncpasswd");
	struct vfbd_proc *p;
	struct vnc_client v;
	uint8_t raw[64];
	ssize_t n;
	int fd;

	assert_int_equal(rfbEncryptAndStorePasswd("vnc-pw42", (char *)path), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, raw, sizeof(raw));
	close(fd);
	assert_int_equal(n, 8);
	/* Not the text, and not mistakable for text. */
	assert_memory_not_equal(raw, "vnc-pw42", 8);
	assert_true(has_unprintable(raw, 8));

	p = start(path, NULL);
	connect_ok(p, &v, "vnc-pw42");
	connect_refused(p, "vnc-pw43");
	/* The obfuscated bytes themselves are not the password. */
	raw[8] = '\0';
	connect_refused(p, (const char *)raw);
	still_served(p, &v, vnc_id(p, &v));
	vnc_close(&v);
	assert_int_equal(vfbd_stop(p), 0);
}

/* VNC keys DES with the first 8 characters; the rest never counts, in a
 * text file or in a vncpasswd file. */
static void long_passwords_use_first_8(void **state)
{
	const char *text = tmp_path("long-text"), *obf = tmp_path("long-obf");
	struct vfbd_proc *p;
	struct vnc_client v;

	write_file(text, "abcdefghIJKL\n", 13);
	p = start(text, NULL);
	connect_ok(p, &v, "abcdefghIJKL");
	vnc_close(&v);
	connect_ok(p, &v, "abcdefgh");
	vnc_close(&v);
	connect_ok(p, &v, "abcdefghXYZ");
	vnc_close(&v);
	connect_refused(p, "abcdefgX");
	connect_refused(p, "abcdefg");
	assert_int_equal(vfbd_stop(p), 0);

	assert_int_equal(rfbEncryptAndStorePasswd("0123456789abc", (char *)obf),
			 0);
	p = start(obf, NULL);
	connect_ok(p, &v, "01234567");
	vnc_close(&v);
	connect_ok(p, &v, "0123456789abc");
	vnc_close(&v);
	connect_refused(p, "0123456X");
	assert_int_equal(vfbd_stop(p), 0);
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static int open_raw(struct vfbd_proc *p, struct raw_client *rc)
{
	int id;

	assert_int_equal(raw_open(rc, p->port), 0);
	assert_memory_equal(rc->server_version, "RFB 003.008\n", 12);
	id = raw_log_id(p, rc->local_port, 3000);
	assert_true(id > 0);
	return id;
}

static void assert_closed(struct raw_client *rc, size_t *received)
{
	enum raw_result r = raw_wait_closed(rc, 3000, received);

	assert_true(r == RAW_EOF || r == RAW_RESET);
	raw_close(rc);
}

/* RFB 3.3: the server imposes the type, and with a password that is VNC
 * auth (2), never None (1). The right response gets SecurityResult OK and
 * the session; a wrong one gets "failed" (no reason string in 3.3). */
static void protocol_3_3_gets_vnc_auth(void **state)
{
	const char *path = tmp_path("pw33");
	struct vfbd_proc *p;
	struct raw_client rc;
	uint8_t b[16], resp[16];
	size_t received;
	int id;

	write_file(path, "pw-33\n", 6);
	p = start(path, NULL);

	open_raw(p, &rc);
	assert_int_equal(raw_handshake(&rc, 3, "pw-33", true), 0);
	assert_int_equal(rc.width, 320);
	raw_close(&rc);

	id = open_raw(p, &rc);
	assert_int_equal(raw_send(&rc, "RFB 003.003\n", 12), 0);
	assert_int_equal(raw_read(&rc, b, 4, 5000), RAW_OK);
	assert_int_equal(be32(b), 2);
	assert_int_equal(raw_read(&rc, b, 16, 5000), RAW_OK);
	memcpy(resp, b, 16);
	rfbEncryptBytes(resp, "wrong");
	assert_int_equal(raw_send(&rc, resp, 16), 0);
	assert_int_equal(raw_read(&rc, b, 4, 5000), RAW_OK);
	assert_int_equal(be32(b), 1);
	assert_closed(&rc, &received);
	assert_int_equal(received, 0);
	assert_true(raw_log_waitf(p, 3000, "reason=auth-failed ", NULL,
				  "client-closed id=%d ", id));

	/* 3.4-3.6 are 3.3 too. */
	open_raw(p, &rc);
	assert_int_equal(raw_send(&rc, "RFB 003.006\n", 12), 0);
	assert_int_equal(raw_read(&rc, b, 4, 5000), RAW_OK);
	assert_int_equal(be32(b), 2);
	raw_close(&rc);
	assert_int_equal(vfbd_stop(p), 0);
}

/* RFB 3.7 and 3.8: the list holds VNC auth only; choosing None (or
 * anything else not listed) is a protocol error, and never leads to
 * ServerInit. */
static void protocol_3_7_and_3_8_offer_only_vnc_auth(void **state)
{
	static const uint8_t bad_choice[] = {1, 0, 16, 19};
	const char *path = tmp_path("pw37");
	struct vfbd_proc *p;
	struct raw_client rc;
	uint8_t b[8];
	size_t received;

	write_file(path, "pw-37\n", 6);
	p = start(path, NULL);
	for (int minor = 7; minor <= 8; minor++) {
		char v[32];

		snprintf(v, sizeof(v), "RFB 003.00%d\n", minor);
		for (size_t i = 0; i < sizeof(bad_choice); i++) {
			/* Choice, ClientInit and a request in one write. */
			uint8_t m[12] = {bad_choice[i], 1};
			int id = open_raw(p, &rc);

			raw_msg_fbur(m + 2, false, 0, 0, 320, 240);
			assert_int_equal(raw_send(&rc, v, 12), 0);
			assert_int_equal(raw_read(&rc, b, 2, 5000), RAW_OK);
			assert_int_equal(b[0], 1);
			assert_int_equal(b[1], 2);
			raw_send(&rc, m, sizeof(m));
			if (minor == 8) {
				/* 3.8 says why: SecurityResult 1 + reason,
				 * and nothing after it (no ServerInit). */
				uint8_t res[8], why[128];
				uint32_t n;

				assert_int_equal(raw_read(&rc, res, 8, 5000),
						 RAW_OK);
				assert_int_equal(res[3], 1);
				n = (uint32_t)res[4] << 24 | res[5] << 16 |
				    res[6] << 8 | res[7];
				assert_true(n > 0 && n < sizeof(why));
				assert_int_equal(raw_read(&rc, why, n, 5000),
						 RAW_OK);
				assert_non_null(
					memmem(why, n, "not offered", 11));
			}
			assert_closed(&rc, &received);
			assert_int_equal(received, 0);
			assert_true(raw_log_waitf(
				p, 3000, "not offered", NULL,
				"client-protocol-error id=%d ", id));
			assert_true(raw_log_waitf(
				p, 3000, "reason=protocol-error ", NULL,
				"client-closed id=%d ", id));
			assert_false(raw_log_waitf(
				p, 0, NULL, NULL, "client-authenticated id=%d ",
				id));
		}
		open_raw(p, &rc);
		assert_int_equal(raw_handshake(&rc, minor, "pw-37", true), 0);
		raw_close(&rc);
	}
	assert_int_equal(vfbd_stop(p), 0);
}

/* The failure message per version: 3.7 gets SecurityResult 1 alone, 3.8
 * gets it with a reason string. */
static void wrong_response_result_per_version(void **state)
{
	const char *path = tmp_path("pwres");
	struct vfbd_proc *p;
	struct raw_client rc;
	uint8_t b[300];
	size_t received;

	write_file(path, "pw-res\n", 7);
	p = start(path, NULL);
	for (int minor = 7; minor <= 8; minor++) {
		char v[32];
		uint8_t two = 2;
		int id = open_raw(p, &rc);
		uint32_t len;

		snprintf(v, sizeof(v), "RFB 003.00%d\n", minor);
		raw_send(&rc, v, 12);
		assert_int_equal(raw_read(&rc, b, 2, 5000), RAW_OK);
		raw_send(&rc, &two, 1);
		assert_int_equal(raw_read(&rc, b, 16, 5000), RAW_OK);
		rfbEncryptBytes(b, "pw-reX");
		raw_send(&rc, b, 16);
		assert_int_equal(raw_read(&rc, b, 4, 5000), RAW_OK);
		assert_int_equal(be32(b), 1);
		if (minor == 8) {
			assert_int_equal(raw_read(&rc, b, 4, 5000), RAW_OK);
			len = be32(b);
			assert_true(len > 0 && len < sizeof(b));
			assert_int_equal(raw_read(&rc, b, len, 5000), RAW_OK);
		}
		assert_closed(&rc, &received);
		assert_int_equal(received, 0);
		assert_true(raw_log_waitf(p, 3000, NULL, NULL,
					  "client-auth-failed id=%d ", id));
		assert_true(raw_log_waitf(p, 3000, "reason=auth-failed ", NULL,
					  "client-closed id=%d ", id));
	}
	assert_int_equal(vfbd_stop(p), 0);
}

/* HS-15: a client that fails auth and sends ClientInit with shared=0
 * (exclusive) must not evict the console's user: neither after reading
 * SecurityResult nor pipelined behind its response. */
static void failed_client_init_evicts_nobody(void **state)
{
	const char *path = tmp_path("pw15");
	struct vfbd_proc *p;
	struct vnc_client a;
	struct raw_client rc;
	uint8_t b[32], two = 2;
	int a_id;

	write_file(path, "pw-15\n", 6);
	p = start(path, NULL);
	connect_ok(p, &a, "pw-15");
	a_id = vnc_id(p, &a);

	for (int pipelined = 0; pipelined <= 1; pipelined++) {
		int id = open_raw(p, &rc);

		raw_send(&rc, "RFB 003.008\n", 12);
		assert_int_equal(raw_read(&rc, b, 2, 5000), RAW_OK);
		raw_send(&rc, &two, 1);
		assert_int_equal(raw_read(&rc, b, 16, 5000), RAW_OK);
		rfbEncryptBytes(b, "pw-16");
		b[16] = 0; /* ClientInit: not shared */
		raw_msg_fbur(b + 17, false, 0, 0, 320, 240);
		if (pipelined) {
			raw_send(&rc, b, 27);
		} else {
			raw_send(&rc, b, 16);
			assert_int_equal(raw_read(&rc, b, 4, 5000), RAW_OK);
			assert_int_equal(be32(b), 1);
			raw_send(&rc, b + 16, 11);
		}
		assert_closed(&rc, NULL);
		/* Pipelined bytes behind the response may count as a
		 * protocol error rather than a failed password. */
		assert_true(raw_log_waitf(p, 3000, NULL, NULL,
					  "client-closed id=%d ", id));
		assert_true(raw_log_waitf(p, 0, "reason=auth-failed ", NULL,
					  "client-closed id=%d ", id) ||
			    raw_log_waitf(p, 0, "reason=protocol-error ", NULL,
					  "client-closed id=%d ", id));
		assert_false(raw_log_waitf(p, 0, NULL, NULL,
					   "client-authenticated id=%d ", id));
	}
	still_served(p, &a, a_id);
	vnc_close(&a);
	assert_int_equal(vfbd_stop(p), 0);
}

/* AU-01/AU-03: an address that keeps failing is blocked, even when it
 * finally has the right password; another address is not, and the
 * console's user is not disturbed. */
static void repeated_failures_block_that_address(void **state)
{
	const char *path = tmp_path("pwbf");
	struct vfbd_proc *p;
	struct vnc_client a;
	struct raw_client rc;
	uint8_t b[16], two = 2;
	int a_id, id, tries = 0;

	write_file(path, "pw-bf\n", 6);
	p = start(path, NULL);
	connect_ok(p, &a, "pw-bf");
	a_id = vnc_id(p, &a);
	/* Wrong guesses from 127.0.0.3 until vfbd stops offering it a
	 * security type (a list of zero types and a reason: refused). */
	for (;;) {
		assert_int_equal(raw_connect_from(&rc, p->port, "127.0.0.3"),
				 0);
		assert_int_equal(raw_read(&rc, b, 12, 5000), RAW_OK);
		raw_send(&rc, "RFB 003.008\n", 12);
		assert_int_equal(raw_read(&rc, b, 1, 5000), RAW_OK);
		if (b[0] == 0)
			break;
		assert_true(++tries <= 10);
		assert_int_equal(raw_read(&rc, b, 1, 5000), RAW_OK);
		raw_send(&rc, &two, 1);
		assert_int_equal(raw_read(&rc, b, 16, 5000), RAW_OK);
		raw_send(&rc, "0123456789abcdef", 16);
		assert_int_equal(raw_read(&rc, b, 4, 5000), RAW_OK);
		assert_int_equal(be32(b), 1);
		assert_closed(&rc, NULL);
	}
	assert_closed(&rc, NULL);
	print_message("# blocked after %d failures\n", tries);
	assert_true(tries >= 2);
	still_served(p, &a, a_id);

	/* The right password from the blocked address: refused. */
	assert_int_equal(raw_connect_from(&rc, p->port, "127.0.0.3"), 0);
	assert_int_equal(raw_read(&rc, b, 12, 5000), RAW_OK);
	id = raw_log_id(p, rc.local_port, 3000);
	assert_true(id > 0);
	assert_true(raw_handshake(&rc, 8, "pw-bf", true) < 0);
	raw_close(&rc);
	assert_true(
		raw_log_waitf(p, 3000, NULL, NULL, "client-closed id=%d ", id));
	assert_false(raw_log_waitf(p, 0, NULL, NULL,
				   "client-authenticated id=%d ", id));

	/* Another address is served. */
	assert_int_equal(raw_connect_from(&rc, p->port, "127.0.0.4"), 0);
	assert_int_equal(raw_read(&rc, b, 12, 5000), RAW_OK);
	assert_int_equal(raw_handshake(&rc, 8, "pw-bf", true), 0);
	raw_close(&rc);
	/* That took the console over (default policy); the first client is
	 * gone for that reason only, never for the guessing. */
	assert_true(raw_log_waitf(p, 3000, "reason=takeover ", NULL,
				  "client-closed id=%d ", a_id));
	vnc_close(&a);
	assert_int_equal(vfbd_stop(p), 0);
}

/* Each connection gets its own random challenge. */
static void challenges_differ(void **state)
{
	enum { N = 4 };
	const char *path = tmp_path("pwch");
	struct vfbd_proc *p;
	struct raw_client rc[N];
	uint8_t ch[N][16], zero[16] = {0}, b[2], two = 2;

	write_file(path, "pw-ch\n", 6);
	p = start(path, NULL);
	for (int i = 0; i < N; i++) {
		open_raw(p, &rc[i]);
		raw_send(&rc[i], "RFB 003.008\n", 12);
		assert_int_equal(raw_read(&rc[i], b, 2, 5000), RAW_OK);
		raw_send(&rc[i], &two, 1);
		assert_int_equal(raw_read(&rc[i], ch[i], 16, 5000), RAW_OK);
		assert_memory_not_equal(ch[i], zero, 16);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(ch[i], ch[j], 16);
	}
	for (int i = 0; i < N; i++)
		raw_close(&rc[i]);
	assert_int_equal(vfbd_stop(p), 0);
}

/* HS-06: 15 of the 16 response bytes, then silence: the handshake
 * deadline (1 s here) closes the connection. */
static void partial_response_hits_deadline(void **state)
{
	const char *path = tmp_path("pwdl");
	struct vfbd_proc *p;
	struct raw_client rc;
	uint8_t b[16], two = 2;
	enum raw_result r;
	int id;

	write_file(path, "pw-dl\n", 6);
	p = start(path, "1");
	id = open_raw(p, &rc);
	raw_send(&rc, "RFB 003.008\n", 12);
	assert_int_equal(raw_read(&rc, b, 2, 5000), RAW_OK);
	raw_send(&rc, &two, 1);
	assert_int_equal(raw_read(&rc, b, 16, 5000), RAW_OK);
	rfbEncryptBytes(b, "pw-dl");
	raw_send(&rc, b, 15);
	r = raw_wait_closed(&rc, 4000, NULL);
	assert_true(r == RAW_EOF || r == RAW_RESET);
	raw_close(&rc);
	assert_true(raw_log_waitf(p, 3000, "reason=handshake-timeout ", NULL,
				  "client-closed id=%d ", id));
	assert_int_equal(vfbd_stop(p), 0);
}

/* Runs vfbd with `args` and returns its exit status (-1 if it did not
 * exit within 5 s); its stderr goes to `err`. */
static int run_status(const char *const *args, char *err, size_t err_len)
{
	const char *bin = getenv("VFBD") ? getenv("VFBD") : "build/vfbd";
	const char *errpath = tmp_path("stderr");
	const char *argv[16];
	int n = 0, status, fd;
	pid_t pid;
	FILE *f;
	size_t got;

	argv[n++] = bin;
	for (int i = 0; args[i] && n < 13; i++)
		argv[n++] = args[i];
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(127);
		dup2(fd, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (int waited = 0; waited < 5000; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			f = fopen(errpath, "r");
			got = f ? fread(err, 1, err_len - 1, f) : 0;
			err[got] = '\0';
			if (f)
				fclose(f);
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(10000);
	}
	snprintf(err, err_len, "(still running after 5 s)");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void expect_start_error(const char *file)
{
	const char *args[] = {"--source", "demo:static", "--password-file",
			      file, NULL};
	char err[1024];
	int st = run_status(args, err, sizeof(err));

	if (st != 1 || !strstr(err, "--password-file"))
		fail_msg("--password-file '%s': exit %d, stderr: %s", file, st,
			 err);
}

static void unusable_password_files(void **state)
{
	const char *empty = tmp_path("empty"), *blank = tmp_path("blank");
	const char *dir = tmp_path("a-directory");

	expect_start_error(tmp_path("does-not-exist"));
	write_file(empty, "", 0);
	expect_start_error(empty);
	write_file(blank, "\nsecond\n", 8);
	expect_start_error(blank);
	assert_int_equal(mkdir(dir, 0700), 0);
	expect_start_error(dir);
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vfbd-auth-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#define T(f) cmocka_unit_test_teardown(f, stop_proc)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(text_file_first_line),
		T(text_file_crlf_and_no_newline),
		T(text_file_as_long_as_vncpasswd),
		T(vncpasswd_file),
		T(long_passwords_use_first_8),
		T(protocol_3_3_gets_vnc_auth),
		T(protocol_3_7_and_3_8_offer_only_vnc_auth),
		T(wrong_response_result_per_version),
		T(failed_client_init_evicts_nobody),
		T(repeated_failures_block_that_address),
		T(challenges_differ),
		T(partial_response_hits_deadline),
		T(unusable_password_files),
	};

	signal(SIGPIPE, SIG_IGN);
	vnc_quiet();
	return cmocka_run_group_tests(tests, setup, teardown);
}
