/* libFuzzer target for net/rfb-parse.c and net/pixfmt.c.
 *
 * Input: byte 0 picks the configuration, the rest is what a client sends.
 *   bits 0-1: offered security types: {None}, {VNC}, {None, VNC},
 *             {VNC, None, VeNCrypt} (the last one has no handshake here)
 *   bits 2-4: cut-text limit: 0, 1, 16, 255, 4096, 65536, 1 MiB, 4 GiB-1
 *   bits 5-7: how the bytes arrive: all at once, 1, 2, 3, 7 or 64 bytes at
 *             a time, or in chunks whose sizes are read from the data
 *
 * The bytes go through the parser twice: all at once, then arriving in
 * chunks the way a socket delivers them, with the parser seeing only the
 * unconsumed bytes that have arrived (everything past them is poisoned,
 * so ASan flags any read beyond what the parser was given). Both runs must
 * produce the same messages; see check_msg() for the per-message rules. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "net/pixfmt.h"
#include "net/rfb-parse.h"
#include "vfbd/base/bytes.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

struct config {
	uint8_t offered[3];
	unsigned n_offered;
	uint32_t cut_text_max;
	unsigned mode;
	uint32_t extensions;
};

/* What a parse returned, kept to compare the two runs. */
struct step {
	ssize_t ret;
	enum rfb_msg_type type;
};

static void config_from(uint8_t b, struct config *c)
{
	static const uint32_t limits[8] = {
		0, 1, 16, 255, 4096, 65536, RFB_CUT_TEXT_MAX, UINT32_MAX};

	switch (b & 3) {
	case 0:
		c->offered[0] = RFB_SEC_NONE;
		c->n_offered = 1;
		break;
	case 1:
		c->offered[0] = RFB_SEC_VNC_AUTH;
		c->n_offered = 1;
		break;
	case 2:
		c->offered[0] = RFB_SEC_NONE;
		c->offered[1] = RFB_SEC_VNC_AUTH;
		c->n_offered = 2;
		break;
	default:
		c->offered[0] = RFB_SEC_VNC_AUTH;
		c->offered[1] = RFB_SEC_NONE;
		c->offered[2] = 19;
		c->n_offered = 3;
		break;
	}
	c->cut_text_max = limits[(b >> 2) & 7];
	c->mode = b >> 5;
	/* Odd modes also let the client use every extension message. */
	c->extensions = (c->mode & 1) ? RFB_EXT_QEMU_KEY | RFB_EXT_FENCE |
						RFB_EXT_CONTINUOUS |
						RFB_EXT_DESKTOP_SIZE
				      : 0;
}

static size_t chunk_size(const struct config *c, const uint8_t *data,
			 size_t len, size_t arrived)
{
	static const size_t fixed[6] = {SIZE_MAX, 1, 2, 3, 7, 64};

	if (c->mode < 6)
		return fixed[c->mode];
	/* Derived from the data so the fuzzer can steer split points. */
	return arrived < len ? (size_t)(data[arrived] & 15) + 1 : 1;
}

/* Converts a few pixels taken from the input and checks that every value
 * decodes to channels within their maxima and leaves other bits zero. */
static void check_pixconv(const struct rfb_pixfmt *pf, const uint8_t *data,
			  size_t len)
{
	enum { N = 5 };
	struct rfb_pixconv *pc = malloc(sizeof(*pc));
	size_t bpp = rfb_pixfmt_bytes(pf);
	uint32_t src[N] = {0x000000, 0xffffff, 0x808080, 0xff000000, 0};
	uint32_t mask;
	uint8_t *out;

	CHECK(bpp == 1 || bpp == 2 || bpp == 4);
	for (size_t i = 0; i + 4 <= len && i < 4 * 2; i += 4)
		src[3 + i / 4] = get_be32(data + i);
	/* Exactly the promised size, so an overflow is caught. */
	out = malloc(N * bpp);
	CHECK(pc && out);
	rfb_pixconv_init(pc, pf);
	rfb_pixconv_row(pc, src, N, out);

	mask = (uint32_t)pf->red_max << pf->red_shift |
	       (uint32_t)pf->green_max << pf->green_shift |
	       (uint32_t)pf->blue_max << pf->blue_shift;
	for (size_t i = 0; i < N && !pc->identity; i++) {
		const uint8_t *o = out + i * bpp;
		uint32_t v = 0;

		for (size_t k = 0; k < bpp; k++)
			v |= (uint32_t)o[pf->big_endian ? bpp - 1 - k : k]
			     << 8 * k;
		CHECK((v & ~mask) == 0);
		/* Full and zero intensity must map to full and zero. */
		if ((src[i] & 0xffffff) == 0xffffff)
			CHECK(v == mask);
		if ((src[i] & 0xffffff) == 0)
			CHECK(v == 0);
	}
	free(out);
	free(pc);
}

