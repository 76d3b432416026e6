/* The RFB client-message parser. Every function here works only on the
 * bytes it is given and the parser struct: no I/O, no allocation, no
 * globals, so the whole file can run under a fuzzer. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net/rfb-parse.h"
#include "vfbd/base/bytes.h"

/* Client message lengths, type byte included (RFC 6143 section 7.5). */
#define RFB_SET_PIXEL_FORMAT_LEN  (4 + RFB_PIXFMT_LEN)
#define RFB_SET_ENCODINGS_HDR_LEN 4
#define RFB_SET_ENCODINGS_MAX	  65535u
#define RFB_UPDATE_REQUEST_LEN	  10
#define RFB_KEY_EVENT_LEN	  8
#define RFB_POINTER_EVENT_LEN	  6
#define RFB_CUT_TEXT_HDR_LEN	  8
#define RFB_QEMU_KEY_LEN	  12
#define RFB_FENCE_HDR_LEN	  9
#define RFB_CONTINUOUS_LEN	  10
#define RFB_DESKTOP_SIZE_HDR_LEN  8
#define RFB_SCREEN_LEN		  16

_Static_assert(RFB_SET_PIXEL_FORMAT_LEN == 20, "SetPixelFormat is 20 bytes");
_Static_assert(sizeof(((struct rfb_msg *)0)->u.auth_response) ==
		       RFB_VNC_CHALLENGE_LEN,
	       "the VNC auth response is as long as the challenge");

static ssize_t rfb_fail(struct rfb_parser *p, const char **reason,
			const char *why)
{
	p->phase = RFB_PHASE_DEAD;
	if (reason)
		*reason = why;
	return -EPROTO;
}

__attribute__((format(printf, 3, 4))) static ssize_t
rfb_failf(struct rfb_parser *p, const char **reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->reason_buf, sizeof(p->reason_buf), fmt, ap);
	va_end(ap);
	return rfb_fail(p, reason, p->reason_buf);
}

void rfb_parser_init(struct rfb_parser *p, const uint8_t *offered,
		     unsigned n_offered, uint32_t cut_text_max)
{
	assert(n_offered >= 1 && n_offered <= sizeof(p->offered));
	memset(p, 0, sizeof(*p));
	p->phase = RFB_PHASE_VERSION;
	/* Clamped rather than trusted so that a release build with a bad
	 * caller still never reads past `offered`. */
	if (n_offered > sizeof(p->offered))
		n_offered = sizeof(p->offered);
	if (n_offered)
		memcpy(p->offered, offered, n_offered);
	p->n_offered = n_offered;
	p->cut_text_max = cut_text_max < RFB_CUT_TEXT_MAX ? cut_text_max
							  : RFB_CUT_TEXT_MAX;
}

size_t rfb_parse_max_message(const struct rfb_parser *p)
{
	size_t cut = RFB_CUT_TEXT_HDR_LEN + (size_t)p->cut_text_max;
	size_t enc =
		RFB_SET_ENCODINGS_HDR_LEN + (size_t)RFB_SET_ENCODINGS_MAX * 4;

	return cut > enc ? cut : enc;
}

static bool rfb_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static unsigned rfb_3digits(const uint8_t *d)
{
	return (d[0] - '0') * 100u + (d[1] - '0') * 10u + (d[2] - '0');
}

/* Checks the bytes of "RFB xxx.yyy\n" seen so far, so that a client that
 * sends garbage is dropped at its first wrong byte instead of being
 * waited for until the handshake deadline. */
static bool rfb_version_prefix_ok(const uint8_t *buf, size_t len)
{
	static const char pattern[RFB_VERSION_LEN + 1] = "RFB 999.999\n";

	for (size_t i = 0; i < len && i < RFB_VERSION_LEN; i++) {
		if (pattern[i] == '9') {
			if (!rfb_is_digit(buf[i]))
				return false;
		} else if (buf[i] != (uint8_t)pattern[i]) {
			return false;
		}
	}
	return true;
}

