/* The xen-pv source as vfbd opens it: the Xen host for one domain, its
 * vfb backend (fb/src-xen-pv.h), its vkbd backend (input/sink-xen-kbd.h),
 * optionally the device nodes themselves (--create-devices, research
 * note §7.2 "Option A"), and console/vnc-port for `xl vncviewer`. */
#ifndef VFBD_XEN_DEVICES_H
#define VFBD_XEN_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfbd/sources.h"

/* Options from the command line (vfbd/config.c). */
struct xen_pv_options {
	bool create_devices;	/* --create-devices */
	uint32_t width, height; /* --xen-size: suggested mode, vkbd range */
	uint32_t videoram_mib;	/* --xen-videoram: framebuffer memory cap */
	/* Run as vfbd-dm: tell libxl the device model is up by writing
	 * /local/domain/0/device-model/DOMID/state = running. */
	bool device_model;
};

#define XEN_PV_DEFAULT_VIDEORAM_MIB 64u
#define XEN_PV_MAX_VIDEORAM_MIB	    256u

/* The options xen_pv_open uses; config.c fills them while parsing. */
struct xen_pv_options *xen_pv_options(void);

/* Opens "DOMID[:DEVID]" (what follows "xen-pv:"). Returns 0, -EINVAL
 * for a bad spec (exit 1), or another -errno with `why` saying what was
 * tried (exit 2), e.g. "cannot open Xen: no /dev/xen/privcmd (not running
 * in a Xen dom0)". */
int xen_pv_open(const char *args, struct opened_source *out, char *why,
		size_t why_len);

#endif
