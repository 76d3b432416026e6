#include "tests/lib/vnc-client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct vnc_format vnc_formats[] = {
	{"rgb888-32le", 32, 24, 0, 255, 255, 255, 16, 8, 0},
	{"rgb888-32be", 32, 24, 1, 255, 255, 255, 16, 8, 0},
	{"bgr888-32le", 32, 24, 0, 255, 255, 255, 0, 8, 16},
	{"rgb888-32le-hi", 32, 24, 0, 255, 255, 255, 24, 16, 8},
	{"rgb565-16le", 16, 16, 0, 31, 63, 31, 11, 5, 0},
	{"rgb565-16be", 16, 16, 1, 31, 63, 31, 11, 5, 0},
	{"rgb555-16le", 16, 15, 0, 31, 31, 31, 10, 5, 0},
	{"bgr233-8", 8, 8, 0, 7, 7, 3, 0, 3, 6},
	{"rgb332-8", 8, 8, 0, 7, 7, 3, 5, 2, 0},
};
const unsigned vnc_format_count = sizeof(vnc_formats) / sizeof(vnc_formats[0]);

static int tag;

static void quiet_log(const char *format, ...)
{
	(void)format;
}

void vnc_quiet(void)
{
	rfbClientLog = quiet_log;
}

static char *get_password(rfbClient *cl)
{
	struct vnc_client *v = rfbClientGetClientData(cl, &tag);

	return strdup(v->password);
}

static void finished_update(rfbClient *cl)
{
	struct vnc_client *v = rfbClientGetClientData(cl, &tag);

	v->frames++;
}

static rfbBool resize(rfbClient *cl)
{
	struct vnc_client *v = rfbClientGetClientData(cl, &tag);
	size_t bytes =
		(size_t)cl->width * cl->height * cl->format.bitsPerPixel / 8;

	free(cl->frameBuffer);
	cl->frameBuffer = calloc(1, bytes ? bytes : 1);
	v->resizes++;
	return cl->frameBuffer != NULL;
}

int vnc_connect(struct vnc_client *v, int port, const struct vnc_format *fmt,
		const char *password, const char *encodings)
{
	rfbClient *cl;

	memset(v, 0, sizeof(*v));
	if (password)
		snprintf(v->password, sizeof(v->password), "%s", password);
	cl = rfbGetClient(8, 3, 4);
	if (!cl)
		return -1;
	if (fmt) {
		cl->format.bitsPerPixel = (uint8_t)fmt->bpp;
		cl->format.depth = (uint8_t)fmt->depth;
		cl->format.bigEndian = (uint8_t)fmt->big_endian;
		cl->format.trueColour = 1;
		cl->format.redMax = (uint16_t)fmt->red_max;
		cl->format.greenMax = (uint16_t)fmt->green_max;
		cl->format.blueMax = (uint16_t)fmt->blue_max;
		cl->format.redShift = (uint8_t)fmt->red_shift;
		cl->format.greenShift = (uint8_t)fmt->green_shift;
		cl->format.blueShift = (uint8_t)fmt->blue_shift;
	}
	cl->appData.encodingsString = encodings ? encodings : "raw";
	free(cl->serverHost); /* rfbGetClient's own empty string */
	cl->serverHost = strdup("127.0.0.1");
	cl->serverPort = port;
	cl->GetPassword = get_password;
	cl->FinishedFrameBufferUpdate = finished_update;
	cl->MallocFrameBuffer = resize;
	cl->canHandleNewFBSize = TRUE;
	rfbClientSetClientData(cl, &tag, v);
	/* rfbInitClient frees the client when it fails. */
	if (!rfbInitClient(cl, NULL, NULL))
		return -1;
	v->cl = cl;
	v->resizes = 0;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

bool vnc_wait_frame(struct vnc_client *v, int timeout_ms)
{
	int start = v->frames;
	long deadline = now_ms() + timeout_ms;

	while (v->frames == start) {
		long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return false;
		/* Messages already buffered inside libvncclient do not
		 * make the socket readable again. */
		n = v->cl->buffered
			    ? 1
			    : WaitForMessage(v->cl,
					     (unsigned)(left > 100
								? 100000
								: left * 1000));
		if (n < 0)
			return false;
		if (n > 0 && !HandleRFBServerMessage(v->cl))
			return false;
	}
	return true;
}

bool vnc_pump(struct vnc_client *v, int ms)
{
	long deadline = now_ms() + ms;

	for (;;) {
		long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return true;
		n = v->cl->buffered
			    ? 1
			    : WaitForMessage(v->cl,
					     (unsigned)(left > 50
								? 50000
								: left * 1000));
		if (n < 0)
			return false;
		if (n > 0 && !HandleRFBServerMessage(v->cl))
			return false;
	}
}

void vnc_request(struct vnc_client *v, bool incremental)
{
	SendFramebufferUpdateRequest(v->cl, 0, 0, v->cl->width, v->cl->height,
				     incremental);
}

static uint32_t scale(uint32_t c8, uint32_t max)
{
	return (c8 * max + 127) / 255;
}

void vnc_expected_bytes(const rfbPixelFormat *f, uint32_t xrgb, uint8_t *out)
{
	uint32_t v = scale((xrgb >> 16) & 0xff, f->redMax) << f->redShift |
		     scale((xrgb >> 8) & 0xff, f->greenMax) << f->greenShift |
		     scale(xrgb & 0xff, f->blueMax) << f->blueShift;
	int bytes = f->bitsPerPixel / 8;

	for (int i = 0; i < bytes; i++) {
		int shift = f->bigEndian ? 8 * (bytes - 1 - i) : 8 * i;

		out[i] = (uint8_t)(v >> shift);
	}
}

long vnc_compare(const struct vnc_client *v, const uint32_t *expected,
		 uint32_t width, uint32_t height, size_t stride_px,
		 uint32_t *first_x, uint32_t *first_y)
{
	const rfbClient *cl = v->cl;
	int bytes = cl->format.bitsPerPixel / 8;
	long bad = 0;

	if ((uint32_t)cl->width != width || (uint32_t)cl->height != height)
		return (long)width * height;
	for (uint32_t y = 0; y < height; y++) {
		for (uint32_t x = 0; x < width; x++) {
			uint8_t want[4];
			const uint8_t *got = cl->frameBuffer +
					     ((size_t)y * width + x) * bytes;

			vnc_expected_bytes(&cl->format,
					   expected[y * stride_px + x], want);
			if (memcmp(want, got, (size_t)bytes) != 0) {
				if (bad == 0) {
					*first_x = x;
					*first_y = y;
				}
				bad++;
			}
		}
	}
	return bad;
}

void vnc_close(struct vnc_client *v)
{
	if (v->cl) {
		/* The framebuffer is the application's to free. */
		free(v->cl->frameBuffer);
		v->cl->frameBuffer = NULL;
		rfbClientCleanup(v->cl);
	}
	v->cl = NULL;
}

int vnc_tight_set_levels(struct vnc_client *v, int compress, int quality)
{
	v->cl->appData.compressLevel = compress;
	v->cl->appData.enableJPEG = quality >= 0;
	if (quality >= 0)
		v->cl->appData.qualityLevel = quality;
	return SetFormatAndEncodings(v->cl) ? 0 : -1;
}
