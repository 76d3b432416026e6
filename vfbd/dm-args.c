#include "vfbd/dm-args.h"
#include "vfbd/xen-devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options that mean a device vfbd-dm cannot serve: the guest would boot
 * without it, so refuse instead. */
static const char *const refused_options[] = {
	"-drive",  "-device", "-netdev",    "-net",	 "-fsdev",
	"-virtfs", "-usb",    "-usbdevice", "-audiodev", "-soundhw",
	"-spice",  "-hda",    "-cdrom",	    NULL,
};

/* Options followed by a value that vfbd ignores (the value is skipped). */
static const char *const ignored_with_value[] = {
	"-machine", "-M",	"-m",
	"-display", "-mon",	"-xen-domid-restrict",
	"-runas",   "-serial",	"-parallel",
	"-global",  "-smp",	"-vga",
	"-boot",    "-pidfile", "-chroot",
	"-sandbox", "-trace",	"-D",
	"-cpu",	    NULL,
};

bool dm_invoked_as_dm(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strcmp(base, "vfbd-dm") == 0;
}

static bool listed(const char *const *list, const char *opt)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], opt) == 0)
			return true;
	return false;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno || v > max)
		return -1;
	*out = (unsigned)v;
	return (int)(end - s);
}

/* "-vnc ADDR:DISPLAY[,to=N][,password=on][,...]" (ADDR may be [v6]). */
static int parse_vnc(struct dm_config *dm, const char *arg)
{
	const char *colon, *p;
	size_t host_len;
	int n;

	const char *host = arg;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (!end || end[1] != ':')
			return -1;
		host = arg + 1; /* the daemon adds brackets back for v6 */
		host_len = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strchr(arg, ':');
		if (!colon)
			return -1;
		host_len = (size_t)(colon - arg);
	}
	if (host_len == 0 || host_len >= sizeof(dm->vnclisten))
		return -1;
	memcpy(dm->vnclisten, host, host_len);
	dm->vnclisten[host_len] = '\0';
	n = parse_uint(colon + 1, 65535 - 5900, &dm->display);
	if (n < 0)
		return -1;
	p = colon + 1 + n;
	while (*p == ',') {
		p++;
		if (strncmp(p, "to=", 3) == 0) {
			n = parse_uint(p + 3, 65535 - 5900, &dm->display_to);
			if (n < 0)
				return -1;
			p += 3 + n;
		} else if (strncmp(p, "password=on", 11) == 0 ||
			   strncmp(p, "password", 8) == 0) {
			dm->password_on = true;
			p += strcspn(p, ",");
		} else {
			/* Other -vnc flags (lossy, websocket...) are QEMU's. */
			p += strcspn(p, ",");
		}
	}
	return *p == '\0' ? 0 : -1;
}

/* "-chardev socket,id=X,path=P,server=on,wait=off": libxl's QMP ends. */
static int parse_chardev(struct dm_config *dm, char *arg)
{
	char *path;

	if (strncmp(arg, "socket,", 7) != 0)
		return 0;
	path = strstr(arg, ",path=");
	if (!path || dm->n_qmp == DM_QMP_MAX)
		return 0;
	path += 6;
	path[strcspn(path, ",")] = '\0';
	dm->qmp[dm->n_qmp++] = path;
	return 0;
}

int dm_args_parse(int argc, char **argv, struct dm_config *dm,
		  struct vfbd_config *cfg)
{
	bool have_domid = false;

	memset(dm, 0, sizeof(*dm));
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (listed(refused_options, opt)) {
			fprintf(stderr,
				"vfbd-dm: %s asks for a device only QEMU "
				"serves; use QEMU as this guest's device model "
				"or remove that device from its config\n",
				opt);
			return -1;
		}
		if (strcmp(opt, "-xen-domid") == 0 && val) {
			if (parse_uint(val, 32751, &dm->domid) <= 0) {
				fprintf(stderr,
					"vfbd-dm: -xen-domid %s: bad "
					"domain id\n",
					val);
				return -1;
			}
			have_domid = true;
			i++;
		} else if (strcmp(opt, "-vnc") == 0 && val) {
			if (strcmp(val, "none") != 0 &&
			    parse_vnc(dm, val) < 0) {
				fprintf(stderr,
					"vfbd-dm: -vnc %s: expected "
					"ADDR:DISPLAY[,to=N]\n",
					val);
				return -1;
			}
			i++;
		} else if (strcmp(opt, "-k") == 0 && val) {
			snprintf(dm->keymap, sizeof(dm->keymap), "%s", val);
			i++;
		} else if (strcmp(opt, "-name") == 0 && val) {
			snprintf(dm->name, sizeof(dm->name), "%s", val);
			i++;
		} else if (strcmp(opt, "-chardev") == 0 && val) {
			parse_chardev(dm, val);
			i++;
		} else if (listed(ignored_with_value, opt) && val) {
			i++;
		}
		/* Anything else is a flag vfbd has no use for. */
	}
	if (!have_domid) {
		fprintf(stderr, "vfbd-dm: no -xen-domid given\n");
		return -1;
	}
	snprintf(dm->source, sizeof(dm->source), "xen-pv:%u", dm->domid);
	/* libxl created the devices (vfb= in the config); vfbd reports
	 * itself running as libxl's device model. */
	xen_pv_options()->device_model = true;
	cfg->source = dm->source;
	if (dm->vnclisten[0]) {
		cfg->vnclisten = dm->vnclisten;
		cfg->vncdisplay = (int)dm->display;
		/* QEMU's to=N: the first free display up to N. */
		cfg->vncunused = dm->display_to > dm->display;
	}
	/* Keysym-only clients use the built-in en-us map; clients that send
	 * scancodes (gtk-vnc, TigerVNC) need no keymap at all. */
	return 0;
}
