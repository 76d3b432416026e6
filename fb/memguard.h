/* Reading memory that another process may truncate under us: a SIGBUS
 * raised inside a guarded call ends that call instead of the process. */
#ifndef VFBD_FB_MEMGUARD_H
#define VFBD_FB_MEMGUARD_H

/* Installs the SIGBUS handler once; 0 or -errno. */
int fb_memguard_init(void);

/* Runs fn(arg) on this thread. Returns 0, or -EFAULT if it touched
 * memory that raised SIGBUS (fn was cut short: whatever it wrote is
 * partial). Not reentrant. */
int fb_memguard_run(void (*fn)(void *arg), void *arg);

#endif
