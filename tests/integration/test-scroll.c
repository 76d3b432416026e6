/* Move detection and exact damage, end to end through the shm source
 * (fbfeed workloads): a text console scrolling one line per frame and a
 * window dragged across a 1920x1080 desktop reach a CopyRect-capable
 * client mostly as CopyRects, end pixel-exact, and cost far fewer bytes
 * than the same run without CopyRect; a typed character costs its own
 * 8x16 cell, not a tile around it. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fb/src-shm.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"
#include "vfbd/base/bytes.h"

static char dir[] = "/tmp/vfbd-scroll-XXXXXX";

static void run_fbfeed(const char *path, const char *workload,
		       const char *frames)
{
	const char *vfbd = getenv("VFBD") ? getenv("VFBD") : "build/vfbd";
	char feed[512];
	pid_t pid;
	int status;

	snprintf(feed, sizeof(feed), "%.*s/tools/fbfeed",
		 (int)(strrchr(vfbd, '/') ? strrchr(vfbd, '/') - vfbd : 1),
		 strrchr(vfbd, '/') ? vfbd : ".");
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(feed, feed, path, "--workload", workload, "--rate", "20",
		      "--frames", frames, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Starts fbfeed in the background; returns its pid. */
static pid_t start_fbfeed(const char *path, const char *workload,
			  const char *frames)
{
	pid_t pid = fork();

	if (pid == 0) {
		run_fbfeed(path, workload, frames);
		_exit(0);
	}
	return pid;
}

/* The producer's last frame, as XRGB8888 pixels. */
static uint32_t *file_frame(const char *path, uint32_t *w, uint32_t *h)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *m;
	uint32_t *px, stride, hb;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(m != MAP_FAILED);
	*w = get_le32(m + FB_SHM_OFF_WIDTH);
	*h = get_le32(m + FB_SHM_OFF_HEIGHT);
	stride = get_le32(m + FB_SHM_OFF_STRIDE);
	hb = get_le32(m + FB_SHM_OFF_HEADER_BYTES);
	px = malloc((size_t)*w * *h * 4);
	for (uint32_t y = 0; y < *h; y++)
		memcpy(px + (size_t)y * *w, m + hb + (size_t)y * stride,
		       (size_t)*w * 4);
	munmap(m, (size_t)st.st_size);
	return px;
}

/* One line of the control socket's status JSON. */
static void status(const char *sock, char *out, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ssize_t n, got = 0;

	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "status\n", 7), 7);
	while ((n = read(fd, out + got, len - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(fd);
}

static unsigned long long json_num(const char *json, const char *key)
{
	const char *p = strstr(json, key);

	assert_non_null(p);
	return strtoull(p + strlen(key) + 1, NULL, 10);
}

/* Runs 60 frames of a workload to one client; returns the bytes vfbd
 * sent it after the first full frame (w * h * 4 raw bytes, subtracted)
 * and fills the CopyRects counted by vfbd. */
static unsigned long long scroll_run(const char *workload,
				     const char *encodings,
				     unsigned long long *copies)
{
	char path[256], sock[256], src[300], json[4096];
	const char *args[] = {"--source", src, "--control", sock, NULL};
	const char *closed[] = {"client-closed", NULL};
	struct vfbd_proc p;
	struct vnc_client v;
	uint32_t w, h, fx = 0, fy = 0, *want;
	unsigned long long bytes;
	long bad = -1;
	pid_t feed;

	snprintf(path, sizeof(path), "%s/%s", dir, workload);
	snprintf(sock, sizeof(sock), "%s/ctl", dir);
	snprintf(src, sizeof(src), "shm:%s", path);
	unlink(path);
	run_fbfeed(path, workload, "1"); /* the file exists before vfbd */
	assert_int_equal(vfbd_start(&p, args), 0);
	assert_int_equal(vnc_connect(&v, p.port, NULL, NULL, encodings), 0);
	vnc_request(&v, false);
	assert_true(vnc_wait_frame(&v, 5000));
	feed = start_fbfeed(path, workload, "60");
	while (waitpid(feed, NULL, WNOHANG) == 0)
		vnc_pump(&v, 50);
	want = file_frame(path, &w, &h);
	/* Generous: a loaded machine may take a while to drain the backlog. */
	for (int waited = 0; waited < 15000 && bad != 0; waited += 50) {
		vnc_pump(&v, 50);
		bad = vnc_compare(&v, want, w, h, w, &fx, &fy);
	}
	if (bad)
		print_message("%ld pixels differ, first %u,%u\n", bad, fx, fy);
	assert_int_equal(bad, 0);
	free(want);
	status(sock, json, sizeof(json));
	*copies = json_num(json, "\"copyrects_sent\"");
	print_message("%s, %s: %llu changed frames, %llu moves found\n",
		      workload, encodings, json_num(json, "\"frames_changed\""),
		      json_num(json, "\"moves_found\""));
	vnc_close(&v);
	assert_true(vfbd_log_wait(&p, 3000, closed));
	bytes = 0;
	{
		FILE *f = fopen(p.log_path, "r");
		char line[512];

		while (f && fgets(line, sizeof(line), f)) {
			char *b = strstr(line, "bytes_out=");

			if (strstr(line, "client-closed") && b)
				bytes = strtoull(b + 10, NULL, 10);
		}
		if (f)
			fclose(f);
	}
	assert_int_equal(vfbd_stop(&p), 0);
	assert_true(bytes > (unsigned long long)w * h * 4);
	return bytes - (unsigned long long)w * h * 4;
}

static void scrolling_console_uses_copyrect(void **state)
{
	unsigned long long copies_on, copies_off, with, without;

	with = scroll_run("console", "copyrect raw", &copies_on);
	without = scroll_run("console", "raw", &copies_off);
	print_message("console scroll, 60 frames: %llu bytes with CopyRect "
		      "(%llu CopyRects), %llu without\n",
		      with, copies_on, without);
	assert_int_equal(copies_off, 0);
	/* Most frames are a one-line scroll: at least half of them must
	 * have become CopyRects, and the bytes must show it. */
	assert_true(copies_on >= 20);
	assert_true(with * 3 < without);
}

/* A 400x300 window moving by (8, 4) each frame: a CopyRect of the
 * window plus two strips of desktop, instead of both rectangles. */
static void dragged_window_uses_copyrect(void **state)
{
	unsigned long long copies_on, copies_off, with, without;

	with = scroll_run("window", "copyrect raw", &copies_on);
	without = scroll_run("window", "raw", &copies_off);
	print_message("window drag, 60 frames: %llu bytes with CopyRect "
		      "(%llu CopyRects), %llu without\n",
		      with, copies_on, without);
	assert_int_equal(copies_off, 0);
	assert_true(copies_on >= 20);
	/* Without CopyRect each frame is the window's two rectangles
	 * (240,000 pixels, less their overlap); with it, strips of
	 * 8 x 300 + 4 x 400 pixels. */
	assert_true(with * 10 < without);
}

/* One 8x16 cell per frame: 512 raw bytes plus headers, where a 64x16
 * tile would be 4096. */
static void typed_cell_costs_its_cell(void **state)
{
	unsigned long long copies, bytes;

	bytes = scroll_run("typing", "raw", &copies);
	print_message("typing, 60 frames: %llu bytes after the first frame\n",
		      bytes);
	assert_true(bytes <= 60 * (8 * 16 * 4 + 64));
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scrolling_console_uses_copyrect),
		cmocka_unit_test(dragged_window_uses_copyrect),
		cmocka_unit_test(typed_cell_costs_its_cell),
	};

	vnc_quiet();
	return cmocka_run_group_tests(tests, setup, teardown);
}
