/* Hostile clients against the real vfbd (research/reliability.md 2.1 and
 * 2.2, for what vfbd implements today). Each group runs one vfbd with a
 * "bystander": a libvncclient viewer sharing the console. After every
 * hostile connection the test checks that vfbd closed that connection
 * (where it should), logged why, and that the bystander still gets correct
 * updates: it types a key and its framebuffer must become exactly what the
 * same demo renders in-process after the same input. That also catches
 * hostile input leaking into the console. The last test of each group
 * counts connected/closed lines against the connections made; the churn
 * group also checks RSS and open fds after 200 hostile connections. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <X11/keysym.h>

#include "fb/src-demo.h"
#include "input/keymap.h"
#include "input/sink-text.h"
#include "tests/lib/rawclient.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"

#define W 640
#define H 480
/* vfbd/session.c sets peer_cfg.cut_text_max to 256 KiB. */
#define CUT_LIMIT	    (256u << 10)
#define CLOSE_WAIT_MS	    3000
#define HANDSHAKE_TIMEOUT_S 2
/* What 200 hostile connections may add to vfbd's RSS: measured at about
 * 300 KiB; leaking each connection's read buffer adds about 7 MiB. Under
 * ASan the quarantine keeps freed memory resident, and LeakSanitizer
 * (vfbd's exit status, checked at the end) finds leaks instead. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_GROWTH_MAX_KIB (1024 * 1024)
#else
#define RSS_GROWTH_MAX_KIB (4 * 1024)
#endif

/* The demo as vfbd should be showing it, fed the same input. */
struct mirror {
	struct fb_source *src;
	struct input_sink_text text;
};

static struct {
	struct vfbd_proc p;
	bool running;
	struct vnc_client by; /* the bystander */
	int by_id;
	struct mirror m;
	int made; /* TCP connections made to this vfbd, bystander included */
	unsigned keys;
} fx;

static void m_text(void *ctx, uint32_t cp)
{
	fb_demo_type_char(((struct mirror *)ctx)->src, cp);
}

static void m_backspace(void *ctx)
{
	fb_demo_backspace(((struct mirror *)ctx)->src);
}

static void m_enter(void *ctx)
{
	fb_demo_enter(((struct mirror *)ctx)->src);
}

static void m_pointer(void *ctx, uint32_t x, uint32_t y, uint8_t b)
{
	fb_demo_pointer(((struct mirror *)ctx)->src, x, y, b);
}

static const struct input_text_ops mirror_ops = {m_text, m_backspace, m_enter,
						 m_pointer};

static const uint32_t *mirror_pixels(size_t *stride_px)
{
	struct fb_view v;
	struct fb_damage hint;

	fx.m.src->ops->poll(fx.m.src, &hint);
	assert_int_equal(fx.m.src->ops->view(fx.m.src, &v), 0);
	*stride_px = v.stride / 4;
	return (const uint32_t *)v.data;
}

/* Pumps the bystander until its framebuffer equals the mirror. */
static long converge(int ms)
{
	size_t stride;
	const uint32_t *px = mirror_pixels(&stride);
	uint32_t first_x = 0, first_y = 0;
	long bad = 0;

	for (int waited = 0; waited <= ms; waited += 20) {
		bad = vnc_compare(&fx.by, px, W, H, stride, &first_x, &first_y);
		if (bad == 0)
			return 0;
		if (!vnc_pump(&fx.by, 20))
			break;
	}
	print_message("# bystander: %ld pixels differ, first at %u,%u\n", bad,
		      first_x, first_y);
	return bad;
}

static void by_key(uint32_t keysym, bool down)
{
	SendKeyEvent(fx.by.cl, keysym, down);
	input_sink_key(&fx.m.text.sink, keymap_keysym_to_keycode(keysym), down);
}

/* vfbd is alive, and the bystander's typing comes back as an update that
 * makes its framebuffer exactly the mirror's. */
static void bystander_ok(void)
{
	uint32_t ks = 'a' + fx.keys++ % 26;

	assert_true(vfbd_alive(&fx.p));
	by_key(ks, true);
	by_key(ks, false);
	assert_int_equal(converge(5000), 0);
}

static int group_teardown(void **state);

static int group_setup(void **state)
{
	const char *args[] = {"--source", "demo:640x480:static", "--share",
			      "shared",	  "--handshake-timeout", "2",
			      NULL};
	struct fb_damage hint;
	int port;

	memset(&fx, 0, sizeof(fx));
	if (vfbd_start(&fx.p, args) < 0)
		return -1;
	fx.running = true;
	fx.m.src = fb_demo_new(W, H, true);
	if (!fx.m.src)
		goto fail;
	input_sink_text_init(&fx.m.text, &mirror_ops, &fx.m);
	fx.m.src->ops->poll(fx.m.src, &hint);
	if (vnc_connect(&fx.by, fx.p.port, &vnc_formats[0], NULL, NULL) < 0)
		goto fail;
	fx.made++;
	port = raw_local_port(fx.by.cl->sock);
	fx.by_id = raw_log_id(&fx.p, port, 3000);
	if (fx.by_id < 0)
		goto fail;
	vnc_request(&fx.by, false);
	if (!vnc_wait_frame(&fx.by, 5000))
		goto fail;
	return 0;
fail:
	group_teardown(state);
	return -1;
}

