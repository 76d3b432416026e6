/* Socket options vfbd sets on each accepted TCP socket, and the TCP_INFO
 * counters the write-stall watchdog reads. Kept apart because they need
 * <linux/tcp.h>, which cannot be mixed with <netinet/tcp.h>. */
#ifndef VFBD_NET_SOCKOPT_H
#define VFBD_NET_SOCKOPT_H

#include <stdint.h>

/* TCP_NODELAY, keepalive (idle/interval/count, 0 = leave off) and
 * TCP_USER_TIMEOUT (0 = leave default). Returns 0 or -errno. */
int sockopt_tcp_liveness(int fd, unsigned idle_s, unsigned intvl_s,
			 unsigned cnt, unsigned user_timeout_ms);

/* SO_LINGER {1, 0}: the next close() sends RST and drops queued data. */
int sockopt_abortive(int fd);

/* Bytes the peer acknowledged so far (TCP_INFO tcpi_bytes_acked), and
 * whether a keepalive probe or retransmission is outstanding. */
int sockopt_tcp_acked(int fd, uint64_t *bytes_acked);

#endif
