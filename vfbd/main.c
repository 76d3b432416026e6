/* vfbd: a VNC console server for Xen guests. */
#include "vfbd/config.h"
#include "vfbd/daemon.h"

int main(int argc, char **argv)
{
	struct vfbd_config cfg;

	vfbd_config_defaults(&cfg);
	switch (vfbd_config_parse(&cfg, argc, argv)) {
	case CONFIG_EXIT:
		return 0;
	case CONFIG_ERROR:
		return 1;
	case CONFIG_RUN:
		break;
	}
	return daemon_run(&cfg);
}
