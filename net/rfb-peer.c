#include "net/rfb-peer.h"
#include "net/encoder.h"
#include "net/rfb-parse.h"
#include "net/rfb-proto.h"
#include "net/rfb-write.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RFB_SERVER_VERSION   "RFB 003.008\n"
#define RFB_FAILURE_GRACE_MS 1000
#define RFB_FENCE_REQUEST    (1u << 31)
/* BlockBefore, BlockAfter, SyncNext. */
#define RFB_FENCE_SUPPORTED 0x7u

struct rfb_peer {
	struct conn *conn;
	struct rfb_parser parser;
	struct rfb_pixconv conv;
	const struct rfb_peer_ops *ops;
	void *user;
	unsigned id;
	bool ready;
	bool has_desktop_size;
	bool has_last_rect;
	bool has_ext_desktop_size;
	bool has_pointer_change;
	bool fence_announced, continuous_announced;
	/* Pseudo-rects owed to the client with the next update. */
	bool owe_qemu_key_ack;
	bool owe_pointer_mode;
	bool owe_layout;
	bool has_copyrect;
	bool owe_copy;
	struct fb_rect copy_dst;
	uint32_t copy_src_x, copy_src_y;
	uint16_t layout_reason, layout_status;
	/* The client's preferred encoding that vfbd has, and instances kept
	 * per encoding so zlib streams survive a switch back and forth. */
	int32_t encoding;
	struct rfb_enc_prefs prefs;
	struct rfb_encoder *encoders[8];
	uint8_t security;
	uint8_t challenge[RFB_VNC_CHALLENGE_LEN];
	char password[RFB_AUTH_PASSWORD_MAX + 1];
	uint32_t width, height;
	size_t normal_read_max;
	unsigned message_timeout_ms; /* applies once past the handshake */
	uint64_t frames_sent;
	struct rfb_update_job *job; /* the update being encoded, if any */
	bool closed;		    /* conn gone; freed when job finishes */
	unsigned geometry_epoch;    /* bumped by each resize */
	bool security_sent; /* past the point where a refusal can be sent */
};

uint64_t rfb_peer_frames_sent(const struct rfb_peer *p)
{
	return p->frames_sent;
}

bool rfb_peer_has_pending(const struct rfb_peer *p)
{
	return p->owe_qemu_key_ack || p->owe_pointer_mode || p->owe_layout ||
	       p->owe_copy;
}

bool rfb_peer_takes_copyrect(const struct rfb_peer *p)
{
	return p->has_copyrect;
}

int rfb_peer_queue_copy(struct rfb_peer *p, struct fb_rect dst, uint32_t src_x,
			uint32_t src_y)
{
	if (!p->has_copyrect)
		return -ENOTSUP;
	if (p->owe_copy)
		return -EBUSY;
	p->owe_copy = true;
	p->copy_dst = dst;
	p->copy_src_x = src_x;
	p->copy_src_y = src_y;
	return 0;
}

void *rfb_peer_user(const struct rfb_peer *p)
{
	return p->user;
}

unsigned rfb_peer_id(const struct rfb_peer *p)
{
	return p->id;
}

struct conn *rfb_peer_conn(const struct rfb_peer *p)
{
	return p->conn;
}

bool rfb_peer_is_ready(const struct rfb_peer *p)
{
	return p->ready;
}

unsigned rfb_peer_bytes_per_pixel(const struct rfb_peer *p)
{
	return (unsigned)rfb_pixfmt_bytes(&p->conv.pf);
}

void rfb_peer_close(struct rfb_peer *p, const char *reason, bool abortive)
{
	conn_close(p->conn, reason, abortive);
}

/* Queues a finished message; the buffer changes hands. */
static int send_buf(struct rfb_peer *p, struct buf *b)
{
	size_t len;
	uint8_t *data = buf_steal(b, &len);

	return conn_send(p->conn, data, len);
}

static void protocol_error(struct rfb_peer *p, const char *why)
{
	log_warn("client-protocol-error", "id=%u peer=%s reason=\"%s\"", p->id,
		 conn_peer(p->conn), why);
	conn_close(p->conn, "protocol-error", true);
}

static void out_of_memory(struct rfb_peer *p)
{
	log_error("client-out-of-memory", "id=%u peer=%s", p->id,
		  conn_peer(p->conn));
	conn_close(p->conn, "io-error", true);
}

