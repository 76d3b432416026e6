/* The demo console rendered inside a test, fed the same input as the
 * vfbd under test: its pixels are what a client must end up showing. */
#ifndef VFBD_TESTS_LOCAL_DEMO_H
#define VFBD_TESTS_LOCAL_DEMO_H

#include <stddef.h>
#include <stdint.h>

#include "fb/src-demo.h"
#include "input/sink-text.h"

struct local_demo {
	struct fb_source *src;
	/* Keycodes and pointer events go in here, as in vfbd. */
	struct input_sink_text text;
};

/* A static demo of width x height; asserts on failure. */
void local_demo_init(struct local_demo *d, uint32_t width, uint32_t height);
void local_demo_fini(struct local_demo *d);

/* The current pixels (XRGB8888) and their stride in pixels. */
const uint32_t *local_demo_pixels(struct local_demo *d, size_t *stride_px);

#endif
