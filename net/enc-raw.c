/* Raw: pixels as they are, in the client's format. */
#include "net/encoder.h"
#include "net/rfb-proto.h"
#include "net/rfb-write.h"

#include <stdlib.h>

static int raw_encode(struct rfb_encoder *e, struct buf *out,
		      const struct rfb_pixconv *pc, const struct fb_view *src,
		      struct fb_rect r, const struct rfb_enc_prefs *prefs,
		      unsigned *nrects)
{
	int rc = rfb_write_raw_rect(out, pc, src, r);

	if (rc == 0)
		(*nrects)++;
	return rc;
}

static void raw_free(struct rfb_encoder *e)
{
	free(e);
}

static const struct rfb_encoder_ops raw_ops = {
	.encoding = RFB_ENC_RAW,
	.name = "raw",
	.encode = raw_encode,
	.free = raw_free,
};

struct rfb_encoder *rfb_enc_raw_new(void)
{
	struct rfb_encoder *e = malloc(sizeof(*e));

	if (e)
		e->ops = &raw_ops;
	return e;
}
