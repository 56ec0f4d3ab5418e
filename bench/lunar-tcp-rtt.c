/*
 * lunar-tcp-rtt: the machine's floor for one iSCSI command at QD1 over
 * loopback. A child process echoes 48-byte messages (one Basic Header
 * Segment, RFC 7143 §11.2) back to its parent over TCP with Nagle off, one
 * at a time, for a fixed time; prints one key=value line.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_hist.h"

#define RTT_MESSAGE   48
#define RTT_MAX_SECS  60u
/* Neither side waits longer than this for the other. */
#define RTT_TIMEOUT_S 5

static int rtt_transfer(int fd, unsigned char *buf, int send_first)
{
	for (int step = 0; step < 2; step++) {
		size_t done = 0;
		while (done < RTT_MESSAGE) {
			ssize_t n = (step == 0) == (send_first != 0)
				? send(fd, buf + done, RTT_MESSAGE - done, MSG_NOSIGNAL)
				: recv(fd, buf + done, RTT_MESSAGE - done, 0);
			if (n == 0 || (n < 0 && errno != EINTR))
				return -1;
			if (n > 0)
				done += (size_t)n;
		}
	}
	return 0;
}

static int rtt_socket_options(int fd)
{
	int one = 1;
	struct timeval tv = { .tv_sec = RTT_TIMEOUT_S };

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	       setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ? -1 : 0;
}

/* The child: echoes until its parent closes the connection. */
static int rtt_echo(int listener)
{
	unsigned char buf[RTT_MESSAGE];
	int fd = accept(listener, NULL, NULL);

	close(listener);
	if (fd < 0 || rtt_socket_options(fd) != 0)
		return EXIT_FAILURE;
	while (rtt_transfer(fd, buf, 0) == 0)
		;
	close(fd);
	return EXIT_SUCCESS;
}

static int rtt_measure(const struct sockaddr_in *addr, unsigned seconds)
{
	static struct bench_hist hist;
	unsigned char buf[RTT_MESSAGE];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || rtt_socket_options(fd) != 0 ||
	    connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0) {
		perror("lunar-tcp-rtt: connect");
		return -1;
	}
	memset(buf, 0x5a, sizeof(buf));
	uint64_t start = bench_now_ns(), now = start;
	uint64_t end = start + (uint64_t)seconds * 1000000000ull;
	while (now < end) {
		uint64_t t0 = now;
		if (rtt_transfer(fd, buf, 1) != 0) {
			perror("lunar-tcp-rtt: round trip");
			close(fd);
			return -1;
		}
		now = bench_now_ns();
		bench_hist_record(&hist, now - t0);
	}
	close(fd);
	printf("tcp_rtt round_trips=%llu rtt_mean_us=%.1f rtt_p50_us=%.1f rtt_p99_us=%.1f\n",
	       (unsigned long long)hist.count, bench_hist_mean(&hist) / 1e3,
	       (double)bench_hist_quantile(&hist, 0.50) / 1e3,
	       (double)bench_hist_quantile(&hist, 0.99) / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	char *end = NULL;
	unsigned long seconds = argc == 3 && strcmp(argv[1], "--seconds") == 0
		? strtoul(argv[2], &end, 10) : 0;
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);

	if (end == NULL || *end != '\0' || seconds < 1 || seconds > RTT_MAX_SECS) {
		fprintf(stderr, "usage: lunar-tcp-rtt --seconds S (1..%u)\n", RTT_MAX_SECS);
		return 2;
	}
	/* Port 0: the kernel picks a free one, so nothing can collide. */
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(listener, 1) != 0 ||
	    getsockname(listener, (struct sockaddr *)&addr, &len) != 0) {
		perror("lunar-tcp-rtt: listen");
		return EXIT_FAILURE;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("lunar-tcp-rtt: fork");
		return EXIT_FAILURE;
	}
	if (child == 0)
		_exit(rtt_echo(listener));
	close(listener);
	int ret = rtt_measure(&addr, (unsigned)seconds);
	int status;
	if (ret != 0)
		kill(child, SIGKILL);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ret = -1;
	return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