void rfb_peer_refuse(struct rfb_peer *p, const char *message,
		     const char *close_reason)
{
	struct buf b;

	buf_init(&b);
	/* Before the version reply is read, the peer is in the middle of
	 * the handshake: a security list of zero types plus a reason is the
	 * failure message every protocol version understands there. */
	if (p->ready || p->parser.phase == RFB_PHASE_VERSION ||
	    p->parser.phase == RFB_PHASE_NORMAL || p->security_sent) {
		/* No RFB message can carry a reason here: just close. */
	} else if (p->parser.minor >= 7) {
		if (buf_put_u8(&b, 0) || rfb_write_reason(&b, message))
			goto oom;
	} else {
		if (buf_put_be32(&b, 0) || rfb_write_reason(&b, message))
			goto oom;
	}
	if (b.len)
		send_buf(p, &b);
	buf_fini(&b);
	conn_close_after_flush(p->conn, close_reason, RFB_FAILURE_GRACE_MS);
	return;
oom:
	buf_fini(&b);
	out_of_memory(p);
}

static void send_challenge(struct rfb_peer *p, struct buf *b)
{
	if (rfb_auth_new_challenge(p->challenge) < 0) {
		log_error("client-auth-error",
			  "id=%u reason=\"no random bytes\"", p->id);
		conn_close(p->conn, "io-error", true);
		return;
	}
	if (buf_append(b, p->challenge, sizeof(p->challenge)))
		out_of_memory(p);
}

static void on_version(struct rfb_peer *p, int minor)
{
	const char *close_reason = "protocol-error";
	const char *refusal;
	struct buf b;

	log_debug("client-version", "id=%u version=3.%d", p->id, minor);
	refusal = p->ops->admit ? p->ops->admit(p, &close_reason) : NULL;
	if (refusal) {
		rfb_peer_refuse(p, refusal, close_reason);
		return;
	}
	buf_init(&b);
	if (minor == 3) {
		/* 3.3: the server decides, the client cannot choose. */
		if (buf_put_be32(&b, p->security))
			goto oom;
		if (p->security == RFB_SEC_VNC_AUTH)
			send_challenge(p, &b);
	} else {
		if (buf_put_u8(&b, 1) || buf_put_u8(&b, p->security))
			goto oom;
	}
	send_buf(p, &b);
	buf_fini(&b);
	p->security_sent = true;
	return;
oom:
	buf_fini(&b);
	out_of_memory(p);
}

static void on_security_choice(struct rfb_peer *p)
{
	struct buf b;

	buf_init(&b);
	if (p->security == RFB_SEC_VNC_AUTH)
		send_challenge(p, &b);
	else if (p->parser.minor >= 8 && buf_put_be32(&b, 0))
		out_of_memory(p);
	if (b.len && !conn_is_closing(p->conn))
		send_buf(p, &b);
	buf_fini(&b);
}

static void on_auth_response(struct rfb_peer *p, const uint8_t *response)
{
	struct buf b;
	bool ok = rfb_auth_check(p->challenge, response, p->password);

	/* A challenge is good for one answer only. */
	memset(p->challenge, 0, sizeof(p->challenge));
	buf_init(&b);
	if (ok) {
		if (buf_put_be32(&b, 0) == 0)
			send_buf(p, &b);
		buf_fini(&b);
		return;
	}
	log_info("client-auth-failed", "id=%u peer=%s", p->id,
		 conn_peer(p->conn));
	if (buf_put_be32(&b, 1) == 0 &&
	    (p->parser.minor < 8 ||
	     rfb_write_reason(&b, "authentication failed") == 0))
		send_buf(p, &b);
	buf_fini(&b);
	conn_close_after_flush(p->conn, "auth-failed", RFB_FAILURE_GRACE_MS);
	p->ops->on_auth_failed(p);
}

static void on_client_init(struct rfb_peer *p, bool shared)
{
	struct rfb_server_init init = {0};
	struct buf b;

	if (p->ops->on_init(p, shared, &init) < 0 || conn_is_closing(p->conn))
		return;
	p->width = init.width;
	p->height = init.height;
	buf_init(&b);
	if (rfb_write_server_init(&b, init.width, init.height, init.name)) {
		buf_fini(&b);
		out_of_memory(p);
		return;
	}
	send_buf(p, &b);
	buf_fini(&b);
	p->ready = true;
	conn_set_read_max(p->conn, p->normal_read_max);
	conn_set_message_timeout(p->conn, p->message_timeout_ms);
}

