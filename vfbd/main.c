/* vfbd: a VNC console server for Xen guests. */
#include "vfbd/config.h"
#include "vfbd/daemon.h"
#include "vfbd/dm-args.h"

int main(int argc, char **argv)
{
	struct vfbd_config cfg;
	struct dm_config dm;

	vfbd_config_defaults(&cfg);
	/* Under the name vfbd-dm, libxl runs us with QEMU's arguments. */
	if (argc > 0 && dm_invoked_as_dm(argv[0])) {
		if (dm_args_parse(argc, argv, &dm, &cfg) < 0)
			return 1;
		return daemon_run(&cfg, &dm);
	}
	switch (vfbd_config_parse(&cfg, argc, argv)) {
	case CONFIG_EXIT:
		return 0;
	case CONFIG_ERROR:
		return 1;
	case CONFIG_RUN:
		break;
	}
	return daemon_run(&cfg, NULL);
}