/* Rules every successful parse obeys, in either run. */
static void check_msg(const struct rfb_parser *p, enum rfb_phase before,
		      const uint8_t *buf, size_t avail, ssize_t r,
		      const struct rfb_msg *m, const uint8_t *data, size_t len)
{
	const char *reason = NULL;

	CHECK(r > 0 && (size_t)r <= avail);
	CHECK((size_t)r <= rfb_parse_max_message(p));
	switch (m->type) {
	case RFB_MSG_VERSION:
		CHECK(before == RFB_PHASE_VERSION && r == RFB_VERSION_LEN);
		CHECK(m->u.minor == 3 || m->u.minor == 7 || m->u.minor == 8);
		CHECK(p->minor == m->u.minor);
		CHECK(p->phase == (m->u.minor == 3
					   ? (p->offered[0] == RFB_SEC_VNC_AUTH
						      ? RFB_PHASE_AUTH_RESPONSE
						      : RFB_PHASE_CLIENT_INIT)
					   : RFB_PHASE_SECURITY_CHOICE));
		break;
	case RFB_MSG_SECURITY_CHOICE: {
		bool offered = false;

		CHECK(before == RFB_PHASE_SECURITY_CHOICE && r == 1);
		CHECK(m->u.security == buf[0] && m->u.security != 0);
		for (unsigned i = 0; i < p->n_offered; i++)
			offered |= p->offered[i] == m->u.security;
		CHECK(offered);
		CHECK(p->phase == (m->u.security == RFB_SEC_VNC_AUTH
					   ? RFB_PHASE_AUTH_RESPONSE
					   : RFB_PHASE_CLIENT_INIT));
		break;
	}
	case RFB_MSG_AUTH_RESPONSE:
		CHECK(before == RFB_PHASE_AUTH_RESPONSE && r == 16);
		CHECK(memcmp(m->u.auth_response, buf, 16) == 0);
		CHECK(p->phase == RFB_PHASE_CLIENT_INIT);
		break;
	case RFB_MSG_CLIENT_INIT:
		CHECK(before == RFB_PHASE_CLIENT_INIT && r == 1);
		CHECK(m->u.shared == (buf[0] != 0));
		CHECK(p->phase == RFB_PHASE_NORMAL);
		break;
	case RFB_MSG_SET_PIXEL_FORMAT: {
		uint8_t wire[RFB_PIXFMT_LEN];
		struct rfb_pixfmt back;

		CHECK(before == RFB_PHASE_NORMAL && r == 20 && buf[0] == 0);
		/* Written back, it is the client's bytes with the flags
		 * normalised and the padding zeroed. */
		rfb_pixfmt_write(&m->u.pixfmt, wire);
		CHECK(wire[0] == buf[4] && wire[1] == buf[5]);
		CHECK(wire[2] == (buf[6] != 0) && wire[3] == (buf[7] != 0));
		CHECK(memcmp(wire + 4, buf + 8, 9) == 0);
		CHECK(wire[13] == 0 && wire[14] == 0 && wire[15] == 0);
		rfb_pixfmt_read(&back, wire);
		CHECK(back.bpp == m->u.pixfmt.bpp &&
		      back.depth == m->u.pixfmt.depth &&
		      back.big_endian == m->u.pixfmt.big_endian &&
		      back.true_colour == m->u.pixfmt.true_colour &&
		      back.red_max == m->u.pixfmt.red_max &&
		      back.green_max == m->u.pixfmt.green_max &&
		      back.blue_max == m->u.pixfmt.blue_max &&
		      back.red_shift == m->u.pixfmt.red_shift &&
		      back.green_shift == m->u.pixfmt.green_shift &&
		      back.blue_shift == m->u.pixfmt.blue_shift);
		if (rfb_pixfmt_check(&m->u.pixfmt, &reason) == 0)
			check_pixconv(&m->u.pixfmt, data, len);
		else
			CHECK(reason && reason[0]);
		break;
	}
	case RFB_MSG_SET_ENCODINGS:
		CHECK(before == RFB_PHASE_NORMAL && buf[0] == 2);
		CHECK(m->u.encodings.list == buf + 4);
		CHECK((size_t)r == 4 + 4 * (size_t)m->u.encodings.count);
		/* Touch every entry: all of them must be inside the buffer. */
		for (unsigned i = 0; i < m->u.encodings.count; i++)
			(void)*(volatile const uint8_t *)(m->u.encodings.list +
							  4 * i + 3);
		break;
	case RFB_MSG_UPDATE_REQUEST:
		CHECK(before == RFB_PHASE_NORMAL && r == 10 && buf[0] == 3);
		break;
	case RFB_MSG_KEY:
		CHECK(before == RFB_PHASE_NORMAL && r == 8 && buf[0] == 4);
		CHECK(m->u.key.keysym == get_be32(buf + 4));
		break;
	case RFB_MSG_POINTER:
		CHECK(before == RFB_PHASE_NORMAL && r == 6 && buf[0] == 5);
		break;
	case RFB_MSG_CUT_TEXT:
		CHECK(before == RFB_PHASE_NORMAL && buf[0] == 6);
		CHECK(m->u.cut_text.len <= p->cut_text_max);
		CHECK(m->u.cut_text.len <= RFB_CUT_TEXT_MAX);
		CHECK(m->u.cut_text.text == buf + 8);
		CHECK((size_t)r == 8 + (size_t)m->u.cut_text.len);
		if (m->u.cut_text.len)
			(void)*(volatile const uint8_t *)(m->u.cut_text.text +
							  m->u.cut_text.len -
							  1);
		break;
	case RFB_MSG_QEMU_KEY:
		CHECK((p->extensions & RFB_EXT_QEMU_KEY) && r == 12 &&
		      buf[0] == 255 && buf[1] == 0);
		break;
	case RFB_MSG_FENCE:
		CHECK((p->extensions & RFB_EXT_FENCE) && buf[0] == 248);
		CHECK(m->u.fence.len <= RFB_FENCE_PAYLOAD_MAX);
		CHECK((size_t)r == 9 + (size_t)m->u.fence.len);
		CHECK(m->u.fence.payload == buf + 9);
		break;
	case RFB_MSG_CONTINUOUS_UPDATES:
		CHECK((p->extensions & RFB_EXT_CONTINUOUS) && r == 10 &&
		      buf[0] == 150);
		break;
	case RFB_MSG_SET_DESKTOP_SIZE:
		CHECK((p->extensions & RFB_EXT_DESKTOP_SIZE) && buf[0] == 251);
		CHECK(m->u.desktop_size.screens >= 1 &&
		      m->u.desktop_size.screens <= RFB_SCREENS_MAX);
		CHECK((size_t)r == 8 + 16 * (size_t)m->u.desktop_size.screens);
		(void)*(volatile const uint8_t *)(buf + r - 1);
		break;
	default:
		CHECK(!"unknown message type returned");
	}
	if (before != RFB_PHASE_NORMAL)
		CHECK(p->phase != before);
	else
		CHECK(p->phase == RFB_PHASE_NORMAL);
}

