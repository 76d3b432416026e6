/* vfbd-faultclient: one VNC client with a chosen misbehaviour, for the
 * lifecycle fault tests (tests/fault/). It connects, authenticates, gets
 * into the state the test needs, says "ready", and then holds that state
 * while the test breaks the network under it or watches vfbd react.
 *
 *   vfbd-faultclient MODE --port P [OPTIONS]
 *
 * Modes:
 *   handshake  authenticate, report the outcome, close
 *   idle       authenticate, get one full frame, then request nothing and
 *              read nothing (an idle viewer: nothing in flight)
 *   stream     authenticate, then keep asking for full frames and reading
 *              them: back to back with one request ahead (--interval 0) or
 *              one every --interval ms
 *   noread     a small receive buffer, authenticate, ask for --requests
 *              full frames and never read (zero window, TCP stays up)
 *
 * Output, one line per event, flushed at once so a script can follow it:
 *   port=N                  local port (vfbd logs peer=127.0.0.1:N)
 *   result=ok | result=refused reason="..." | result=auth-failed ... |
 *   result=closed | result=timeout
 *   first_frame_ms=F area=A full=0|1   connect -> end of the first frame
 *   ready t_ms=T            the state is reached (T: wall clock in ms)
 *   frames=K                (stream) frames read so far, at most 5 per s
 *   server-closed after_ms=F reset=0|1   vfbd closed us while we held
 *   done frames=K
 * The exit status is 0 when the handshake succeeded, 3 when it did not,
 * 1 on usage errors. */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "tools/rfb-testclient.h"

#define STEP_TIMEOUT_MS 5000u
#define FRAMES_PRINT_MS 200u

struct opts {
	const char *mode;
	const char *host;
	const char *bind_ip;
	const char *password;
	int port;
	bool shared;
	unsigned hold_s;
	unsigned interval_ms;
	unsigned input_interval_ms;
	int rcvbuf;
	unsigned requests;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vfbd-faultclient handshake|idle|stream|noread "
		   "--port P\n"
		   "         [--host 127.0.0.1] [--bind 127.x.y.z] [--password "
		   "PW]\n"
		   "         [--shared 0|1] [--hold SEC] [--interval MS]\n"
		   "         [--input-interval MS] [--rcvbuf BYTES] "
		   "[--requests N]\n"
		   "Only 127.0.0.0/8 addresses are accepted.\n");
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double ms_since(uint64_t start_ns)
{
	return (double)(clock_now_ns() - start_ns) / 1e6;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Waits until `deadline_ms` without reading: returns TC_CLOSED as soon as
 * the server resets or closes the connection, TC_OK when data is waiting
 * (and `peek` asked to look), TC_TIMEOUT at the deadline. With `peek`
 * false nothing is ever read, so a full receive buffer stays full. */
static int hold(struct tc_conn *c, uint64_t deadline_ms, bool peek)
{
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = peek ? POLLIN : 0};
		int n = poll(&pfd, 1, tc_poll_ms(deadline_ms));
		uint8_t b;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return TC_TIMEOUT;
		if (pfd.revents & (POLLERR | POLLHUP)) {
			int err = 0;
			socklen_t len = sizeof(err);

			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			c->reset = err == ECONNRESET;
			return TC_CLOSED;
		}
		if (!peek)
			continue;
		n = (int)recv(c->fd, &b, 1, MSG_PEEK);
		if (n > 0)
			return TC_OK;
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->reset = n < 0 && errno == ECONNRESET;
			return TC_CLOSED;
		}
	}
}

static void report_closed(struct tc_conn *c, uint64_t ready_ns)
{
	say("server-closed after_ms=%.1f reset=%d", ms_since(ready_ns),
	    c->reset ? 1 : 0);
}

static int first_frame(struct tc_conn *c, uint64_t start_ns)
{
	uint64_t area;
	int rc;

	rc = tc_request(c, false, clock_now_ms() + STEP_TIMEOUT_MS);
	if (rc == TC_OK)
		rc = tc_read_update(c, &area, clock_now_ms() + STEP_TIMEOUT_MS);
	if (rc < 0) {
		say("first_frame=%s", tc_result_name(rc));
		return rc;
	}
	say("first_frame_ms=%.2f area=%llu full=%d", ms_since(start_ns),
	    (unsigned long long)area,
	    area == (uint64_t)c->width * c->height ? 1 : 0);
	return TC_OK;
}

static int run_stream(struct tc_conn *c, const struct opts *o, uint64_t end_ms,
		      uint64_t ready_ns)
{
	uint64_t frames = 0, printed = 0, last_print = 0, next_input = 0;
	uint64_t area, now;
	int rc = TC_OK;
	bool ahead = o->interval_ms == 0;

	/* Back to back: two requests out, so vfbd always has the next frame
	 * to send while we read one and there is always data in flight. */
	if (ahead)
		rc = tc_request(c, false, end_ms);
	while (rc == TC_OK && clock_now_ms() < end_ms) {
		rc = tc_request(c, false, end_ms);
		if (rc == TC_OK)
			rc = tc_read_update(c, &area, end_ms);
		if (rc < 0)
			break;
		frames++;
		now = clock_now_ms();
		if (o->input_interval_ms && now >= next_input) {
			rc = tc_pointer(c, (uint16_t)(frames % 64), 10, 0,
					end_ms);
			next_input = now + o->input_interval_ms;
		}
		if (frames != printed && now - last_print >= FRAMES_PRINT_MS) {
			say("frames=%llu", (unsigned long long)frames);
			printed = frames;
			last_print = now;
		}
		if (!ahead && rc == TC_OK) {
			uint64_t next = now + o->interval_ms;

			while (rc == TC_OK && clock_now_ms() < next) {
				uint64_t until = next;

				if (o->input_interval_ms && next_input < until)
					until = next_input;
				rc = hold(c, until, true);
				if (rc == TC_OK)
					break; /* unexpected data: read it */
				if (rc == TC_TIMEOUT)
					rc = TC_OK;
				now = clock_now_ms();
				if (rc == TC_OK && o->input_interval_ms &&
				    now >= next_input) {
					rc = tc_pointer(c, (uint16_t)(now % 64),
							12, 0, end_ms);
					next_input = now + o->input_interval_ms;
				}
			}
		}
	}
	if (rc == TC_CLOSED)
		report_closed(c, ready_ns);
	say("done frames=%llu", (unsigned long long)frames);
	return rc;
}

