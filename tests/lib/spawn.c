#include "tests/lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int parse_port(const char *log_path)
{
	char line[512];
	FILE *f = fopen(log_path, "r");
	int port = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *a = strstr(line, " listening addr=");
		char *colon;

		if (!a)
			continue;
		colon = strrchr(a, ':');
		if (colon)
			port = atoi(colon + 1);
		break;
	}
	fclose(f);
	return port;
}

int vfbd_start(struct vfbd_proc *p, const char *const *args)
{
	const char *bin = getenv("VFBD") ? getenv("VFBD") : "build/vfbd";
	const char *argv[64];
	int n = 0, fd;
	static int serial;

	memset(p, 0, sizeof(*p));
	/* Next to the test's own log when run by tests/run-all (kept for
	 * reading after a failure, cleaned with the build folder). */
	const char *dir =
		getenv("VFBD_TEST_LOGS") ? getenv("VFBD_TEST_LOGS") : "/tmp";

	snprintf(p->log_path, sizeof(p->log_path), "%s/vfbd-%d-%d.log", dir,
		 (int)getpid(), ++serial);
	argv[n++] = bin;
	for (int i = 0; args && args[i] && n < 60; i++)
		argv[n++] = args[i];
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n] = NULL;
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		fd = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(127);
		dup2(fd, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (int waited = 0; waited < 10000; waited += 10) {
		int status;

		p->port = parse_port(p->log_path);
		if (p->port > 0)
			return 0;
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return -1;
		}
		sleep_ms(10);
	}
	vfbd_stop(p);
	return -1;
}

int vfbd_stop(struct vfbd_proc *p)
{
	int status;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	for (int waited = 0; waited < 5000; waited += 10) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		sleep_ms(10);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	return -1;
}

static bool line_has_all(const char *line, const char *const *needles)
{
	for (int i = 0; needles[i]; i++)
		if (!strstr(line, needles[i]))
			return false;
	return true;
}

bool vfbd_log_wait(struct vfbd_proc *p, int timeout_ms,
		   const char *const *needles)
{
	char line[1024];

	for (int waited = 0;; waited += 20) {
		FILE *f = fopen(p->log_path, "r");

		if (f) {
			while (fgets(line, sizeof(line), f)) {
				if (line_has_all(line, needles)) {
					fclose(f);
					return true;
				}
			}
			fclose(f);
		}
		if (waited >= timeout_ms)
			return false;
		sleep_ms(20);
	}
}

int vfbd_log_count(struct vfbd_proc *p, const char *needle)
{
	char line[1024];
	FILE *f = fopen(p->log_path, "r");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

long vfbd_rss_kib(struct vfbd_proc *p)
{
	char path[64], line[256];
	FILE *f;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

bool vfbd_alive(struct vfbd_proc *p)
{
	return p->pid > 0 && kill(p->pid, 0) == 0 &&
	       waitpid(p->pid, NULL, WNOHANG) == 0;
}