static int group_teardown(void **state)
{
	vnc_close(&fx.by);
	if (fx.running)
		vfbd_stop(&fx.p);
	fx.running = false;
	if (fx.m.src)
		fb_source_free(fx.m.src);
	fx.m.src = NULL;
	return 0;
}

/* A raw connection that has read the server's version. */
static void open_raw(struct raw_client *rc)
{
	assert_int_equal(raw_connect(rc, fx.p.port), 0);
	fx.made++;
	assert_int_equal(raw_read(rc, rc->server_version, 12, 5000), RAW_OK);
	assert_memory_equal(rc->server_version, "RFB 003.008\n", 12);
}

static int raw_id(struct raw_client *rc)
{
	int id = raw_log_id(&fx.p, rc->local_port, 3000);

	assert_true(id > 0);
	return id;
}

/* A raw connection past a 3.8 None handshake (shared, so the bystander
 * stays), with its first full update read. */
static int open_authed(struct raw_client *rc)
{
	uint8_t m[10];

	open_raw(rc);
	assert_int_equal(raw_handshake(rc, 8, NULL, true), 0);
	assert_int_equal(rc->width, W);
	assert_int_equal(rc->height, H);
	raw_send(rc, m, raw_msg_fbur(m, false, 0, 0, W, H));
	assert_true(raw_read_update(rc, 5000) > 0);
	return raw_id(rc);
}

static void assert_closed_by_server(struct raw_client *rc, size_t *received)
{
	enum raw_result r = raw_wait_closed(rc, CLOSE_WAIT_MS, received);

	if (r != RAW_EOF && r != RAW_RESET)
		fail_msg("vfbd did not close the connection within %d ms",
			 CLOSE_WAIT_MS);
}

static void assert_close_logged(int id, const char *reason)
{
	char want[64];

	snprintf(want, sizeof(want), "reason=%s ", reason);
	if (!raw_log_waitf(&fx.p, 3000, want, NULL, "client-closed id=%d ", id))
		fail_msg("no 'client-closed id=%d ... %s' line", id, want);
}

static void assert_protocol_error_logged(int id, const char *why)
{
	if (!raw_log_waitf(&fx.p, 3000, "reason=\"", why,
			   "client-protocol-error id=%d ", id))
		fail_msg("no 'client-protocol-error id=%d' line with \"%s\"",
			 id, why);
	assert_close_logged(id, "protocol-error");
}

static void assert_no_protocol_error(int id)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "client-protocol-error id=%d ", id);
	assert_int_equal(vfbd_log_count(&fx.p, needle), 0);
}

/* The client sends one more small request and gets an answer: the
 * connection is still open and served. */
static void assert_still_served(struct raw_client *rc)
{
	uint8_t m[10];

	assert_int_equal(raw_send(rc, m, raw_msg_fbur(m, false, 0, 0, 16, 16)),
			 0);
	assert_true(raw_read_update(rc, 5000) >= 0);
}

/* Hostile byte strings with a protocol error as the expected outcome. */
enum stage {
	AT_VERSION, /* right after reading the server's version */
	AT_SEC37,   /* sent "RFB 003.007\n", read the security list */
	AT_SEC38,
	AUTHED, /* past a 3.8 None handshake and a first full update */
};

struct bad_case {
	char name[40];
	enum stage stage;
	uint8_t bytes[20];
	size_t len;
	char why[64]; /* must appear in the logged reason */
};

#define MAX_CASES 96
static struct bad_case cases[MAX_CASES];
static size_t n_cases;

static struct bad_case *add_case(enum stage st, const char *why,
				 const void *bytes, size_t len, const char *fmt,
				 ...) __attribute__((format(printf, 5, 6)));

static struct bad_case *add_case(enum stage st, const char *why,
				 const void *bytes, size_t len, const char *fmt,
				 ...)
{
	struct bad_case *c = &cases[n_cases++];
	va_list ap;

	if (n_cases > MAX_CASES || len > sizeof(c->bytes))
		abort();
	va_start(ap, fmt);
	vsnprintf(c->name, sizeof(c->name), fmt, ap);
	va_end(ap);
	c->stage = st;
	memcpy(c->bytes, bytes, len);
	c->len = len;
	snprintf(c->why, sizeof(c->why), "%s", why);
	return c;
}

