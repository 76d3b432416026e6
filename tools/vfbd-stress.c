/* vfbd-stress: load a running vfbd and print figures (lifecycle.md).
 *
 *   vfbd-stress --port P [--password PW] [--pid PID] MODE
 *
 * Modes (one per run):
 *   --reconnect N   N sequential cycles of connect -> handshake -> first
 *                   full frame -> close (every other close abortive);
 *                   prints cycles/s and, with --pid, vfbd's fd count and
 *                   RSS before (after --warmup cycles) and after
 *   --clients N     N clients at once, each reading full frames back to
 *                   back for --seconds T; prints frames/s per client
 *   --slowloris N   N connections that send part of the version (half of
 *                   them) or nothing, held for --seconds T; prints how many
 *                   vfbd closed and when
 *   --stalled N     N authenticated clients with a tiny receive buffer that
 *                   ask for frames and never read, held for --seconds T;
 *                   prints how many vfbd closed and when
 *
 * Output is key=value lines, for people and for tests/fault scripts. Only
 * 127.0.0.0/8 targets are accepted; counts and times are bounded. */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "tools/rfb-testclient.h"

#define STEP_TIMEOUT_MS 5000u
#define MAX_CYCLES	1000000u
#define MAX_PARALLEL	4000u
#define MAX_SECONDS	3600u

struct opts {
	const char *host;
	const char *password;
	int port;
	int pid;
	unsigned reconnect, clients, slowloris, stalled;
	unsigned seconds;
	unsigned warmup;
	unsigned max_seconds;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vfbd-stress --port P [--host 127.0.0.1] [--password "
		   "PW]\n"
		   "         [--pid PID] [--seconds T] [--warmup N]\n"
		   "         [--max-seconds T]\n"
		   "         (--reconnect N | --clients N | --slowloris N |\n"
		   "          --stalled N)\n");
}