/* The phase that follows once security type `type` is settled. */
static ssize_t rfb_enter_security(struct rfb_parser *p, uint8_t type,
				  const char **reason)
{
	switch (type) {
	case RFB_SEC_NONE:
		p->phase = RFB_PHASE_CLIENT_INIT;
		return 0;
	case RFB_SEC_VNC_AUTH:
		p->phase = RFB_PHASE_AUTH_RESPONSE;
		return 0;
	default:
		/* Moving on to ClientInit would skip whatever that type was
		 * meant to check, so fail closed. */
		return rfb_failf(p, reason,
				 "security type %u has no handshake in vfbd",
				 type);
	}
}

static ssize_t rfb_parse_version(struct rfb_parser *p, const uint8_t *buf,
				 size_t len, struct rfb_msg *msg,
				 const char **reason)
{
	unsigned minor;
	ssize_t err;

	if (!rfb_version_prefix_ok(buf, len))
		return rfb_fail(p, reason, "malformed protocol version");
	if (len >= 7 && memcmp(buf + 4, "003", 3) != 0)
		return rfb_failf(p, reason,
				 "unsupported protocol version %.3s.xxx",
				 (const char *)buf + 4);
	if (len < RFB_VERSION_LEN)
		return 0;

	/* The major was matched as "003" above. */
	minor = rfb_3digits(buf + 8);
	/* RFC 6143: 3.4-3.6 are unofficial and mean 3.3; a minor above 8
	 * (Apple sends 3.889) is answered with the newest we speak. */
	if (minor < 3)
		return rfb_failf(p, reason, "unsupported protocol version %.7s",
				 (const char *)buf + 4);
	if (minor < 7)
		p->minor = 3;
	else if (minor == 7)
		p->minor = 7;
	else
		p->minor = 8;

	if (p->minor == 3) {
		/* In 3.3 the server imposes offered[0]; the client has no
		 * say, so there is no choice message to validate. */
		err = rfb_enter_security(p, p->offered[0], reason);
		if (err < 0)
			return err;
	} else {
		p->phase = RFB_PHASE_SECURITY_CHOICE;
	}
	msg->type = RFB_MSG_VERSION;
	msg->u.minor = p->minor;
	return RFB_VERSION_LEN;
}

static ssize_t rfb_parse_security_choice(struct rfb_parser *p,
					 const uint8_t *buf,
					 struct rfb_msg *msg,
					 const char **reason)
{
	uint8_t type = buf[0];
	bool offered = false;
	ssize_t err;

	/* Type 0 means "failed" and is never a valid choice, even if a
	 * confused caller put it in the list. */
	for (unsigned i = 0; i < p->n_offered && type != RFB_SEC_INVALID; i++)
		if (p->offered[i] == type)
			offered = true;
	if (!offered)
		return rfb_failf(p, reason, "security type %u was not offered",
				 type);
	err = rfb_enter_security(p, type, reason);
	if (err < 0)
		return err;
	msg->type = RFB_MSG_SECURITY_CHOICE;
	msg->u.security = type;
	return 1;
}

static ssize_t rfb_parse_set_encodings(struct rfb_parser *p, const uint8_t *buf,
				       size_t len, struct rfb_msg *msg)
{
	uint16_t count;
	size_t need;

	if (len < RFB_SET_ENCODINGS_HDR_LEN)
		return 0;
	count = get_be16(buf + 2);
	need = RFB_SET_ENCODINGS_HDR_LEN + (size_t)count * 4;
	if (len < need)
		return 0;
	msg->type = RFB_MSG_SET_ENCODINGS;
	msg->u.encodings.count = count;
	msg->u.encodings.list = buf + RFB_SET_ENCODINGS_HDR_LEN;
	return (ssize_t)need;
}

static ssize_t rfb_parse_cut_text(struct rfb_parser *p, const uint8_t *buf,
				  size_t len, struct rfb_msg *msg,
				  const char **reason)
{
	uint32_t text_len;
	size_t need;

	if (len < RFB_CUT_TEXT_HDR_LEN)
		return 0;
	/* Checked before any payload arrives, so a client cannot make the
	 * connection buffer grow towards a size it merely declared. */
	text_len = get_be32(buf + 4);
	if (text_len > p->cut_text_max)
		return rfb_failf(p, reason,
				 "cut text %" PRIu32
				 " bytes exceeds limit %" PRIu32,
				 text_len, p->cut_text_max);
	need = RFB_CUT_TEXT_HDR_LEN + (size_t)text_len;
	if (len < need)
		return 0;
	msg->type = RFB_MSG_CUT_TEXT;
	msg->u.cut_text.text = buf + RFB_CUT_TEXT_HDR_LEN;
	msg->u.cut_text.len = text_len;
	return (ssize_t)need;
}