static void read_security_list(struct raw_client *rc, int minor)
{
	char v[32];
	uint8_t list[2];

	snprintf(v, sizeof(v), "RFB 003.00%d\n", minor);
	assert_int_equal(raw_send(rc, v, 12), 0);
	/* No password: exactly one type, None. */
	assert_int_equal(raw_read(rc, list, 2, 5000), RAW_OK);
	assert_int_equal(list[0], 1);
	assert_int_equal(list[1], 1);
}

static void run_bad_case(void **state)
{
	const struct bad_case *c = *state;
	struct raw_client rc;
	int id;

	if (c->stage == AUTHED) {
		id = open_authed(&rc);
	} else {
		open_raw(&rc);
		id = raw_id(&rc);
		if (c->stage == AT_SEC37)
			read_security_list(&rc, 7);
		else if (c->stage == AT_SEC38)
			read_security_list(&rc, 8);
	}
	/* The server may already be gone for the last bytes; fine. */
	raw_send(&rc, c->bytes, c->len);
	assert_closed_by_server(&rc, NULL);
	raw_close(&rc);
	assert_protocol_error_logged(id, c->why);
	bystander_ok();
}

static void build_bad_cases(void)
{
	static const struct {
		const char *name, *bytes, *why;
	} versions[] = {
		{"garbage", "XXXXXXXXXXXX", "malformed"},
		{"004.000", "RFB 004.000\n", "unsupported protocol version"},
		{"003.00-nul-nul", "RFB 003.00\0\0", "malformed"},
		{"999.999", "RFB 999.999\n", "unsupported protocol version"},
		{"003.002", "RFB 003.002\n", "unsupported protocol version"},
		{"lowercase", "rfb 003.008\n", "malformed"},
		{"cr-not-lf", "RFB 003.008\r", "malformed"},
		{"short-major", "RFB 03.008\n\n", "malformed"},
		{"http", "GET / HTTP/1", "malformed"},
	};
	static const uint8_t sec38[] = {0, 2, 16, 19, 255};
	static const uint8_t sec37[] = {0, 2, 19, 255};
	static const uint8_t unknown[] = {1,   7,   8,	 9,   10,  11,
					  15,  127, 150, 248, 250, 251,
					  252, 253, 254, 255};
	static const struct {
		const char *name;
		uint8_t bpp, depth, tc;
		uint16_t rmax, gmax, bmax;
		uint8_t rsh, gsh, bsh;
		const char *why;
	} pf[] = {
		{"bpp-0", 0, 0, 1, 255, 255, 255, 16, 8, 0, "bits-per-pixel 0"},
		{"bpp-1", 1, 1, 1, 1, 1, 1, 0, 0, 0, "bits-per-pixel 1"},
		{"bpp-7", 7, 7, 1, 3, 3, 1, 0, 2, 4, "bits-per-pixel 7"},
		{"bpp-24", 24, 24, 1, 255, 255, 255, 16, 8, 0,
		 "bits-per-pixel 24"},
		{"bpp-33", 33, 24, 1, 255, 255, 255, 16, 8, 0,
		 "bits-per-pixel 33"},
		{"bpp-255", 255, 24, 1, 255, 255, 255, 16, 8, 0,
		 "bits-per-pixel 255"},
		{"red-max-0", 32, 24, 1, 0, 255, 255, 16, 8, 0, "red-max 0"},
		{"green-max-254", 32, 24, 1, 255, 254, 255, 16, 8, 0,
		 "green-max 254"},
		{"blue-max-511", 32, 24, 1, 255, 255, 511, 16, 8, 0,
		 "blue-max 511"},
		{"blue-max-65535", 32, 24, 1, 255, 255, 65535, 16, 8, 0,
		 "blue-max 65535"},
		{"depth-0", 32, 0, 1, 255, 255, 255, 16, 8, 0, "depth 0"},
		{"depth-33", 32, 33, 1, 255, 255, 255, 16, 8, 0,
		 "depth 33 exceeds"},
		{"depth-24-bpp-16", 16, 24, 1, 31, 63, 31, 11, 5, 0,
		 "depth 24 exceeds"},
		{"overlap-r-g", 32, 24, 1, 255, 255, 255, 8, 8, 0, "overlap"},
		{"overlap-partial", 16, 16, 1, 31, 63, 31, 11, 6, 0, "overlap"},
		{"red-shift-25", 32, 24, 1, 255, 255, 255, 25, 8, 0,
		 "red channel"},
		{"blue-shift-255", 32, 24, 1, 255, 255, 255, 16, 8, 255,
		 "blue channel"},
		{"888-in-16bpp", 16, 16, 1, 255, 255, 255, 16, 8, 0,
		 "red channel"},
		{"colour-map", 8, 8, 0, 7, 7, 3, 0, 3, 6, "colour-map"},
	};
	static const uint32_t cut[] = {0xFFFFFFFFu, 0x80000000u, 0x7FFFFFFFu,
				       CUT_LIMIT + 1};
	uint8_t b[20];

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		add_case(AT_VERSION, versions[i].why, versions[i].bytes, 12,
			 "version-%s", versions[i].name);
	for (size_t i = 0; i < sizeof(sec38); i++)
		add_case(AT_SEC38, "not offered", &sec38[i], 1,
			 "security-3.8-type-%u", sec38[i]);
	for (size_t i = 0; i < sizeof(sec37); i++)
		add_case(AT_SEC37, "not offered", &sec37[i], 1,
			 "security-3.7-type-%u", sec37[i]);
	for (size_t i = 0; i < sizeof(pf) / sizeof(pf[0]); i++) {
		raw_msg_pixfmt(b, pf[i].bpp, pf[i].depth, 0, pf[i].tc,
			       pf[i].rmax, pf[i].gmax, pf[i].bmax, pf[i].rsh,
			       pf[i].gsh, pf[i].bsh);
		add_case(AUTHED, pf[i].why, b, 20, "pixel-format-%s",
			 pf[i].name);
	}
	for (size_t i = 0; i < sizeof(unknown); i++) {
		char why[40];

		/* Shaped like a small message of that type would be. */
		memset(b, 0, sizeof(b));
		b[0] = unknown[i];
		b[1] = 1;
		b[6] = b[7] = b[8] = b[9] = 0xff;
		snprintf(why, sizeof(why), "unknown message type %u",
			 unknown[i]);
		add_case(AUTHED, why, b, 10, "message-type-%u", unknown[i]);
	}
	/* Only the header is sent: vfbd must close without waiting for (or
	 * making room for) the payload it declares. */
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
		add_case(AUTHED, "exceeds limit", b,
			 raw_msg_cut_header(b, cut[i]), "cut-text-0x%08x",
			 cut[i]);
}