/* Returns the instance for `encoding`, creating it on first use; NULL if
 * vfbd has no such encoder. */
static struct rfb_encoder *encoder_for(struct rfb_peer *p, int32_t encoding)
{
	size_t n = sizeof(p->encoders) / sizeof(p->encoders[0]);
	struct rfb_encoder *e;

	for (size_t i = 0; i < n && p->encoders[i]; i++)
		if (p->encoders[i]->ops->encoding == encoding)
			return p->encoders[i];
	e = rfb_encoder_new(encoding);
	if (!e)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!p->encoders[i]) {
			p->encoders[i] = e;
			return e;
		}
	}
	rfb_encoder_free(e);
	return NULL;
}

/* Sends a ServerFence with `flags` and `payload`. */
static void send_fence(struct rfb_peer *p, uint32_t flags,
		       const uint8_t *payload, uint8_t len)
{
	struct buf b;

	buf_init(&b);
	if (buf_put_u8(&b, RFB_S2C_SERVER_FENCE) || buf_put_u8(&b, 0) ||
	    buf_put_u8(&b, 0) || buf_put_u8(&b, 0) || buf_put_be32(&b, flags) ||
	    buf_put_u8(&b, len) || buf_append(&b, payload, len)) {
		buf_fini(&b);
		out_of_memory(p);
		return;
	}
	send_buf(p, &b);
	buf_fini(&b);
}

static void send_end_of_continuous(struct rfb_peer *p)
{
	uint8_t *m = malloc(1);

	if (!m) {
		out_of_memory(p);
		return;
	}
	m[0] = RFB_S2C_END_OF_CONTINUOUS_UPDATES;
	conn_send(p->conn, m, 1);
}

/* The client listed extensions: tell it the server has them (each in the
 * way its spec says) and let the parser accept their messages. */
static void announce_extensions(struct rfb_peer *p, uint32_t extensions)
{
	uint32_t added = extensions & ~p->parser.extensions;

	p->parser.extensions |= extensions;
	if (p->has_ext_desktop_size) {
		p->parser.extensions |= RFB_EXT_DESKTOP_SIZE;
		p->owe_layout = true;
		p->layout_reason = 0;
		p->layout_status = 0;
	}
	if (p->has_pointer_change)
		p->owe_pointer_mode = true;
	if (added & RFB_EXT_QEMU_KEY)
		p->owe_qemu_key_ack = true;
	if ((added & RFB_EXT_FENCE) && !p->fence_announced) {
		p->fence_announced = true;
		send_fence(p, RFB_FENCE_REQUEST, NULL, 0);
	}
	if ((added & RFB_EXT_CONTINUOUS) && !p->continuous_announced) {
		p->continuous_announced = true;
		send_end_of_continuous(p);
	}
}

static void on_fence(struct rfb_peer *p, const struct rfb_msg *m)
{
	/* A response to our own fence needs nothing. A request is answered
	 * in order: vfbd never reorders its output, so BlockBefore,
	 * BlockAfter and SyncNext hold by construction. */
	if (!(m->u.fence.flags & RFB_FENCE_REQUEST))
		return;
	send_fence(p, m->u.fence.flags & RFB_FENCE_SUPPORTED,
		   m->u.fence.payload, m->u.fence.len);
}

