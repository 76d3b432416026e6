/* The RFB client-message parser: a pure function over bytes (no I/O, no
 * allocation), so it can be fuzzed. It follows the handshake (version,
 * security choice, VNC auth response, ClientInit) and then the normal
 * client messages, validating every length and value before use.
 *
 * Usage: feed it the unconsumed bytes of a connection; each call returns
 * one message and how many bytes it used, or asks for more bytes, or
 * reports a protocol error (after which the connection must be closed and
 * the parser not called again). */
#ifndef VFBD_NET_RFB_PARSE_H
#define VFBD_NET_RFB_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/pixfmt.h"
#include "net/rfb-proto.h"

/* Default and hard limit for ClientCutText payloads. */
#define RFB_CUT_TEXT_MAX (1u << 20)

enum rfb_phase {
	RFB_PHASE_VERSION,	   /* expecting "RFB 003.00x\n" */
	RFB_PHASE_SECURITY_CHOICE, /* 3.7/3.8: one byte, an offered type */
	RFB_PHASE_AUTH_RESPONSE,   /* VNC auth: 16 bytes */
	RFB_PHASE_CLIENT_INIT,	   /* shared flag: 1 byte */
	RFB_PHASE_NORMAL,	   /* client-to-server messages */
	RFB_PHASE_DEAD,		   /* after an error: nothing more is parsed */
};

struct rfb_parser {
	enum rfb_phase phase;
	int minor; /* negotiated 3.x: 3, 7 or 8, set after the version */
	/* The security types the server offers (3.7/3.8) or imposes (3.3:
	 * the first entry). Set before feeding any bytes. */
	uint8_t offered[4];
	unsigned n_offered;
	uint32_t cut_text_max; /* <= RFB_CUT_TEXT_MAX */
	/* Holds a formatted error reason ("unknown message type 9"); the
	 * reason returned by rfb_parse() may point here, so it stays valid
	 * as long as the parser does. */
	char reason_buf[96];
	/* Extension messages the client may send, RFB_EXT_* bits: set by
	 * the engine once it has told the client the server has them.
	 * Messages of an extension not enabled are unknown types. */
	uint32_t extensions;
};

#define RFB_EXT_QEMU_KEY     (1u << 0) /* QEMU message 255, subtype 0 */
#define RFB_EXT_FENCE	     (1u << 1) /* ClientFence 248 */
#define RFB_EXT_CONTINUOUS   (1u << 2) /* EnableContinuousUpdates 150 */
#define RFB_EXT_DESKTOP_SIZE (1u << 3) /* SetDesktopSize 251 */

/* Fence payloads are at most this long (RFB community spec). */
#define RFB_FENCE_PAYLOAD_MAX 64
/* SetDesktopSize screens accepted in one message. */
#define RFB_SCREENS_MAX 16

enum rfb_msg_type {
	RFB_MSG_VERSION,
	RFB_MSG_SECURITY_CHOICE,
	RFB_MSG_AUTH_RESPONSE,
	RFB_MSG_CLIENT_INIT,
	RFB_MSG_SET_PIXEL_FORMAT,
	RFB_MSG_SET_ENCODINGS,
	RFB_MSG_UPDATE_REQUEST,
	RFB_MSG_KEY,
	RFB_MSG_POINTER,
	RFB_MSG_CUT_TEXT,
	RFB_MSG_QEMU_KEY,
	RFB_MSG_FENCE,
	RFB_MSG_CONTINUOUS_UPDATES,
	RFB_MSG_SET_DESKTOP_SIZE,
};