/* HS-04: after a security type that was not offered, the bytes the client
 * already sent behind it (ClientInit, a request) are never acted on. */
static void bad_choice_then_pipelined_bytes_ignored(void **state)
{
	struct raw_client rc;
	uint8_t m[16] = {19, 1};
	size_t received = 99;
	int id;

	open_raw(&rc);
	id = raw_id(&rc);
	read_security_list(&rc, 8);
	raw_msg_fbur(m + 2, false, 0, 0, W, H);
	raw_send(&rc, m, 12);
	/* 3.8: SecurityResult failed with a reason, then nothing: the
	 * pipelined request gets no answer and there is no ServerInit. */
	{
		uint8_t res[8];
		uint32_t n;

		assert_int_equal(raw_read(&rc, res, 8, 5000), RAW_OK);
		assert_int_equal(res[3], 1);
		n = (uint32_t)res[4] << 24 | res[5] << 16 | res[6] << 8 |
		    res[7];
		assert_true(n > 0 && n < 256);
		assert_int_equal(raw_skip(&rc, n, 5000), RAW_OK);
	}
	assert_closed_by_server(&rc, &received);
	raw_close(&rc);
	assert_int_equal(received, 0);
	assert_protocol_error_logged(id, "not offered");
	assert_true(raw_log_waitf(&fx.p, 0, NULL, NULL, "client-closed id=%d ",
				  id));
	assert_false(raw_log_waitf(&fx.p, 0, NULL, NULL,
				   "client-authenticated id=%d ", id));
	bystander_ok();
}

/* 3.4-3.6 mean 3.3 (the server imposes the type, 4 bytes), and Apple's
 * 3.889 gets 3.8. Both complete and are served. */