static void on_set_encodings(struct rfb_peer *p, const uint8_t *list,
			     uint16_t count)
{
	bool chosen = false;
	uint32_t extensions = 0;

	p->has_desktop_size = false;
	p->has_last_rect = false;
	p->has_ext_desktop_size = false;
	p->has_pointer_change = false;
	p->has_copyrect = false;
	p->encoding = RFB_ENC_RAW;
	p->prefs.compress_level = -1;
	p->prefs.quality_level = -1;
	for (uint16_t i = 0; i < count; i++) {
		int32_t enc = get_be32s(list + 4u * i);

		if (enc == RFB_ENC_DESKTOP_SIZE)
			p->has_desktop_size = true;
		else if (enc == RFB_ENC_LAST_RECT)
			p->has_last_rect = true;
		else if (enc == RFB_ENC_EXTENDED_DESKTOP_SIZE)
			p->has_ext_desktop_size = true;
		else if (enc == RFB_ENC_COPYRECT)
			p->has_copyrect = true;
		else if (enc == RFB_ENC_QEMU_POINTER_MOTION_CHANGE)
			p->has_pointer_change = true;
		else if (enc == RFB_ENC_QEMU_EXTENDED_KEY_EVENT)
			extensions |= RFB_EXT_QEMU_KEY;
		else if (enc == RFB_ENC_FENCE)
			extensions |= RFB_EXT_FENCE;
		else if (enc == RFB_ENC_CONTINUOUS_UPDATES)
			extensions |= RFB_EXT_CONTINUOUS;
		else if (enc >= RFB_ENC_COMPRESS_LEVEL_0 &&
			 enc <= RFB_ENC_COMPRESS_LEVEL_0 + 9)
			p->prefs.compress_level =
				enc - RFB_ENC_COMPRESS_LEVEL_0;
		else if (enc >= RFB_ENC_QUALITY_LEVEL_0 &&
			 enc <= RFB_ENC_QUALITY_LEVEL_0 + 9)
			p->prefs.quality_level = enc - RFB_ENC_QUALITY_LEVEL_0;
		else if (!chosen && enc >= 0 && enc != RFB_ENC_COPYRECT &&
			 encoder_for(p, enc)) {
			/* The list is in the client's order of preference. */
			p->encoding = enc;
			chosen = true;
		}
	}
	announce_extensions(p, extensions);
	log_debug("client-encodings", "id=%u count=%u chosen=%d", p->id, count,
		  p->encoding);
}

static void on_update_request(struct rfb_peer *p, const struct rfb_msg *m)
{
	struct fb_rect r = {
		.x = m->u.update.x,
		.y = m->u.update.y,
		.w = m->u.update.w,
		.h = m->u.update.h,
	};

	/* The spec lets the server crop requests to the framebuffer. */
	if (!fb_rect_clip(&r, p->width, p->height))
		r = (struct fb_rect){0};
	p->ops->on_update_request(p, m->u.update.incremental, r);
}

static void handle(struct rfb_peer *p, const struct rfb_msg *m)
{
	const char *why;

	switch (m->type) {
	case RFB_MSG_VERSION:
		on_version(p, m->u.minor);
		break;
	case RFB_MSG_SECURITY_CHOICE:
		on_security_choice(p);
		break;
	case RFB_MSG_AUTH_RESPONSE:
		on_auth_response(p, m->u.auth_response);
		break;
	case RFB_MSG_CLIENT_INIT:
		on_client_init(p, m->u.shared);
		break;
	case RFB_MSG_SET_PIXEL_FORMAT:
		if (rfb_pixfmt_check(&m->u.pixfmt, &why) < 0) {
			protocol_error(p, why);
			break;
		}
		rfb_pixconv_init(&p->conv, &m->u.pixfmt);
		break;
	case RFB_MSG_SET_ENCODINGS:
		on_set_encodings(p, m->u.encodings.list, m->u.encodings.count);
		break;
	case RFB_MSG_UPDATE_REQUEST:
		on_update_request(p, m);
		break;
	case RFB_MSG_KEY:
		p->ops->on_key(p, m->u.key.keysym, m->u.key.down);
		break;
	case RFB_MSG_POINTER: {
		uint32_t x = m->u.pointer.x, y = m->u.pointer.y;

		if (x >= p->width)
			x = p->width ? p->width - 1 : 0;
		if (y >= p->height)
			y = p->height ? p->height - 1 : 0;
		p->ops->on_pointer(p, x, y, m->u.pointer.buttons);
		break;
	}
	case RFB_MSG_QEMU_KEY:
		p->ops->on_key_code(p, m->u.qemu_key.keycode,
				    m->u.qemu_key.keysym, m->u.qemu_key.down);
		break;
	case RFB_MSG_FENCE:
		on_fence(p, m);
		break;
	case RFB_MSG_CONTINUOUS_UPDATES:
		if (!m->u.continuous.enable)
			send_end_of_continuous(p);
		p->ops->on_continuous(p, m->u.continuous.enable);
		break;
	case RFB_MSG_SET_DESKTOP_SIZE:
		/* Guests choose their own geometry: refuse, and say why in
		 * the layout reply (status 1: resize prohibited). */
		log_info("client-resize-refused",
			 "id=%u width=%u height=%u reason=\"the source "
			 "cannot be resized by clients\"",
			 p->id, m->u.desktop_size.width,
			 m->u.desktop_size.height);
		p->owe_layout = true;
		p->layout_reason = 1;
		p->layout_status = 1;
		break;
	case RFB_MSG_CUT_TEXT:
		/* Accepted within the size limit; the guest has no clipboard
		 * channel to take it. */
		log_debug("client-cut-text", "id=%u bytes=%u", p->id,
			  m->u.cut_text.len);
		break;
	}
}

