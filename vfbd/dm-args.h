/* Run as `vfbd-dm` (libxl's device_model_override), vfbd takes the
 * argument vector libxl gives QEMU for a PV/PVH guest and turns it into
 * its own configuration. */
#ifndef VFBD_DM_ARGS_H
#define VFBD_DM_ARGS_H

#include "vfbd/config.h"

#define DM_QMP_MAX 2

struct dm_config {
	unsigned domid;
	char source[32]; /* "xen-pv:D" */
	char listen[80]; /* from -vnc ADDR:DISPLAY */
	char vnclisten[64];
	unsigned display;
	unsigned display_to; /* -vnc ...,to=N: try displays up to N */
	bool password_on;    /* -vnc ...,password=on: set later by QMP */
	char name[64];	     /* -name */
	char keymap[32];     /* -k */
	const char *qmp[DM_QMP_MAX]; /* -chardev socket,...,path=P,server=on */
	unsigned n_qmp;
};

/* True when argv[0] names vfbd-dm. */
bool dm_invoked_as_dm(const char *argv0);

/* Parses QEMU's argv into `dm` and fills `cfg` (source, listen address,
 * keymap). Options vfbd has no use for are ignored; options that ask for
 * devices only QEMU serves (disks, network, USB, 9pfs...) are refused
 * with a message on stderr naming them. Returns 0 or -1. */
int dm_args_parse(int argc, char **argv, struct dm_config *dm,
		  struct vfbd_config *cfg);

#endif
