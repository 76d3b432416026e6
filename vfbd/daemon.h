/* The daemon: one libuv loop, the listeners, signals and the session. */
#ifndef VFBD_DAEMON_H
#define VFBD_DAEMON_H

#include "vfbd/config.h"
#include "vfbd/dm-args.h"

/* Runs until SIGTERM/SIGINT (and SIGHUP as vfbd-dm, `dm` not NULL: then
 * libxl's QMP sockets are served too); returns the process exit status
 * (0, 1 for configuration errors such as a port in use, 2 when the source
 * cannot be opened). */
int daemon_run(const struct vfbd_config *cfg, const struct dm_config *dm);

#endif