static void security_failure(struct rfb_peer *p, const char *why)
{
	struct buf b;

	log_warn("client-protocol-error", "id=%u peer=%s reason=\"%s\"", p->id,
		 conn_peer(p->conn), why);
	buf_init(&b);
	if (buf_put_be32(&b, 1) == 0 && rfb_write_reason(&b, why) == 0)
		send_buf(p, &b);
	buf_fini(&b);
	conn_close_after_flush(p->conn, "protocol-error", RFB_FAILURE_GRACE_MS);
}

static size_t peer_on_read(struct conn *c, const uint8_t *data, size_t len)
{
	struct rfb_peer *p = conn_user(c);
	size_t used = 0;

	/* Once the peer decided to close, buffered bytes are not looked at. */
	while (used < len && !conn_is_closing(c)) {
		struct rfb_msg m;
		const char *why = "malformed message";
		enum rfb_phase before = p->parser.phase;
		ssize_t n = rfb_parse(&p->parser, data + used, len - used, &m,
				      &why);

		if (n == 0)
			break;
		if (n < 0 && before == RFB_PHASE_SECURITY_CHOICE &&
		    p->parser.minor >= 8) {
			/* 3.8 can say why: SecurityResult failed + reason. */
			security_failure(p, why);
			break;
		}
		if (n < 0) {
			protocol_error(p, why);
			break;
		}
		used += (size_t)n;
		/* A client must wait for SecurityResult: bytes sent after
		 * the response without waiting are not a ClientInit. */
		if (m.type == RFB_MSG_AUTH_RESPONSE && used < len) {
			protocol_error(p, "data after the VNC authentication "
					  "response");
			break;
		}
		handle(p, &m);
	}
	return used;
}

static void peer_on_drain(struct conn *c)
{
	struct rfb_peer *p = conn_user(c);

	if (p->ready)
		p->ops->on_drain(p);
}

static void free_peer(struct rfb_peer *p)
{
	for (size_t i = 0; i < sizeof(p->encoders) / sizeof(p->encoders[0]);
	     i++)
		rfb_encoder_free(p->encoders[i]);
	memset(p->password, 0, sizeof(p->password));
	free(p);
}

static void peer_on_close(struct conn *c, const char *reason)
{
	struct rfb_peer *p = conn_user(c);

	p->ops->on_close(p, reason);
	p->closed = true;
	/* A worker may still be encoding with our encoders: the job's
	 * finish frees the peer then. */
	if (!p->job)
		free_peer(p);
}

static const struct conn_ops peer_conn_ops = {
	.on_read = peer_on_read,
	.on_drain = peer_on_drain,
	.on_close = peer_on_close,
};

struct rfb_peer *rfb_peer_accept(uv_stream_t *server, unsigned id,
				 const struct rfb_peer_config *cfg,
				 const struct rfb_peer_ops *ops, void *user)
{
	struct rfb_peer *p = calloc(1, sizeof(*p));
	struct conn_settings settings = cfg->conn;
	uint8_t *version;

	if (!p)
		return NULL;
	p->ops = ops;
	p->user = user;
	p->id = id;
	if (cfg->password && cfg->password[0]) {
		p->security = RFB_SEC_VNC_AUTH;
		strncpy(p->password, cfg->password, RFB_AUTH_PASSWORD_MAX);
	} else {
		p->security = RFB_SEC_NONE;
	}
	rfb_parser_init(&p->parser, &p->security, 1, cfg->cut_text_max);
	rfb_pixconv_init(&p->conv, &rfb_pixfmt_server);
	p->encoding = RFB_ENC_RAW;
	p->prefs.compress_level = -1;
	p->prefs.quality_level = -1;
	/* Room for the largest message plus what may follow it. */
	p->normal_read_max = rfb_parse_max_message(&p->parser) + 4096;
	settings.read_max = cfg->preauth_read_max;
	/* Before ClientInit the handshake deadline bounds everything. */
	p->message_timeout_ms = settings.message_timeout_ms;
	settings.message_timeout_ms = 0;
	p->conn = conn_accept(server, id, &settings, &peer_conn_ops, p);
	if (!p->conn) {
		free(p);
		return NULL;
	}
	version = malloc(RFB_VERSION_LEN);
	if (version) {
		memcpy(version, RFB_SERVER_VERSION, RFB_VERSION_LEN);
		conn_send(p->conn, version, RFB_VERSION_LEN);
	} else {
		conn_close(p->conn, "io-error", true);
	}
	return p;
}