static ssize_t rfb_parse_qemu(struct rfb_parser *p, const uint8_t *buf,
			      size_t len, struct rfb_msg *msg,
			      const char **reason)
{
	if (len < 2)
		return 0;
	if (buf[1] != RFB_QEMU_EXTENDED_KEY_EVENT)
		return rfb_failf(p, reason,
				 "QEMU message subtype %u not "
				 "supported",
				 buf[1]);
	if (len < RFB_QEMU_KEY_LEN)
		return 0;
	msg->type = RFB_MSG_QEMU_KEY;
	msg->u.qemu_key.down = get_be16(buf + 2) != 0;
	msg->u.qemu_key.keysym = get_be32(buf + 4);
	msg->u.qemu_key.keycode = get_be32(buf + 8);
	return RFB_QEMU_KEY_LEN;
}

static ssize_t rfb_parse_fence(struct rfb_parser *p, const uint8_t *buf,
			       size_t len, struct rfb_msg *msg,
			       const char **reason)
{
	uint8_t plen;

	if (len < RFB_FENCE_HDR_LEN)
		return 0;
	plen = buf[8];
	if (plen > RFB_FENCE_PAYLOAD_MAX)
		return rfb_failf(p, reason, "fence payload %u bytes exceeds %u",
				 plen, RFB_FENCE_PAYLOAD_MAX);
	if (len < (size_t)RFB_FENCE_HDR_LEN + plen)
		return 0;
	msg->type = RFB_MSG_FENCE;
	msg->u.fence.flags = get_be32(buf + 4);
	msg->u.fence.len = plen;
	msg->u.fence.payload = buf + RFB_FENCE_HDR_LEN;
	return RFB_FENCE_HDR_LEN + plen;
}

static ssize_t rfb_parse_desktop_size(struct rfb_parser *p, const uint8_t *buf,
				      size_t len, struct rfb_msg *msg,
				      const char **reason)
{
	uint8_t screens;
	size_t need;

	if (len < RFB_DESKTOP_SIZE_HDR_LEN)
		return 0;
	screens = buf[6];
	if (screens == 0 || screens > RFB_SCREENS_MAX)
		return rfb_failf(p, reason,
				 "SetDesktopSize with %u screens (1..%u)",
				 screens, RFB_SCREENS_MAX);
	need = RFB_DESKTOP_SIZE_HDR_LEN + (size_t)screens * RFB_SCREEN_LEN;
	if (len < need)
		return 0;
	msg->type = RFB_MSG_SET_DESKTOP_SIZE;
	msg->u.desktop_size.width = get_be16(buf + 2);
	msg->u.desktop_size.height = get_be16(buf + 4);
	msg->u.desktop_size.screens = screens;
	msg->u.desktop_size.layout = buf + RFB_DESKTOP_SIZE_HDR_LEN;
	return (ssize_t)need;
}

