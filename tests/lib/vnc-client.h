/* libvncclient, the reference decoder, wrapped for tests: connect to a
 * vfbd with a chosen pixel format, wait for frames, compare pixels. */
#ifndef VFBD_TESTS_VNC_CLIENT_H
#define VFBD_TESTS_VNC_CLIENT_H

#include <rfb/rfbclient.h>
#include <stdbool.h>
#include <stdint.h>

struct vnc_format {
	const char *name;
	int bpp, depth, big_endian;
	int red_max, green_max, blue_max;
	int red_shift, green_shift, blue_shift;
};

/* Formats every exact-pixel test runs through. */
extern const struct vnc_format vnc_formats[];
extern const unsigned vnc_format_count;

struct vnc_client {
	rfbClient *cl;
	int frames; /* FramebufferUpdates completed */
	int resizes;
	char password[64];
};

/* Connects to 127.0.0.1:port and completes the handshake. `fmt` NULL
 * keeps the server's format; `password` NULL for none; `encodings` NULL
 * for "raw". Returns 0 or -1. */
int vnc_connect(struct vnc_client *v, int port, const struct vnc_format *fmt,
		const char *password, const char *encodings);

/* Handles server messages until one more FramebufferUpdate has completed
 * (true) or `timeout_ms` passes (false). */
bool vnc_wait_frame(struct vnc_client *v, int timeout_ms);

/* Handles messages for `ms` milliseconds, whatever arrives. False if the
 * connection failed. */
bool vnc_pump(struct vnc_client *v, int ms);

/* Asks for an update of the whole framebuffer. */
void vnc_request(struct vnc_client *v, bool incremental);

/* Converts an XRGB8888 pixel to the client's format the way RFB defines
 * it (each channel scaled to max with rounding), as wire bytes. */
void vnc_expected_bytes(const rfbPixelFormat *f, uint32_t xrgb, uint8_t *out);

/* Compares the client's framebuffer with `expected` (XRGB8888, stride in
 * pixels); returns the number of differing pixels and the first one. */
long vnc_compare(const struct vnc_client *v, const uint32_t *expected,
		 uint32_t width, uint32_t height, size_t stride_px,
		 uint32_t *first_x, uint32_t *first_y);

void vnc_close(struct vnc_client *v);

/* Silences libvncclient's chatter (errors still print). */
void vnc_quiet(void);

/* Tight: sets the compression level (0..9, -1 for none) and the JPEG
 * quality level (0..9, -1 to turn JPEG off) libvncclient asks for, and
 * sends SetPixelFormat and SetEncodings again. libvncclient's defaults
 * are compression 3 and JPEG quality 5. Returns 0 or -1. */
int vnc_tight_set_levels(struct vnc_client *v, int compress, int quality);

#endif