struct rfb_msg {
	enum rfb_msg_type type;
	union {
		int minor;	  /* VERSION: 3, 7 or 8 */
		uint8_t security; /* SECURITY_CHOICE: one of `offered` */
		uint8_t auth_response[16];
		bool shared; /* CLIENT_INIT */
		/* SET_PIXEL_FORMAT: not yet checked, see rfb_pixfmt_check();
		 * the caller decides (it owns the error reporting). */
		struct rfb_pixfmt pixfmt;
		struct {
			/* Points into the parsed buffer: valid until those
			 * bytes are dropped. Big-endian s32 each. */
			const uint8_t *list;
			uint16_t count;
		} encodings;
		struct {
			bool incremental;
			uint16_t x, y, w, h; /* raw, not clipped */
		} update;
		struct {
			bool down;
			uint32_t keysym;
		} key;
		struct {
			uint8_t buttons;
			uint16_t x, y;
		} pointer;
		struct {
			const uint8_t *text; /* into the buffer, Latin-1 */
			uint32_t len;
		} cut_text;
		struct {
			bool down;
			uint32_t keysym;
			uint32_t keycode; /* XT scancode, QEMU numbering */
		} qemu_key;
		struct {
			uint32_t flags;
			uint8_t len;		/* <= RFB_FENCE_PAYLOAD_MAX */
			const uint8_t *payload; /* into the buffer */
		} fence;
		struct {
			bool enable;
			uint16_t x, y, w, h;
		} continuous;
		struct {
			uint16_t width, height;
			uint8_t screens;       /* <= RFB_SCREENS_MAX */
			const uint8_t *layout; /* screens * 16 bytes */
		} desktop_size;
	} u;
};

/* Prepares a parser for a new connection. `offered` lists the security
 * types the server will offer (1..4 entries); cut_text_max is capped at
 * RFB_CUT_TEXT_MAX. */
void rfb_parser_init(struct rfb_parser *p, const uint8_t *offered,
		     unsigned n_offered, uint32_t cut_text_max);

/* Parses one message from buf[0..len).
 * Returns > 0: bytes used, *msg filled, the phase advanced;
 *         0:   incomplete, call again with more bytes (nothing used,
 *              *msg untouched);
 *         < 0: -EPROTO (bad input), *reason set to a short description
 *              ("unknown message type 9", "cut text 2000000 bytes exceeds
 *              limit 1048576", ...) that is either a string literal or
 *              p->reason_buf (never allocated); the phase is DEAD and
 *              every later call returns -EPROTO too.
 * `reason` may be NULL.
 *
 * Phase rules: VERSION accepts "RFB 003.003\n", "003.007", "003.008";
 * 003.004..003.006 count as 3.3 and minors above 8 (e.g. Apple's 3.889)
 * as 3.8; anything else, including other majors and non-digits, is an
 * error. The version is checked as its bytes arrive, so a prefix that can
 * no longer match ("X", "RFB 004") fails at once. After VERSION: 3.3 goes
 * to AUTH_RESPONSE when offered[0] is VNC auth, to CLIENT_INIT when it is
 * None, and fails for any other type (the parser knows no other handshake,
 * so it fails closed rather than skip authentication); 3.7/3.8 go to
 * SECURITY_CHOICE, which accepts only an offered, non-zero type, then
 * AUTH_RESPONSE (VNC auth) or CLIENT_INIT (None); an offered type that is
 * neither fails for the same reason.
 * AUTH_RESPONSE -> CLIENT_INIT (the caller closes on a wrong password).
 * CLIENT_INIT -> NORMAL. A large cut text or encoding list is returned
 * only once all its bytes are present; a declared size over the limit is
 * an error as soon as the header is seen. ClientCutText lengths are plain
 * u32: the extended-clipboard form (top bit set) is not negotiated, so it
 * is simply over the limit. Any message type other than 0, 2, 3, 4, 5, 6
 * is an error as soon as its first byte is seen (its length is unknown). */
ssize_t rfb_parse(struct rfb_parser *p, const uint8_t *buf, size_t len,
		  struct rfb_msg *msg, const char **reason);

/* The largest message the parser may need buffered whole: bounds the
 * connection's read buffer. It is the larger of a full cut text
 * (8 + cut_text_max) and a SetEncodings of 65535 entries (262144). */
size_t rfb_parse_max_message(const struct rfb_parser *p);

#endif
