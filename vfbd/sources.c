#include "vfbd/sources.h"
#include "fb/src-demo.h"
#include "fb/src-shm.h"
#include "input/sink-text.h"
#include "vfbd/xen-devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The demo console's keyboard: keycodes become line-editor actions. */
struct demo_input {
	struct input_sink_text text;
	struct fb_source *src;
};

static void demo_text(void *ctx, uint32_t codepoint)
{
	fb_demo_type_char(((struct demo_input *)ctx)->src, codepoint);
}

static void demo_backspace(void *ctx)
{
	fb_demo_backspace(((struct demo_input *)ctx)->src);
}

static void demo_enter(void *ctx)
{
	fb_demo_enter(((struct demo_input *)ctx)->src);
}

static void demo_pointer(void *ctx, uint32_t x, uint32_t y, uint8_t buttons)
{
	fb_demo_pointer(((struct demo_input *)ctx)->src, x, y, buttons);
}

static const struct input_text_ops demo_text_ops = {
	.text = demo_text,
	.backspace = demo_backspace,
	.enter = demo_enter,
	.pointer = demo_pointer,
};

/* "demo", "demo:WxH", "demo:static", "demo:WxH:static". */
static int parse_demo(const char *args, uint32_t *w, uint32_t *h,
		      bool *is_static)
{
	char rest[32];
	unsigned uw, uh;
	int used = 0;

	*w = FB_DEMO_DEFAULT_WIDTH;
	*h = FB_DEMO_DEFAULT_HEIGHT;
	*is_static = false;
	if (*args == '\0')
		return 0;
	if (*args++ != ':')
		return -EINVAL;
	if (strcmp(args, "static") == 0) {
		*is_static = true;
		return 0;
	}
	if (sscanf(args, "%5ux%5u%n", &uw, &uh, &used) != 2 || args[0] < '0' ||
	    args[0] > '9')
		return -EINVAL;
	args += used;
	if (*args == ':') {
		snprintf(rest, sizeof(rest), "%s", args + 1);
		if (strcmp(rest, "static") != 0)
			return -EINVAL;
		*is_static = true;
	} else if (*args != '\0') {
		return -EINVAL;
	}
	*w = uw;
	*h = uh;
	return 0;
}

int sources_open(const char *spec, struct opened_source *out, char *why,
		 size_t why_len)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(spec, "demo", 4) == 0) {
		struct demo_input *in;
		uint32_t w, h;
		bool is_static;

		if (parse_demo(spec + 4, &w, &h, &is_static) < 0) {
			snprintf(why, why_len,
				 "expected demo, demo:WxH or demo:WxH:static");
			return -EINVAL;
		}
		if (w < FB_DEMO_MIN_DIM || h < FB_DEMO_MIN_DIM ||
		    w > FB_MAX_DIM || h > FB_MAX_DIM) {
			snprintf(why, why_len,
				 "demo geometry must be %ux%u to %ux%u",
				 FB_DEMO_MIN_DIM, FB_DEMO_MIN_DIM, FB_MAX_DIM,
				 FB_MAX_DIM);
			return -EINVAL;
		}
		in = calloc(1, sizeof(*in));
		out->src = in ? fb_demo_new(w, h, is_static) : NULL;
		if (!out->src) {
			free(in);
			snprintf(why, why_len, "out of memory");
			return -ENOMEM;
		}
		in->src = out->src;
		input_sink_text_init(&in->text, &demo_text_ops, in);
		out->sink = &in->text.sink;
		out->sink_owner = in;
		return 0;
	}
	if (strncmp(spec, "shm:", 4) == 0) {
		char detail[200];

		if (spec[4] == '\0') {
			snprintf(why, why_len, "expected shm:PATH");
			return -EINVAL;
		}
		out->src = fb_shm_open(spec + 4, detail, sizeof(detail));
		if (!out->src) {
			snprintf(why, why_len, "cannot use %s: %s", spec + 4,
				 detail);
			return -ENODEV;
		}
		return 0;
	}
	if (strncmp(spec, "xen-pv:", 7) == 0)
		return xen_pv_open(spec + 7, out, why, why_len);
	if (strncmp(spec, "xen-hvm:", 8) == 0) {
		snprintf(why, why_len,
			 "this build of vfbd cannot open %s sources yet", spec);
		return -ENOTSUP;
	}
	snprintf(why, why_len,
		 "unknown source type (expected demo, shm:PATH or "
		 "xen-pv:DOMID)");
	return -EINVAL;
}

void sources_close(struct opened_source *os)
{
	free(os->sink_owner);
	os->sink_owner = NULL;
	os->sink = NULL;
}
