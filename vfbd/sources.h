/* Opens the source named by --source, with the input sink that belongs to
 * it (the demo console's line editor, later a Xen vkbd ring). */
#ifndef VFBD_SOURCES_H
#define VFBD_SOURCES_H

#include "fb/fb.h"
#include "input/sink.h"

struct opened_source {
	struct fb_source *src;
	struct input_sink *sink; /* may be NULL: input is dropped */
	void *sink_owner;	 /* freed by sources_close */
};

/* Returns 0, -EINVAL (bad spec: `why` says why; exit 1) or another
 * -errno (the source cannot be opened: `why` says what was tried; exit
 * 2). */
int sources_open(const char *spec, struct opened_source *out, char *why,
		 size_t why_len);

/* Frees the sink; the source itself belongs to the session. */
void sources_close(struct opened_source *os);

#endif