static int write_layout(struct rfb_peer *p, struct buf *b, uint16_t reason,
			uint16_t status)
{
	/* One screen covering the framebuffer (ExtendedDesktopSize). Its id
	 * is 1, not 0: libvncclient (0.9.14) takes a screen with id 0 for
	 * invalid and then ignores the new size. */
	if (rfb_write_rect_header(b, reason, status, p->width, p->height,
				  RFB_ENC_EXTENDED_DESKTOP_SIZE) ||
	    buf_put_u8(b, 1) || !buf_grow(b, 3) || buf_put_be32(b, 1) ||
	    buf_put_be16(b, 0) || buf_put_be16(b, 0) ||
	    buf_put_be16(b, (uint16_t)p->width) ||
	    buf_put_be16(b, (uint16_t)p->height) || buf_put_be32(b, 0))
		return -ENOMEM;
	return 0;
}

static int write_owed_pseudo(struct rfb_peer *p, struct buf *b,
			     unsigned *nrects)
{
	if (p->owe_qemu_key_ack) {
		if (rfb_write_rect_header(b, 0, 0, p->width, p->height,
					  RFB_ENC_QEMU_EXTENDED_KEY_EVENT))
			return -ENOMEM;
		p->owe_qemu_key_ack = false;
		(*nrects)++;
	}
	if (p->owe_pointer_mode) {
		/* Always absolute: a guest that wants relative motion gets
		 * deltas from its sink. */
		if (rfb_write_rect_header(b, 1, 0, p->width, p->height,
					  RFB_ENC_QEMU_POINTER_MOTION_CHANGE))
			return -ENOMEM;
		p->owe_pointer_mode = false;
		(*nrects)++;
	}
	if (p->owe_layout) {
		if (write_layout(p, b, p->layout_reason, p->layout_status))
			return -ENOMEM;
		p->owe_layout = false;
		(*nrects)++;
	}
	/* The copy reads the client's pixels as they are before this
	 * update's other rects land, so it goes first. */
	if (p->owe_copy) {
		if (rfb_write_rect_header(b, p->copy_dst.x, p->copy_dst.y,
					  p->copy_dst.w, p->copy_dst.h,
					  RFB_ENC_COPYRECT) ||
		    buf_put_be16(b, (uint16_t)p->copy_src_x) ||
		    buf_put_be16(b, (uint16_t)p->copy_src_y))
			return -ENOMEM;
		p->owe_copy = false;
		(*nrects)++;
	}
	return 0;
}

/* One FramebufferUpdate being built. Everything the encoder needs is
 * copied in at prepare time, so the loop thread may change the peer's
 * format or encoding while a worker encodes. */
struct rfb_update_job {
	struct rfb_peer *peer;
	struct rfb_encoder *enc;
	struct rfb_pixconv conv;
	struct rfb_enc_prefs prefs;
	bool has_last_rect;
	struct fb_rect *rects;
	size_t n;
	unsigned nrects;
	unsigned geometry_epoch;
	struct buf b;
	int rc;
};