static ssize_t rfb_parse_normal(struct rfb_parser *p, const uint8_t *buf,
				size_t len, struct rfb_msg *msg,
				const char **reason)
{
	switch (buf[0]) {
	case RFB_C2S_QEMU:
		if (!(p->extensions & RFB_EXT_QEMU_KEY))
			break;
		return rfb_parse_qemu(p, buf, len, msg, reason);
	case RFB_C2S_CLIENT_FENCE:
		if (!(p->extensions & RFB_EXT_FENCE))
			break;
		return rfb_parse_fence(p, buf, len, msg, reason);
	case RFB_C2S_ENABLE_CONTINUOUS_UPDATES:
		if (!(p->extensions & RFB_EXT_CONTINUOUS))
			break;
		if (len < RFB_CONTINUOUS_LEN)
			return 0;
		msg->type = RFB_MSG_CONTINUOUS_UPDATES;
		msg->u.continuous.enable = buf[1] != 0;
		msg->u.continuous.x = get_be16(buf + 2);
		msg->u.continuous.y = get_be16(buf + 4);
		msg->u.continuous.w = get_be16(buf + 6);
		msg->u.continuous.h = get_be16(buf + 8);
		return RFB_CONTINUOUS_LEN;
	case RFB_C2S_SET_DESKTOP_SIZE:
		if (!(p->extensions & RFB_EXT_DESKTOP_SIZE))
			break;
		return rfb_parse_desktop_size(p, buf, len, msg, reason);
	case RFB_C2S_SET_PIXEL_FORMAT:
		if (len < RFB_SET_PIXEL_FORMAT_LEN)
			return 0;
		msg->type = RFB_MSG_SET_PIXEL_FORMAT;
		rfb_pixfmt_read(&msg->u.pixfmt, buf + 4);
		return RFB_SET_PIXEL_FORMAT_LEN;
	case RFB_C2S_SET_ENCODINGS:
		return rfb_parse_set_encodings(p, buf, len, msg);
	case RFB_C2S_UPDATE_REQUEST:
		if (len < RFB_UPDATE_REQUEST_LEN)
			return 0;
		msg->type = RFB_MSG_UPDATE_REQUEST;
		msg->u.update.incremental = buf[1] != 0;
		msg->u.update.x = get_be16(buf + 2);
		msg->u.update.y = get_be16(buf + 4);
		msg->u.update.w = get_be16(buf + 6);
		msg->u.update.h = get_be16(buf + 8);
		return RFB_UPDATE_REQUEST_LEN;
	case RFB_C2S_KEY_EVENT:
		if (len < RFB_KEY_EVENT_LEN)
			return 0;
		msg->type = RFB_MSG_KEY;
		msg->u.key.down = buf[1] != 0;
		msg->u.key.keysym = get_be32(buf + 4);
		return RFB_KEY_EVENT_LEN;
	case RFB_C2S_POINTER_EVENT:
		if (len < RFB_POINTER_EVENT_LEN)
			return 0;
		msg->type = RFB_MSG_POINTER;
		msg->u.pointer.buttons = buf[1];
		msg->u.pointer.x = get_be16(buf + 2);
		msg->u.pointer.y = get_be16(buf + 4);
		return RFB_POINTER_EVENT_LEN;
	case RFB_C2S_CLIENT_CUT_TEXT:
		return rfb_parse_cut_text(p, buf, len, msg, reason);
	default:
		break;
	}
	/* Without its length the rest of the stream cannot be framed, and
	 * the extensions behind these numbers are not offered. */
	return rfb_failf(p, reason, "unknown message type %u", buf[0]);
}

ssize_t rfb_parse(struct rfb_parser *p, const uint8_t *buf, size_t len,
		  struct rfb_msg *msg, const char **reason)
{
	struct rfb_msg m;
	ssize_t ret;

	if (p->phase == RFB_PHASE_DEAD)
		return rfb_fail(p, reason,
				"parser called after a protocol error");
	if (len == 0)
		return 0;

	/* Filled in a local copy so that *msg is left alone unless a whole
	 * message is returned. */
	memset(&m, 0, sizeof(m));
	switch (p->phase) {
	case RFB_PHASE_VERSION:
		ret = rfb_parse_version(p, buf, len, &m, reason);
		break;
	case RFB_PHASE_SECURITY_CHOICE:
		ret = rfb_parse_security_choice(p, buf, &m, reason);
		break;
	case RFB_PHASE_AUTH_RESPONSE:
		if (len < RFB_VNC_CHALLENGE_LEN)
			return 0;
		m.type = RFB_MSG_AUTH_RESPONSE;
		memcpy(m.u.auth_response, buf, RFB_VNC_CHALLENGE_LEN);
		p->phase = RFB_PHASE_CLIENT_INIT;
		ret = RFB_VNC_CHALLENGE_LEN;
		break;
	case RFB_PHASE_CLIENT_INIT:
		m.type = RFB_MSG_CLIENT_INIT;
		m.u.shared = buf[0] != 0;
		p->phase = RFB_PHASE_NORMAL;
		ret = 1;
		break;
	case RFB_PHASE_NORMAL:
		ret = rfb_parse_normal(p, buf, len, &m, reason);
		break;
	default:
		return rfb_fail(p, reason, "parser in an invalid phase");
	}
	if (ret > 0)
		*msg = m;
	return ret;
}
