#include "net/sockopt.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int set_int(int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		return -errno;
	return 0;
}

int sockopt_tcp_liveness(int fd, unsigned idle_s, unsigned intvl_s,
			 unsigned cnt, unsigned user_timeout_ms)
{
	int rc;

	rc = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (rc < 0)
		return rc;
	if (idle_s && intvl_s && cnt) {
		/* Per socket, so no host-wide sysctl is ever needed. */
		if ((rc = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1)) < 0 ||
		    (rc = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, (int)idle_s)) <
			    0 ||
		    (rc = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL,
				  (int)intvl_s)) < 0 ||
		    (rc = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, (int)cnt)) < 0)
			return rc;
	}
	if (user_timeout_ms) {
		rc = set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
			     (int)user_timeout_ms);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sockopt_abortive(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		return -errno;
	return 0;
}

int sockopt_tcp_acked(int fd, uint64_t *bytes_acked)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	*bytes_acked = ti.tcpi_bytes_acked;
	return 0;
}
