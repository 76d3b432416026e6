#include "fb/memguard.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

static _Thread_local sigjmp_buf *guard_jmp;
static bool installed;

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	struct sigaction dfl;

	(void)info;
	(void)uctx;
	if (guard_jmp)
		siglongjmp(*guard_jmp, 1);
	/* Not ours: die the way SIGBUS would have killed us. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

int fb_memguard_init(void)
{
	struct sigaction sa;

	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -errno;
	installed = true;
	return 0;
}

int fb_memguard_run(void (*fn)(void *arg), void *arg)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		guard_jmp = NULL;
		return -EFAULT;
	}
	guard_jmp = &jb;
	fn(arg);
	guard_jmp = NULL;
	return 0;
}
