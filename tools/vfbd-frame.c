/* vfbd-frame: writes the frame a source shows to a fresh client, as a
 * binary PPM (P6), so tests and people can compare what a viewer displays
 * with what vfbd serves.
 *
 *   vfbd-frame --source demo:static [--type TEXT] [--out FILE]
 *
 * The source is opened through the same code as vfbd's --source, polled
 * once as the session does before it syncs its shadow, and viewed. Only
 * sources this build can open work (for now the demo console); a source
 * whose pixels depend on the time of day (the non-static demo) gives the
 * frame of this moment.
 *
 * --type gives the demo console's frame after TEXT was typed. It calls
 * the line editor directly, not the keymap, so a test that types into a
 * real viewer checks the whole keyboard path against an independent
 * answer. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb/fb.h"
#include "fb/src-demo.h"
#include "vfbd/sources.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vfbd-frame --source SPEC [--type TEXT] [--out FILE]\n"
		"Write the frame of a vfbd source (e.g. demo:static) as a "
		"binary PPM\nto FILE, or to standard output. --type (demo "
		"sources only) types TEXT\n(printable ASCII, newline for "
		"Enter) into the console first.\n");
}

/* Types `text` into the demo console; -EINVAL for a character the line
 * editor cannot take from a keyboard. */
static int type_text(struct fb_source *src, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			fb_demo_enter(src);
		else if (*p >= 0x20 && *p < 0x7f)
			fb_demo_type_char(src, (uint32_t)*p);
		else
			return -EINVAL;
	}
	return 0;
}

/* Writes `v` (XRGB8888) as P6 to `f`; 0 or -errno. */
static int write_ppm(FILE *f, const struct fb_view *v)
{
	uint8_t *row;
	int err = 0;

	row = malloc((size_t)v->width * 3);
	if (!row)
		return -ENOMEM;
	errno = 0;
	if (fprintf(f, "P6\n%u %u\n255\n", (unsigned)v->width,
		    (unsigned)v->height) < 0) {
		err = errno ? -errno : -EIO;
		goto out;
	}
	for (uint32_t y = 0; y < v->height; y++) {
		const uint8_t *line = v->data + (size_t)y * v->stride;

		for (uint32_t x = 0; x < v->width; x++) {
			uint32_t px;

			/* The view holds host-order uint32 pixels at a byte
			 * stride; memcpy avoids assuming the row is aligned. */
			memcpy(&px, line + (size_t)x * 4, sizeof(px));
			row[x * 3] = (uint8_t)(px >> 16);
			row[x * 3 + 1] = (uint8_t)(px >> 8);
			row[x * 3 + 2] = (uint8_t)px;
		}
		if (fwrite(row, 3, v->width, f) != v->width) {
			err = errno ? -errno : -EIO;
			goto out;
		}
	}
out:
	free(row);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"source", required_argument, NULL, 's'},
		{"out", required_argument, NULL, 'o'},
		{"type", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *spec = NULL, *out_path = NULL, *text = NULL;
	struct opened_source os;
	struct fb_damage hint;
	struct fb_view view;
	char why[160];
	FILE *f;
	int c, err, status = 2;

	while ((c = getopt_long(argc, argv, "s:o:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			spec = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 't':
			text = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!spec || optind != argc) {
		usage(stderr);
		return 1;
	}
	/* sources_open makes every "demo..." spec a demo console, so its
	 * line editor may be called on the source it returns. */
	if (text && strncmp(spec, "demo", 4) != 0) {
		fprintf(stderr, "vfbd-frame: --type needs a demo source\n");
		return 1;
	}

	err = sources_open(spec, &os, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "vfbd-frame: --source %s: %s\n", spec, why);
		return err == -EINVAL ? 1 : 2;
	}
	if (text && type_text(os.src, text) < 0) {
		fprintf(stderr, "vfbd-frame: --type: only printable ASCII and "
				"newline can be typed\n");
		status = 1;
		goto err_source;
	}
	/* Clients see the shadow, which the session syncs from the view
	 * after each poll; a source may draw in poll (the non-static demo's
	 * clock), so poll once first too. */
	memset(&hint, 0, sizeof(hint));
	os.src->ops->poll(os.src, &hint);
	err = os.src->ops->view(os.src, &view);
	if (err < 0) {
		fprintf(stderr, "vfbd-frame: %s: no frame: %s\n", spec,
			strerror(-err));
		goto err_source;
	}

	f = out_path ? fopen(out_path, "wb") : stdout;
	if (!f) {
		fprintf(stderr, "vfbd-frame: %s: %s\n", out_path,
			strerror(errno));
		goto err_source;
	}
	err = write_ppm(f, &view);
	if (out_path && fclose(f) != 0 && err == 0)
		err = -errno;
	else if (!out_path && fflush(f) != 0 && err == 0)
		err = -errno;
	if (err < 0) {
		fprintf(stderr, "vfbd-frame: %s: %s\n",
			out_path ? out_path : "standard output",
			strerror(-err));
		if (out_path)
			remove(out_path);
		goto err_source;
	}
	status = 0;

err_source:
	sources_close(&os);
	fb_source_free(os.src);
	return status;
}