struct rfb_update_job *rfb_peer_prepare_update(struct rfb_peer *p,
					       const struct fb_rect *rects,
					       size_t n)
{
	struct rfb_encoder *enc = encoder_for(p, p->encoding);
	struct rfb_update_job *job;

	if (!p->ready || p->job || conn_is_closing(p->conn))
		return NULL;
	if (!enc)
		enc = encoder_for(p, RFB_ENC_RAW);
	job = calloc(1, sizeof(*job));
	if (job && n)
		job->rects = malloc(n * sizeof(*rects));
	if (!enc || !job || (n && !job->rects)) {
		if (job)
			free(job->rects);
		free(job);
		out_of_memory(p);
		return NULL;
	}
	job->peer = p;
	job->enc = enc;
	job->conv = p->conv;
	job->prefs = p->prefs;
	job->has_last_rect = p->has_last_rect;
	job->geometry_epoch = p->geometry_epoch;
	if (n)
		memcpy(job->rects, rects, n * sizeof(*rects));
	job->n = n;
	buf_init(&job->b);
	/* The rect count is patched in once the encoder has run: some
	 * encoders split rects. */
	job->rc = rfb_write_update_header(&job->b, 0);
	if (job->rc == 0)
		job->rc = write_owed_pseudo(p, &job->b, &job->nrects);
	p->job = job;
	return job;
}

void rfb_update_job_encode(struct rfb_update_job *job,
			   const struct fb_view *src)
{
	for (size_t i = 0; i < job->n && job->rc == 0; i++) {
		if ((uint64_t)job->rects[i].x + job->rects[i].w > src->width ||
		    (uint64_t)job->rects[i].y + job->rects[i].h > src->height)
			job->rc = -EINVAL;
		else
			job->rc = job->enc->ops->encode(
				job->enc, &job->b, &job->conv, src,
				job->rects[i], &job->prefs, &job->nrects);
	}
	if (job->rc == 0 && job->nrects > UINT16_MAX - 1) {
		if (job->has_last_rect)
			job->rc = rfb_write_rect_header(&job->b, 0, 0, 0, 0,
							RFB_ENC_LAST_RECT);
		else
			job->rc = -E2BIG;
		job->nrects = UINT16_MAX;
	}
}

int rfb_peer_finish_update(struct rfb_update_job *job)
{
	struct rfb_peer *p = job->peer;
	int rc = job->rc;

	p->job = NULL;
	if (p->closed) {
		/* The connection went while a worker encoded: only now may
		 * the encoders go. */
		free_peer(p);
		rc = -EPIPE;
	} else if (rc == 0 && job->geometry_epoch != p->geometry_epoch) {
		/* Encoded for the old geometry: the resize already asked for
		 * a full update, so this one is simply dropped. */
	} else if (rc == 0) {
		put_be16(job->b.data + 2, (uint16_t)job->nrects);
		rc = send_buf(p, &job->b);
		if (rc == 0)
			p->frames_sent++;
	} else if (rc == -ENOMEM) {
		out_of_memory(p);
	}
	buf_fini(&job->b);
	free(job->rects);
	free(job);
	return rc;
}

int rfb_peer_send_update(struct rfb_peer *p, const struct fb_view *src,
			 const struct fb_rect *rects, size_t n)
{
	struct rfb_update_job *job;

	if (!p->ready || conn_is_closing(p->conn))
		return -EPIPE;
	if (src->width != p->width || src->height != p->height)
		return -EINVAL;
	job = rfb_peer_prepare_update(p, rects, n);
	if (!job)
		return -ENOMEM;
	rfb_update_job_encode(job, src);
	return rfb_peer_finish_update(job);
}

int rfb_peer_send_resize(struct rfb_peer *p, uint32_t width, uint32_t height)
{
	struct buf b;
	int rc;

	if (!p->ready || conn_is_closing(p->conn))
		return -EPIPE;
	if (!p->has_desktop_size && !p->has_ext_desktop_size)
		return -ENOTSUP;
	p->width = width;
	p->height = height;
	p->geometry_epoch++;
	buf_init(&b);
	if (rfb_write_update_header(&b, 1) ||
	    (p->has_ext_desktop_size
		     ? write_layout(p, &b, 0, 0)
		     : rfb_write_rect_header(&b, 0, 0, width, height,
					     RFB_ENC_DESKTOP_SIZE))) {
		buf_fini(&b);
		out_of_memory(p);
		return -ENOMEM;
	}
	/* A layout or copy owed from before the resize is meaningless. */
	p->owe_layout = false;
	p->owe_copy = false;
	rc = send_buf(p, &b);
	buf_fini(&b);
	return rc;
}
