/* Starts the real vfbd binary for a test and stops it again. */
#ifndef VFBD_TESTS_SPAWN_H
#define VFBD_TESTS_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct vfbd_proc {
	pid_t pid;
	int port;	    /* from the "listening addr=" line */
	char log_path[256]; /* everything vfbd wrote to stderr */
};

/* Runs $VFBD (default build/vfbd) with `args` (NULL-terminated) plus
 * "--listen 127.0.0.1:0", waits for its listening line and fills `p`.
 * Returns 0, or -1 if vfbd exited or did not listen within 10 s. */
int vfbd_start(struct vfbd_proc *p, const char *const *args);

/* Sends SIGTERM and waits; returns the exit status (or -1). */
int vfbd_stop(struct vfbd_proc *p);

/* True when vfbd's log has a line containing all of `needles`
 * (NULL-terminated) within `timeout_ms`. */
bool vfbd_log_wait(struct vfbd_proc *p, int timeout_ms,
		   const char *const *needles);

/* Counts log lines that contain `needle`. */
int vfbd_log_count(struct vfbd_proc *p, const char *needle);

/* Resident set size of the process in KiB, or -1. */
long vfbd_rss_kib(struct vfbd_proc *p);

/* Whether the process still runs. */
bool vfbd_alive(struct vfbd_proc *p);

#endif