static void version_3_5_speaks_3_3(void **state)
{
	struct raw_client rc;
	int id;

	open_raw(&rc);
	id = raw_id(&rc);
	assert_int_equal(raw_handshake_as(&rc, "RFB 003.005\n", 3, NULL, true),
			 0);
	assert_int_equal(rc.width, W);
	assert_still_served(&rc);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

static void version_3_889_speaks_3_8(void **state)
{
	struct raw_client rc;
	int id;

	open_raw(&rc);
	id = raw_id(&rc);
	assert_int_equal(raw_handshake_as(&rc, "RFB 003.889\n", 8, NULL, true),
			 0);
	assert_still_served(&rc);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

/* A valid session as one byte stream: handshake, SetPixelFormat,
 * SetEncodings, typing, pointing, a full request. */
static size_t valid_stream(uint8_t *out)
{
	size_t n = 0;

	memcpy(out, "RFB 003.008\n", 12);
	n = 12;
	out[n++] = 1; /* None */
	out[n++] = 1; /* shared */
	n += raw_msg_pixfmt(out + n, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0);
	/* SetEncodings: raw, DesktopSize (-223), and one nobody knows. */
	memcpy(out + n,
	       "\x02\x00\x00\x03"
	       "\x00\x00\x00\x00"
	       "\xff\xff\xff\x21"
	       "\x7f\x00\x12\x34",
	       16);
	n += 16;
	n += raw_msg_key(out + n, true, 'q');
	n += raw_msg_key(out + n, false, 'q');
	n += raw_msg_pointer(out + n, 0, 10, 10);
	n += raw_msg_fbur(out + n, false, 0, 0, W, H);
	return n;
}

static void read_valid_stream_reply(struct raw_client *rc)
{
	uint8_t b[4];

	assert_int_equal(raw_read(rc, b, 2, 5000), RAW_OK);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[1], 1);
	assert_int_equal(raw_read(rc, b, 4, 5000), RAW_OK);
	assert_memory_equal(b, "\0\0\0\0", 4);
	assert_int_equal(raw_read_server_init(rc), 0);
	assert_int_equal(rc->width, W);
	assert_true(raw_read_update(rc, 5000) > 0);
}

static void valid_session(unsigned gap_us)
{
	struct raw_client rc;
	uint8_t s[128];
	size_t n = valid_stream(s);
	int id;

	open_raw(&rc);
	id = raw_id(&rc);
	if (gap_us)
		assert_int_equal(raw_send_bytewise(&rc, s, n, gap_us), 0);
	else
		assert_int_equal(raw_send(&rc, s, n), 0);
	read_valid_stream_reply(&rc);
	/* What it typed and where it pointed reached the console. */
	input_sink_key(&fx.m.text.sink, keymap_keysym_to_keycode('q'), true);
	input_sink_key(&fx.m.text.sink, keymap_keysym_to_keycode('q'), false);
	input_sink_pointer(&fx.m.text.sink, 10, 10, 0);
	assert_still_served(&rc);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

static void one_byte_per_write_session(void **state)
{
	valid_session(1000);
}

static void pipelined_session_in_one_write(void **state)
{
	valid_session(0);
}

/* HS-01: a client that dribbles part of its version and stops is closed
 * by the handshake deadline (2 s here; housekeeping runs every 250 ms). */
static void slow_version_hits_handshake_deadline(void **state)
{
	struct raw_client rc;
	enum raw_result r;
	int id;

	open_raw(&rc);
	id = raw_id(&rc);
	assert_int_equal(raw_send_bytewise(&rc, "RFB 003.0", 9, 100000), 0);
	r = raw_wait_closed(&rc, HANDSHAKE_TIMEOUT_S * 1000 + 2000, NULL);
	assert_true(r == RAW_EOF || r == RAW_RESET);
	raw_close(&rc);
	assert_close_logged(id, "handshake-timeout");
	bystander_ok();
}

/* Security chosen, ClientInit never sent: same deadline. */
static void no_client_init_hits_handshake_deadline(void **state)
{
	struct raw_client rc;
	uint8_t b[4], none = 1;
	enum raw_result r;
	int id;

	open_raw(&rc);
	id = raw_id(&rc);
	read_security_list(&rc, 8);
	raw_send(&rc, &none, 1);
	assert_int_equal(raw_read(&rc, b, 4, 5000), RAW_OK);
	r = raw_wait_closed(&rc, HANDSHAKE_TIMEOUT_S * 1000 + 2000, NULL);
	assert_true(r == RAW_EOF || r == RAW_RESET);
	raw_close(&rc);
	assert_close_logged(id, "handshake-timeout");
	bystander_ok();
}

/* A client that goes away in the middle of its version is a normal
 * close, not a protocol error. */
static void disconnect_mid_version(void **state)
{
	struct raw_client rc;
	int id;

	open_raw(&rc);
	id = raw_id(&rc);
	raw_send(&rc, "RFB 00", 6);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

/* HS-08: many connections that never speak. Pre-auth connections are
 * capped (32 in vfbd/session.c), the oldest making room; the session and
 * new clients are unaffected. */
static void preauth_flood(void **state)
{
	enum { N = 48 };
	struct raw_client rc[N];
	struct raw_client late;
	int evicted_before = vfbd_log_count(&fx.p, "client-preauth-evicted");
	int evicted, closed = 0;

	for (int i = 0; i < N; i++)
		open_raw(&rc[i]);
	assert_true(raw_log_id(&fx.p, rc[N - 1].local_port, 3000) > 0);
	/* The newest connections are never the ones evicted. */
	for (int i = N - 8; i < N; i++)
		assert_true(raw_quiet_for(&rc[i], 0));
	for (int i = 0; i < N; i++) {
		enum raw_result r = raw_wait_closed(&rc[i], 0, NULL);

		closed += r == RAW_EOF || r == RAW_RESET;
	}
	evicted = vfbd_log_count(&fx.p, "client-preauth-evicted") -
		  evicted_before;
	print_message("# %d of %d closed, %d evicted\n", closed, N, evicted);
	assert_true(evicted >= N - 32);
	assert_true(closed >= N - 32);
	bystander_ok();
	/* A newcomer still completes its handshake. */
	open_raw(&late);
	assert_int_equal(raw_handshake(&late, 8, NULL, true), 0);
	assert_still_served(&late);
	raw_close(&late);
	for (int i = 0; i < N; i++)
		raw_close(&rc[i]);
	bystander_ok();
}

/* Accepted messages: the connection stays open and keeps being served. */
static void set_encodings_empty(void **state)
{
	struct raw_client rc;
	int id = open_authed(&rc);

	assert_int_equal(raw_send(&rc, "\x02\x00\x00\x00", 4), 0);
	assert_still_served(&rc);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

/* CM-07: 65535 encodings, the whole 262,140-byte list, with the next
 * request in the same write. Raw comes first; the rest are numbers no
 * encoding or pseudo-encoding uses, so that the answer stays raw. */
static void set_encodings_65535(void **state)
{
	size_t len = 4 + 65535u * 4 + 10;
	uint8_t *m = calloc(1, len);
	struct raw_client rc;
	int id = open_authed(&rc);

	assert_non_null(m);
	m[0] = 2;
	m[2] = m[3] = 0xff;
	for (size_t i = 1; i < 65535; i++) {
		uint32_t enc = 0x40000000u + (uint32_t)i;

		if (i % 2)
			enc = 0u - enc; /* negative as s32 */
		m[4 + 4 * i] = (uint8_t)(enc >> 24);
		m[5 + 4 * i] = (uint8_t)(enc >> 16);
		m[6 + 4 * i] = (uint8_t)(enc >> 8);
		m[7 + 4 * i] = (uint8_t)enc;
	}
	raw_msg_fbur(m + 4 + 65535u * 4, false, 0, 0, 32, 32);
	assert_int_equal(raw_send(&rc, m, len), 0);
	free(m);
	assert_true(raw_read_update(&rc, 5000) >= 0);
	assert_still_served(&rc);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

static void cut_text_sizes_within_limit(void **state)
{
	uint8_t *m = calloc(1, 8 + CUT_LIMIT);
	struct raw_client rc;
	int id = open_authed(&rc);

	assert_non_null(m);
	/* Empty, and exactly at the limit. */
	assert_int_equal(raw_send(&rc, m, raw_msg_cut_header(m, 0)), 0);
	assert_still_served(&rc);
	memset(m + 8, 'x', CUT_LIMIT);
	raw_msg_cut_header(m, CUT_LIMIT);
	assert_int_equal(raw_send(&rc, m, 8 + CUT_LIMIT), 0);
	free(m);
	assert_still_served(&rc);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

/* CM-09: requests outside the framebuffer are clipped; every rect that
 * comes back lies inside it (raw_read_update checks) and nothing breaks. */
static void update_requests_out_of_bounds(void **state)
{
	static const uint16_t r[][4] = {
		{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
		{0, 0, 0xFFFF, 0xFFFF},
		{65000, 0, 1000, 16},
		{0, 0, 0, 0},
		{W - 1, H - 1, 0xFFFF, 0xFFFF},
		{W, H, 1, 1},
	};
	struct raw_client rc;
	uint8_t m[10];
	int id = open_authed(&rc);

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		raw_msg_fbur(m, false, r[i][0], r[i][1], r[i][2], r[i][3]);
		assert_int_equal(raw_send(&rc, m, 10), 0);
		if (raw_read_update(&rc, 5000) < 0)
			fail_msg("no valid update for request %u,%u %ux%u",
				 r[i][0], r[i][1], r[i][2], r[i][3]);
		/* The same, incremental: nothing changed, nothing owed. */
		raw_msg_fbur(m, true, r[i][0], r[i][1], r[i][2], r[i][3]);
		assert_int_equal(raw_send(&rc, m, 10), 0);
	}
	assert_still_served(&rc);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

/* CM-11: keysyms nobody can type are dropped, not mapped to some key.
 * The mirror gets nothing, so a stray character shows as a difference. */
static void key_events_with_bogus_keysyms(void **state)
{
	static const uint32_t ks[] = {0, 0xFFFFFFFFu, 0x7FFFFFFFu, 0x01000000u,
				      0x1000FFFFu};
	struct raw_client rc;
	uint8_t m[8];
	int id = open_authed(&rc);

	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		raw_send(&rc, m, raw_msg_key(m, true, ks[i]));
		raw_send(&rc, m, raw_msg_key(m, false, ks[i]));
	}
	/* In order on one socket: once this is answered, the keys were
	 * handled. */
	assert_still_served(&rc);
	raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

/* CM-12: a pointer far outside the framebuffer lands on its last pixel
 * (not wrapped, scaled or dropped). The demo source clamps too, so this
 * sees the end result, not which layer clamped. */
static void pointer_out_of_bounds_lands_on_last_pixel(void **state)
{
	struct raw_client rc;
	uint8_t m[6];
	int id = open_authed(&rc);

	raw_send(&rc, m, raw_msg_pointer(&m[0], 0, 0xFFFF, 0xFFFF));
	input_sink_pointer(&fx.m.text.sink, W - 1, H - 1, 0);
	assert_still_served(&rc);
	assert_int_equal(converge(5000), 0);
	raw_send(&rc, m, raw_msg_pointer(&m[0], 0x1F, 0xFFFF, 0));
	input_sink_pointer(&fx.m.text.sink, W - 1, 0, 0x1F);
	assert_still_served(&rc);
	assert_int_equal(converge(5000), 0);
	raw_close(&rc);
	/* A client that leaves with buttons down has them released. */
	input_sink_release_all(&fx.m.text.sink);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

/* A client that goes away half-way through a message: an ordinary close
 * (peer-closed), whether it says goodbye (FIN) or resets. */
static void disconnect_mid_message(const uint8_t *m, size_t len, bool reset)
{
	struct raw_client rc;
	int id = open_authed(&rc);

	assert_int_equal(raw_send(&rc, m, len), 0);
	if (reset)
		raw_abort(&rc);
	else
		raw_close(&rc);
	assert_close_logged(id, "peer-closed");
	assert_no_protocol_error(id);
	bystander_ok();
}

static void disconnect_mid_set_encodings(void **state)
{
	uint8_t m[4 + 40] = {2, 0, 0, 100};

	disconnect_mid_message(m, sizeof(m), false);
	disconnect_mid_message(m, sizeof(m), true);
}

/* CM-14: after authentication, a message begun and never finished (a
 * cut text trickling in) is cut at the deadline, not held forever. */
static void stalled_message_after_auth_is_cut(void **state)
{
	struct raw_client rc;
	uint8_t m[9];
	enum raw_result r;
	int id = open_authed(&rc);

	raw_msg_cut_header(m, 100);
	m[8] = 'x';
	assert_int_equal(raw_send(&rc, m, sizeof(m)), 0);
	r = raw_wait_closed(&rc, HANDSHAKE_TIMEOUT_S * 1000 + 2000, NULL);
	assert_true(r == RAW_EOF || r == RAW_RESET);
	raw_close(&rc);
	assert_protocol_error_logged(id, "message incomplete");
	bystander_ok();
}

static void disconnect_mid_cut_text(void **state)
{
	uint8_t m[8 + 500];

	memset(m, 'y', sizeof(m));
	raw_msg_cut_header(m, 1000);
	disconnect_mid_message(m, sizeof(m), false);
	disconnect_mid_message(m, sizeof(m), true);
}

static void disconnect_mid_pixel_format(void **state)
{
	uint8_t m[20];

	raw_msg_pixfmt(m, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0);
	disconnect_mid_message(m, 11, false);
}

/* The hostile churn: kinds of bad clients taken in turn. */
static void churn_one(unsigned kind)
{
	static uint8_t big[4 + 65535 * 4];
	struct raw_client rc;
	uint8_t m[20];

	switch (kind % 8) {
	case 0:
		open_raw(&rc);
		raw_send(&rc, "XXXXXXXXXXXX", 12);
		break;
	case 1:
		open_raw(&rc);
		raw_send(&rc, "RFB 003.008\n\x13", 13);
		break;
	case 2:
		open_authed(&rc);
		raw_send(&rc, "\xff\x00\x00\x00", 4);
		break;
	case 3:
		open_authed(&rc);
		raw_send(&rc, m, raw_msg_cut_header(m, 0xFFFFFFFFu));
		break;
	case 4:
		/* A big but valid message, then a reset. */
		open_authed(&rc);
		big[0] = 2;
		big[2] = big[3] = 0xff;
		raw_send(&rc, big, sizeof(big));
		assert_still_served(&rc);
		raw_abort(&rc);
		return;
	case 5:
		open_authed(&rc);
		raw_send(&rc, m,
			 raw_msg_pixfmt(m, 24, 24, 0, 1, 255, 255, 255, 16, 8,
					0));
		break;
	case 6:
		/* Half a message, then a reset. */
		open_authed(&rc);
		raw_send(&rc, m, raw_msg_cut_header(m, 100000));
		raw_send(&rc, big, 50000);
		raw_abort(&rc);
		return;
	default:
		open_raw(&rc);
		raw_send(&rc, "RFB 003", 7);
		raw_close(&rc);
		return;
	}
	assert_closed_by_server(&rc, NULL);
	raw_close(&rc);
}

static bool wait_log_count(const char *needle, int want, int timeout_ms)
{
	for (int waited = 0;; waited += 20) {
		int n = vfbd_log_count(&fx.p, needle);

		if (n == want)
			return true;
		if (waited >= timeout_ms) {
			print_message("# %d lines with '%s', expected %d\n", n,
				      needle, want);
			return false;
		}
		usleep(20000);
	}
}

/* All hostile connections are closed and logged, and fds are back. */
static void settle(void)
{
	/* Everyone but the bystander. */
	assert_true(wait_log_count("client-closed", fx.made - 1, 5000));
	assert_true(wait_log_count("client-connected", fx.made, 0));
}

static void churn_200_rss_and_fds(void **state)
{
	long rss0, rss1;
	int fds0, fds1;

	for (unsigned i = 0; i < 16; i++)
		churn_one(i);
	settle();
	rss0 = vfbd_rss_kib(&fx.p);
	fds0 = raw_fd_count(&fx.p);
	for (unsigned i = 0; i < 200; i++)
		churn_one(i);
	settle();
	bystander_ok();
	rss1 = vfbd_rss_kib(&fx.p);
	fds1 = raw_fd_count(&fx.p);
	print_message("# after 16: rss %ld KiB, %d fds; after 216: rss %ld "
		      "KiB, %d fds\n",
		      rss0, fds0, rss1, fds1);
	assert_true(rss0 > 0 && rss1 > 0 && fds0 > 0);
	assert_true(rss1 - rss0 < RSS_GROWTH_MAX_KIB);
	assert_int_equal(fds1, fds0);
}

/* Last in each group: every connection made was logged once as connected
 * and once as closed, and SIGTERM ends vfbd cleanly with the bystander
 * closed for "shutdown". */
static void accounting(void **state)
{
	char needle[64];

	settle();
	bystander_ok();
	assert_int_equal(vfbd_stop(&fx.p), 0);
	fx.running = false;
	assert_int_equal(vfbd_log_count(&fx.p, "client-connected"), fx.made);
	assert_int_equal(vfbd_log_count(&fx.p, "client-closed"), fx.made);
	snprintf(needle, sizeof(needle), "client-closed id=%d ", fx.by_id);
	assert_true(
		raw_log_waitf(&fx.p, 0, "reason=shutdown", NULL, "%s", needle));
}

int main(void)
{
	const struct CMUnitTest handshake[] = {
		cmocka_unit_test(bad_choice_then_pipelined_bytes_ignored),
		cmocka_unit_test(version_3_5_speaks_3_3),
		cmocka_unit_test(version_3_889_speaks_3_8),
		cmocka_unit_test(one_byte_per_write_session),
		cmocka_unit_test(pipelined_session_in_one_write),
		cmocka_unit_test(disconnect_mid_version),
		cmocka_unit_test(slow_version_hits_handshake_deadline),
		cmocka_unit_test(stalled_message_after_auth_is_cut),
		cmocka_unit_test(no_client_init_hits_handshake_deadline),
		cmocka_unit_test(preauth_flood),
		cmocka_unit_test(accounting),
	};
	const struct CMUnitTest messages[] = {
		cmocka_unit_test(set_encodings_empty),
		cmocka_unit_test(set_encodings_65535),
		cmocka_unit_test(cut_text_sizes_within_limit),
		cmocka_unit_test(update_requests_out_of_bounds),
		cmocka_unit_test(key_events_with_bogus_keysyms),
		cmocka_unit_test(pointer_out_of_bounds_lands_on_last_pixel),
		cmocka_unit_test(disconnect_mid_set_encodings),
		cmocka_unit_test(disconnect_mid_cut_text),
		cmocka_unit_test(disconnect_mid_pixel_format),
		cmocka_unit_test(accounting),
	};
	const struct CMUnitTest churn[] = {
		cmocka_unit_test(churn_200_rss_and_fds),
		cmocka_unit_test(accounting),
	};
	struct CMUnitTest bad[MAX_CASES + 1];
	int failed = 0;

	signal(SIGPIPE, SIG_IGN);
	vnc_quiet();
	build_bad_cases();
	for (size_t i = 0; i < n_cases; i++)
		bad[i] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_bad_case,
			.initial_state = &cases[i],
		};
	bad[n_cases] = (struct CMUnitTest){
		.name = "accounting",
		.test_func = accounting,
	};
	failed += _cmocka_run_group_tests("hostile-bytes", bad, n_cases + 1,
					  group_setup, group_teardown);
	failed += cmocka_run_group_tests_name("hostile-handshake", handshake,
					      group_setup, group_teardown);
	failed += cmocka_run_group_tests_name("hostile-messages", messages,
					      group_setup, group_teardown);
	failed += cmocka_run_group_tests_name("hostile-churn", churn,
					      group_setup, group_teardown);
	return failed ? 1 : 0;
}