static int run(const struct opts *o)
{
	uint64_t start_ns = clock_now_ns(), ready_ns, end_ms;
	struct tc_conn c;
	int rc;

	rc = tc_connect(&c, o->host, o->port, o->bind_ip,
			strcmp(o->mode, "noread") == 0 ? o->rcvbuf : 0,
			clock_now_ms() + STEP_TIMEOUT_MS);
	if (rc < 0) {
		say("result=%s connect: %s", tc_result_name(rc),
		    strerror(errno));
		return 3;
	}
	say("port=%d", c.local_port);
	rc = tc_handshake(&c, o->password, o->shared,
			  clock_now_ms() + STEP_TIMEOUT_MS);
	if (rc == TC_REFUSED || rc == TC_AUTH_FAILED)
		say("result=%s reason=\"%s\"", tc_result_name(rc), c.reason);
	else
		say("result=%s", tc_result_name(rc));
	if (rc < 0 || strcmp(o->mode, "handshake") == 0) {
		tc_close(&c, false);
		return rc < 0 ? 3 : 0;
	}
	if (strcmp(o->mode, "noread") != 0 && first_frame(&c, start_ns) < 0) {
		tc_close(&c, false);
		return 3;
	}
	if (strcmp(o->mode, "noread") == 0) {
		for (unsigned i = 0; i < o->requests && rc == TC_OK; i++)
			rc = tc_request(&c, false,
					clock_now_ms() + STEP_TIMEOUT_MS);
	}
	ready_ns = clock_now_ns();
	end_ms = clock_now_ms() + (uint64_t)o->hold_s * 1000u;
	say("ready t_ms=%llu", (unsigned long long)wall_ms());
	if (strcmp(o->mode, "stream") == 0) {
		run_stream(&c, o, end_ms, ready_ns);
	} else {
		/* idle asked for nothing, so anything that comes (none of
		 * it expected) is read and dropped; noread must not read, so
		 * it only watches for the reset. */
		bool idle = strcmp(o->mode, "idle") == 0;

		while ((rc = hold(&c, end_ms, idle)) == TC_OK) {
			uint8_t junk[4096];
			ssize_t n = recv(c.fd, junk, sizeof(junk), 0);

			if (n == 0 ||
			    (n < 0 && errno != EAGAIN && errno != EINTR)) {
				c.reset = n < 0 && errno == ECONNRESET;
				rc = TC_CLOSED;
				break;
			}
		}
		if (rc == TC_CLOSED)
			report_closed(&c, ready_ns);
		say("done frames=1");
	}
	tc_close(&c, false);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"bind", required_argument, NULL, 'b'},
		{"password", required_argument, NULL, 'w'},
		{"shared", required_argument, NULL, 's'},
		{"hold", required_argument, NULL, 'h'},
		{"interval", required_argument, NULL, 'i'},
		{"input-interval", required_argument, NULL, 'I'},
		{"rcvbuf", required_argument, NULL, 'r'},
		{"requests", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {
		.host = "127.0.0.1",
		.shared = true,
		.hold_s = 60,
		.rcvbuf = 4096,
		.requests = 8,
	};
	struct in_addr a;
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'H':
			o.host = optarg;
			break;
		case 'b':
			o.bind_ip = optarg;
			break;
		case 'w':
			o.password = optarg;
			break;
		case 's':
			o.shared = atoi(optarg) != 0;
			break;
		case 'h':
			o.hold_s = (unsigned)atoi(optarg);
			break;
		case 'i':
			o.interval_ms = (unsigned)atoi(optarg);
			break;
		case 'I':
			o.input_interval_ms = (unsigned)atoi(optarg);
			break;
		case 'r':
			o.rcvbuf = atoi(optarg);
			break;
		case 'n':
			o.requests = (unsigned)atoi(optarg);
			break;
		case 'u':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind + 1 != argc || o.port <= 0 || o.port > 65535) {
		usage(stderr);
		return 1;
	}
	o.mode = argv[optind];
	if (strcmp(o.mode, "handshake") != 0 && strcmp(o.mode, "idle") != 0 &&
	    strcmp(o.mode, "stream") != 0 && strcmp(o.mode, "noread") != 0) {
		usage(stderr);
		return 1;
	}
	if (tc_loopback_addr(o.host, &a) < 0 ||
	    (o.bind_ip && tc_loopback_addr(o.bind_ip, &a) < 0)) {
		fprintf(stderr, "vfbd-faultclient: only 127.0.0.0/8 "
				"addresses are allowed\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	return run(&o);
}