/* After an error: the parser is dead, stays dead, and said why. */
static void check_error(struct rfb_parser *p, ssize_t r, const char *reason,
			const uint8_t *buf, size_t avail)
{
	struct rfb_msg m;

	CHECK(r == -EPROTO);
	CHECK(p->phase == RFB_PHASE_DEAD);
	CHECK(reason && reason[0] && strlen(reason) < sizeof(p->reason_buf));
	CHECK(rfb_parse(p, buf, avail, &m, NULL) == -EPROTO);
	CHECK(p->phase == RFB_PHASE_DEAD);
}

/* Parses everything in one buffer; records each result in `steps` and
 * returns how many there are (the last one is 0 or an error). */
static size_t run_whole(const struct config *c, const uint8_t *msgs, size_t n,
			const uint8_t *data, size_t len, struct step *steps)
{
	struct rfb_parser p;
	size_t off = 0, k = 0;

	rfb_parser_init(&p, c->offered, c->n_offered, c->cut_text_max);
	p.extensions = c->extensions;
	for (;;) {
		enum rfb_phase before = p.phase;
		const char *reason = NULL;
		struct rfb_msg m;
		ssize_t r = rfb_parse(&p, msgs + off, n - off, &m, &reason);

		steps[k].ret = r;
		steps[k].type = r > 0 ? m.type : RFB_MSG_VERSION;
		k++;
		if (r < 0) {
			check_error(&p, r, reason, msgs + off, n - off);
			return k;
		}
		if (r == 0) {
			CHECK(p.phase == before);
			return k;
		}
		check_msg(&p, before, msgs + off, n - off, r, &m, data, len);
		off += (size_t)r;
	}
}

