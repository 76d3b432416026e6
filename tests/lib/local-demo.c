#include "tests/lib/local-demo.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static void on_text(void *ctx, uint32_t cp)
{
	fb_demo_type_char(((struct local_demo *)ctx)->src, cp);
}

static void on_backspace(void *ctx)
{
	fb_demo_backspace(((struct local_demo *)ctx)->src);
}

static void on_enter(void *ctx)
{
	fb_demo_enter(((struct local_demo *)ctx)->src);
}

static void on_pointer(void *ctx, uint32_t x, uint32_t y, uint8_t buttons)
{
	fb_demo_pointer(((struct local_demo *)ctx)->src, x, y, buttons);
}

static const struct input_text_ops local_ops = {on_text, on_backspace, on_enter,
						on_pointer};

void local_demo_init(struct local_demo *d, uint32_t width, uint32_t height)
{
	struct fb_damage hint;

	d->src = fb_demo_new(width, height, true);
	assert_non_null(d->src);
	input_sink_text_init(&d->text, &local_ops, d);
	d->src->ops->poll(d->src, &hint);
}

void local_demo_fini(struct local_demo *d)
{
	fb_source_free(d->src);
	d->src = NULL;
}

const uint32_t *local_demo_pixels(struct local_demo *d, size_t *stride_px)
{
	struct fb_view v;
	struct fb_damage hint;

	d->src->ops->poll(d->src, &hint);
	assert_int_equal(d->src->ops->view(d->src, &v), 0);
	*stride_px = v.stride / 4;
	return (const uint32_t *)v.data;
}