/* vfbd's open fds and resident KiB, from /proc; -1 when unknown. */
static int proc_fds(int pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static long proc_rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts `v` and returns the value at fraction q (0.5 = median). */
static double quantile(double *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

/* One connect -> handshake -> full frame -> close cycle. */
static int cycle(const struct opts *o, bool abortive, uint64_t *frame_bytes)
{
	uint64_t deadline = clock_now_ms() + STEP_TIMEOUT_MS, area = 0;
	struct tc_conn c;
	int rc;

	rc = tc_connect(&c, o->host, o->port, NULL, 0, deadline);
	if (rc < 0)
		return rc;
	rc = tc_handshake(&c, o->password, true, deadline);
	if (rc == TC_OK)
		rc = tc_request(&c, false, deadline);
	if (rc == TC_OK)
		rc = tc_read_update(&c, &area, deadline);
	if (rc == TC_OK && area != (uint64_t)c.width * c.height)
		rc = TC_PROTOCOL;
	if (rc == TC_OK)
		*frame_bytes = area * c.bpp;
	tc_close(&c, abortive);
	return rc;
}

/* Waits up to `ms` for vfbd's fd count to come back to `want`. */
static int settle_fds(int pid, int want, unsigned ms)
{
	int n = proc_fds(pid);

	for (unsigned waited = 0; n != want && waited < ms; waited += 50) {
		usleep(50000);
		n = proc_fds(pid);
	}
	return n;
}

static int run_reconnect(const struct opts *o)
{
	uint64_t frame_bytes = 0, start_ns, end_ms;
	unsigned done = 0, failed = 0, first_error = 0;
	double *lat = calloc(o->reconnect, sizeof(double));
	int fd_start, fd_before, fd_after;
	long rss_start, rss_before, rss_after;
	double secs;

	if (!lat)
		return 1;
	fd_start = proc_fds(o->pid);
	rss_start = proc_rss_kib(o->pid);
	/* Warm-up: the first connections size the allocator's arenas and
	 * vfbd's per-frame buffers; the figure of interest is the slope. */
	for (unsigned i = 0; i < o->warmup; i++) {
		if (cycle(o, i & 1, &frame_bytes) < 0)
			failed++;
	}
	fd_before = settle_fds(o->pid, fd_start, 2000);
	rss_before = proc_rss_kib(o->pid);
	start_ns = clock_now_ns();
	end_ms = clock_now_ms() + (uint64_t)o->max_seconds * 1000u;
	for (; done < o->reconnect && clock_now_ms() < end_ms; done++) {
		uint64_t t0 = clock_now_ns();
		int rc = cycle(o, done & 1, &frame_bytes);

		lat[done] = (double)(clock_now_ns() - t0) / 1e6;
		if (rc < 0) {
			if (!failed++)
				first_error = done;
			if (failed <= 3)
				fprintf(stderr, "vfbd-stress: cycle %u: %s\n",
					done, tc_result_name(rc));
		}
	}
	secs = (double)(clock_now_ns() - start_ns) / 1e9;
	fd_after = settle_fds(o->pid, fd_before, 3000);
	rss_after = proc_rss_kib(o->pid);
	printf("reconnect: cycles=%u failed=%u seconds=%.2f rate=%.0f "
	       "frame_bytes=%llu\n",
	       done, failed, secs, secs > 0 ? done / secs : 0.0,
	       (unsigned long long)frame_bytes);
	printf("reconnect: cycle_ms_median=%.3f cycle_ms_p99=%.3f "
	       "cycle_ms_max=%.3f\n",
	       quantile(lat, done, 0.5), quantile(lat, done, 0.99),
	       quantile(lat, done, 1.0));
	if (failed)
		printf("reconnect: first_failed_cycle=%u\n", first_error);
	if (o->pid > 0)
		printf("vfbd: warmup=%u fd_start=%d fd_before=%d fd_after=%d "
		       "rss_start_kib=%ld rss_before_kib=%ld "
		       "rss_after_kib=%ld rss_growth_kib=%ld\n",
		       o->warmup, fd_start, fd_before, fd_after, rss_start,
		       rss_before, rss_after, rss_after - rss_before);
	free(lat);
	return failed ? 2 : 0;
}

/* A FramebufferUpdate parser fed whatever recv() returns, for many
 * clients read from one poll loop. */
struct stream {
	struct tc_conn c;
	enum { S_TYPE, S_HEADER, S_RECT, S_PIXELS } state;
	uint8_t hdr[12];
	size_t have, need;
	uint64_t skip;
	unsigned rects_left;
	uint64_t frames;
	bool dead;
};

static void stream_expect(struct stream *s, int state, size_t need)
{
	s->state = state;
	s->have = 0;
	s->need = need;
}

/* Feeds bytes; returns the number of frames completed, or -1. */
static int stream_feed(struct stream *s, const uint8_t *p, size_t n)
{
	int frames = 0;

	while (n > 0) {
		size_t take;

		if (s->state == S_PIXELS) {
			take = s->skip < n ? (size_t)s->skip : n;
			s->skip -= take;
			p += take;
			n -= take;
			if (s->skip == 0 && --s->rects_left == 0) {
				frames++;
				stream_expect(s, S_TYPE, 1);
			} else if (s->skip == 0) {
				stream_expect(s, S_RECT, 12);
			}
			continue;
		}
		take = s->need - s->have < n ? s->need - s->have : n;
		memcpy(s->hdr + s->have, p, take);
		s->have += take;
		p += take;
		n -= take;
		if (s->have < s->need)
			continue;
		switch (s->state) {
		case S_TYPE:
			if (s->hdr[0] != RFB_S2C_FRAMEBUFFER_UPDATE)
				return -1;
			stream_expect(s, S_HEADER, 3);
			break;
		case S_HEADER:
			s->rects_left = get_be16(s->hdr + 1);
			if (s->rects_left == 0) {
				frames++;
				stream_expect(s, S_TYPE, 1);
			} else {
				stream_expect(s, S_RECT, 12);
			}
			break;
		case S_RECT:
			if (get_be32s(s->hdr + 8) != RFB_ENC_RAW)
				return -1;
			s->skip = (uint64_t)get_be16(s->hdr + 4) *
				  get_be16(s->hdr + 6) * s->c.bpp;
			if (s->skip == 0 && --s->rects_left == 0) {
				frames++;
				stream_expect(s, S_TYPE, 1);
			} else if (s->skip == 0) {
				stream_expect(s, S_RECT, 12);
			} else {
				s->state = S_PIXELS;
			}
			break;
		case S_PIXELS:
			break;
		}
	}
	return frames;
}

static int run_clients(const struct opts *o)
{
	struct stream *s = calloc(o->clients, sizeof(*s));
	struct pollfd *pfd = calloc(o->clients, sizeof(*pfd));
	static uint8_t buf[1 << 16];
	uint64_t end_ms, start_ns, total = 0, min = UINT64_MAX, max = 0;
	unsigned connected = 0, dead = 0;
	double secs;
	int rc = 0;

	if (!s || !pfd)
		return 1;
	for (unsigned i = 0; i < o->clients; i++) {
		uint64_t deadline = clock_now_ms() + STEP_TIMEOUT_MS;

		if (tc_connect(&s[i].c, o->host, o->port, NULL, 0, deadline) <
			    0 ||
		    tc_handshake(&s[i].c, o->password, true, deadline) < 0 ||
		    tc_request(&s[i].c, false, deadline) < 0 ||
		    tc_request(&s[i].c, false, deadline) < 0) {
			fprintf(stderr,
				"vfbd-stress: client %u did not get "
				"in\n",
				i);
			tc_close(&s[i].c, true);
			s[i].dead = true;
			dead++;
			continue;
		}
		stream_expect(&s[i], S_TYPE, 1);
		connected++;
	}
	start_ns = clock_now_ns();
	end_ms = clock_now_ms() + (uint64_t)o->seconds * 1000u;
	while (clock_now_ms() < end_ms) {
		int n;

		for (unsigned i = 0; i < o->clients; i++)
			pfd[i] = (struct pollfd){
				.fd = s[i].dead ? -1 : s[i].c.fd,
				.events = POLLIN,
			};
		n = poll(pfd, o->clients, tc_poll_ms(end_ms));
		if (n <= 0)
			continue;
		for (unsigned i = 0; i < o->clients; i++) {
			ssize_t got;
			int frames;

			if (s[i].dead || !pfd[i].revents)
				continue;
			got = recv(s[i].c.fd, buf, sizeof(buf), 0);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			frames = got > 0 ? stream_feed(&s[i], buf, (size_t)got)
					 : -1;
			if (frames < 0) {
				s[i].dead = true;
				dead++;
				continue;
			}
			s[i].frames += (uint64_t)frames;
			/* One request per frame read keeps two out. */
			while (frames-- > 0)
				if (tc_request(&s[i].c, false,
					       clock_now_ms() + 1000) < 0)
					s[i].dead = true;
		}
	}
	secs = (double)(clock_now_ns() - start_ns) / 1e9;
	for (unsigned i = 0; i < o->clients; i++) {
		total += s[i].frames;
		if (s[i].frames < min)
			min = s[i].frames;
		if (s[i].frames > max)
			max = s[i].frames;
		tc_close(&s[i].c, true);
	}
	printf("clients: n=%u connected=%u lost=%u seconds=%.2f frames=%llu "
	       "frames_per_s=%.1f per_client_min=%.1f per_client_max=%.1f\n",
	       o->clients, connected, dead, secs, (unsigned long long)total,
	       total / secs, min / secs, max / secs);
	if (dead)
		rc = 2;
	free(s);
	free(pfd);
	return rc;
}

/* Holds `n` connections opened by the caller and reports when vfbd closes
 * them. `drain` reads and drops what arrives (slowloris: the server's
 * version); without it nothing is read and only a reset is noticed. */
static void watch_closes(const char *what, struct tc_conn *c, unsigned n,
			 unsigned opened, uint64_t start_ns, unsigned seconds,
			 bool drain)
{
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	double *when = calloc(n, sizeof(double));
	uint64_t end_ms = clock_now_ms() + (uint64_t)seconds * 1000u;
	static uint8_t buf[4096];
	unsigned closed = 0;

	if (!pfd || !when) {
		free(pfd);
		free(when);
		return;
	}
	while (closed < opened && clock_now_ms() < end_ms) {
		for (unsigned i = 0; i < n; i++)
			pfd[i] = (struct pollfd){
				.fd = c[i].fd,
				.events = drain ? POLLIN : 0,
			};
		if (poll(pfd, n, tc_poll_ms(end_ms)) <= 0)
			continue;
		for (unsigned i = 0; i < n; i++) {
			ssize_t got = 1;

			if (c[i].fd < 0 || !pfd[i].revents)
				continue;
			if (drain && !(pfd[i].revents & (POLLERR | POLLHUP)))
				got = recv(c[i].fd, buf, sizeof(buf), 0);
			if (got > 0 && !(pfd[i].revents & (POLLERR | POLLHUP)))
				continue;
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			when[closed++] =
				(double)(clock_now_ns() - start_ns) / 1e6;
			tc_close(&c[i], false);
		}
	}
	printf("%s: opened=%u closed_by_server=%u still_open=%u "
	       "close_ms_min=%.0f close_ms_median=%.0f close_ms_max=%.0f\n",
	       what, opened, closed, opened - closed, quantile(when, closed, 0),
	       quantile(when, closed, 0.5), quantile(when, closed, 1.0));
	for (unsigned i = 0; i < n; i++)
		tc_close(&c[i], false);
	free(pfd);
	free(when);
}

static int run_slowloris(const struct opts *o)
{
	struct tc_conn *c = calloc(o->slowloris, sizeof(*c));
	uint64_t start_ns = clock_now_ns();
	unsigned opened = 0;

	if (!c)
		return 1;
	for (unsigned i = 0; i < o->slowloris; i++) {
		uint64_t deadline = clock_now_ms() + STEP_TIMEOUT_MS;

		if (tc_connect(&c[i], o->host, o->port, NULL, 0, deadline) <
		    0) {
			c[i].fd = -1;
			continue;
		}
		opened++;
		/* Half send a third of the version, half say nothing. */
		if (i & 1)
			tc_write(&c[i], "RFB 0", 5, deadline);
	}
	printf("slowloris: ready opened=%u open_ms=%.0f\n", opened,
	       (double)(clock_now_ns() - start_ns) / 1e6);
	fflush(stdout);
	watch_closes("slowloris", c, o->slowloris, opened, start_ns, o->seconds,
		     true);
	free(c);
	return 0;
}

static int run_stalled(const struct opts *o)
{
	struct tc_conn *c = calloc(o->stalled, sizeof(*c));
	uint64_t start_ns;
	unsigned opened = 0;

	if (!c)
		return 1;
	for (unsigned i = 0; i < o->stalled; i++) {
		uint64_t deadline = clock_now_ms() + STEP_TIMEOUT_MS;
		int rc = tc_connect(&c[i], o->host, o->port, NULL, 4096,
				    deadline);

		if (rc == TC_OK)
			rc = tc_handshake(&c[i], o->password, true, deadline);
		for (int k = 0; k < 8 && rc == TC_OK; k++)
			rc = tc_request(&c[i], false, deadline);
		if (rc < 0) {
			tc_close(&c[i], true);
			continue;
		}
		opened++;
	}
	start_ns = clock_now_ns();
	printf("stalled: ready opened=%u\n", opened);
	fflush(stdout);
	watch_closes("stalled", c, o->stalled, opened, start_ns, o->seconds,
		     false);
	free(c);
	return 0;
}

/* Enough descriptors for the parallel modes. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int parse_count(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0 || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"password", required_argument, NULL, 'w'},
		{"pid", required_argument, NULL, 'P'},
		{"seconds", required_argument, NULL, 's'},
		{"warmup", required_argument, NULL, 'W'},
		{"max-seconds", required_argument, NULL, 'M'},
		{"reconnect", required_argument, NULL, 'r'},
		{"clients", required_argument, NULL, 'c'},
		{"slowloris", required_argument, NULL, 'l'},
		{"stalled", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {
		.host = "127.0.0.1",
		.seconds = 5,
		.warmup = 100,
		.max_seconds = 600,
	};
	struct in_addr a;
	unsigned modes = 0;
	int opt, bad = 0;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'H':
			o.host = optarg;
			break;
		case 'w':
			o.password = optarg;
			break;
		case 'P':
			o.pid = atoi(optarg);
			break;
		case 's':
			bad |= parse_count(optarg, MAX_SECONDS, &o.seconds);
			break;
		case 'W':
			o.warmup = (unsigned)strtoul(optarg, NULL, 10);
			bad |= o.warmup > 100000;
			break;
		case 'M':
			bad |= parse_count(optarg, MAX_SECONDS, &o.max_seconds);
			break;
		case 'r':
			bad |= parse_count(optarg, MAX_CYCLES, &o.reconnect);
			modes++;
			break;
		case 'c':
			bad |= parse_count(optarg, MAX_PARALLEL, &o.clients);
			modes++;
			break;
		case 'l':
			bad |= parse_count(optarg, MAX_PARALLEL, &o.slowloris);
			modes++;
			break;
		case 'S':
			bad |= parse_count(optarg, MAX_PARALLEL, &o.stalled);
			modes++;
			break;
		case 'u':
			usage(stdout);
			return 0;
		default:
			bad = 1;
			break;
		}
	}
	if (bad || optind != argc || modes != 1 || o.port <= 0 ||
	    o.port > 65535) {
		usage(stderr);
		return 1;
	}
	if (tc_loopback_addr(o.host, &a) < 0) {
		fprintf(stderr,
			"vfbd-stress: only 127.0.0.0/8 targets are allowed\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (o.reconnect)
		return run_reconnect(&o);
	if (o.clients)
		return run_clients(&o);
	if (o.slowloris)
		return run_slowloris(&o);
	return run_stalled(&o);
}