/* Feeds the bytes in chunks; each result must match the whole run: a
 * message it completed is "need more" exactly until all its bytes have
 * arrived, and then the same length and type. */
static void run_chunked(const struct config *c, uint8_t *msgs, size_t n,
			const uint8_t *data, size_t len,
			const struct step *steps, size_t n_steps)
{
	struct rfb_parser p;
	size_t off = 0, arrived = 0, k = 0;

	rfb_parser_init(&p, c->offered, c->n_offered, c->cut_text_max);
	p.extensions = c->extensions;
	while (k < n_steps) {
		size_t step = chunk_size(c, data, len, arrived);

		arrived = step > n - arrived ? n : arrived + step;
		ASAN_UNPOISON_MEMORY_REGION(msgs, n);
		ASAN_POISON_MEMORY_REGION(msgs + arrived, n - arrived);
		for (;;) {
			enum rfb_phase before = p.phase;
			const char *reason = NULL;
			struct rfb_msg m;
			ssize_t r;

			CHECK(k < n_steps);
			r = rfb_parse(&p, msgs + off, arrived - off, &m,
				      &reason);
			if (r == 0) {
				CHECK(p.phase == before);
				if (steps[k].ret > 0)
					CHECK(arrived - off <
					      (size_t)steps[k].ret);
				/* With every byte in, only the whole run's
				 * final "need more" may remain. */
				if (arrived == n) {
					CHECK(steps[k].ret == 0);
					CHECK(k == n_steps - 1);
					k++;
				}
				break;
			}
			if (r < 0) {
				CHECK(steps[k].ret < 0 && k == n_steps - 1);
				check_error(&p, r, reason, msgs + off,
					    arrived - off);
				k++;
				break;
			}
			CHECK(r == steps[k].ret && m.type == steps[k].type);
			check_msg(&p, before, msgs + off, arrived - off, r, &m,
				  data, len);
			off += (size_t)r;
			k++;
		}
	}
	ASAN_UNPOISON_MEMORY_REGION(msgs, n);
	CHECK(k == n_steps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct step *steps;
	uint8_t *msgs;
	size_t n, n_steps;

	if (size < 1)
		return 0;
	config_from(data[0], &c);
	n = size - 1;
	/* A private copy of exactly n bytes: ASan sees reads past the end,
	 * and the chunked run can poison what has not "arrived" yet. */
	msgs = malloc(n ? n : 1);
	steps = malloc((n + 1) * sizeof(*steps));
	CHECK(msgs && steps);
	if (n)
		memcpy(msgs, data + 1, n);

	n_steps = run_whole(&c, msgs, n, data + 1, n, steps);
	CHECK(n_steps >= 1 && n_steps <= n + 1);
	run_chunked(&c, msgs, n, data + 1, n, steps, n_steps);

	free(steps);
	free(msgs);
	return 0;
}
