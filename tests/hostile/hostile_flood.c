/* The attackers' connection driver: one poll loop over every connection,
 * non-blocking sends of whole batches of PDUs, and a sink for replies. */
#include "hostile_flood.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/be.h"
#include "wire_check.h"

/* Short enough to notice the deadline and new room in a socket promptly. */
#define FLOOD_POLL_MS 20
/* Reads per connection per wake-up, so one chatty connection cannot
 * starve the others' sends. */
#define FLOOD_DRAIN_READS 16
#define FLOOD_SINK_BYTES 65536
/* A bound on wake-ups besides the clock: far more than any attack needs. */
#define FLOOD_MAX_ROUNDS (1u << 30)

/* wire_connect with the receive buffer sized before connect(): the window
 * scale and the first window offered follow it. The ISID (type 0x80,
 * random) is this process's and a counter, like wire_connect's, but with
 * its own marker byte so the two never meet. */
static bool connect_small_window(struct flood_conn *fc, const struct hostile_env *env, int rcvbuf,
				 char *why, size_t why_len)
{
	const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	const struct timeval tv = { .tv_sec = WIRE_IO_TIMEOUT_S };
	static uint8_t isid_counter;
	struct addrinfo *ai;
	int one = 1;

	memset(&fc->wc, 0, sizeof(fc->wc));
	fc->wc.target = env->attacker;
	fc->wc.next_itt = 1;
	fc->wc.isid[0] = 0x80;
	fc->wc.isid[1] = 0x48;
	be24_put(fc->wc.isid + 2, (uint32_t)getpid());
	fc->wc.isid[5] = isid_counter++;
	int rc = getaddrinfo(env->attacker->host, env->attacker->port, &hints, &ai);
	if (rc) {
		snprintf(why, why_len, "resolve: %s", gai_strerror(rc));
		return false;
	}
	fc->wc.fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fc->wc.fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return false;
	}
	setsockopt(fc->wc.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fc->wc.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fc->wc.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!wire_bind_source(fc->wc.fd, env->attacker, why, why_len)) {
		freeaddrinfo(ai);
		wire_close(&fc->wc);
		return false;
	}
	rc = connect(fc->wc.fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc) {
		snprintf(why, why_len, "connect: %s", strerror(errno));
		wire_close(&fc->wc);
		return false;
	}
	return true;
}

bool flood_open(struct flood_conn *fc, const struct hostile_env *env, bool login, int rcvbuf,
		char *why, size_t why_len)
{
	bool ok;

	if (login)
		ok = wire_login(&fc->wc, env->attacker, why, why_len);
	else if (rcvbuf)
		ok = connect_small_window(fc, env, rcvbuf, why, why_len);
	else
		ok = wire_connect(&fc->wc, env->attacker, why, why_len);
	if (!ok)
		return false;
	/* After a login the window already offered stays, but grows no further. */
	if (login && rcvbuf)
		setsockopt(fc->wc.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	fc->open = true;
	return true;
}

unsigned flood_open_all(struct flood_conn *conns, unsigned n, const struct hostile_env *env,
			bool login, int rcvbuf, bool drain, struct attack_stats *st)
{
	char why[WIRE_WHY_LEN];

	for (unsigned i = 0; i < n; i++) {
		if (hostile_attack_over(env))
			return i;
		if (!flood_open(&conns[i], env, login, rcvbuf, why, sizeof(why))) {
			printf("# attacker connection %u of %u: %s\n", i + 1, n, why);
			return i;
		}
		conns[i].drain = drain;
		st->conns++;
	}
	return n;
}

static void mark_closed(struct flood_conn *fc, struct attack_stats *st)
{
	wire_close(&fc->wc);
	fc->open = false;
	st->closed++;
}

static void drain(struct flood_conn *fc, struct attack_stats *st)
{
	static uint8_t sink[FLOOD_SINK_BYTES];

	for (int i = 0; i < FLOOD_DRAIN_READS; i++) {
		ssize_t got = recv(fc->wc.fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (got > 0)
			continue;
		if (got == 0 || (errno != EAGAIN && errno != EINTR))
			mark_closed(fc, st);
		return;
	}
}

static void send_more(struct flood_conn *fc, const struct hostile_env *env, flood_fill_fn fill,
		      struct attack_stats *st)
{
	if (fc->out_off == fc->out_len && !fc->done) {
		unsigned pdus = 0;

		fc->out_len = fill(fc, env, fc->out, sizeof(fc->out), &pdus);
		fc->out_off = 0;
		fc->done = fc->out_len == 0;
		fc->sent += pdus;
		st->pdus += pdus;
	}
	if (fc->out_off == fc->out_len)
		return;
	ssize_t n = send(fc->wc.fd, fc->out + fc->out_off, fc->out_len - fc->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0)
		fc->out_off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		mark_closed(fc, st);
}

void flood_run(struct flood_conn *conns, unsigned n, const struct hostile_env *env,
	       int64_t until_ms, flood_fill_fn fill, struct attack_stats *st)
{
	struct pollfd *pfd = calloc(n ? n : 1, sizeof(*pfd));
	unsigned *idx = calloc(n ? n : 1, sizeof(*idx));

	if (!pfd || !idx) {
		printf("# flood: out of memory\n");
		free(pfd);
		free(idx);
		return;
	}
	for (unsigned round = 0; round < FLOOD_MAX_ROUNDS; round++) {
		int64_t left = until_ms - hostile_now_ms();
		unsigned npfd = 0;

		if (left <= 0 || hostile_attack_over(env))
			break;
		for (unsigned i = 0; i < n; i++) {
			struct flood_conn *fc = &conns[i];

			if (!fc->open)
				continue;
			short ev = POLLRDHUP;
			if (fc->drain)
				ev |= POLLIN;
			if (fill && (!fc->done || fc->out_off < fc->out_len))
				ev |= POLLOUT;
			pfd[npfd] = (struct pollfd){ .fd = fc->wc.fd, .events = ev };
			idx[npfd++] = i;
		}
		int ready = poll(pfd, npfd, left < FLOOD_POLL_MS ? (int)left : FLOOD_POLL_MS);
		if (ready <= 0)
			continue;
		for (unsigned k = 0; k < npfd; k++) {
			struct flood_conn *fc = &conns[idx[k]];
			short re = pfd[k].revents;

			if (fc->drain && (re & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))
				drain(fc, st);
			else if (re & (POLLRDHUP | POLLHUP | POLLERR))
				mark_closed(fc, st);
			if (fc->open && (re & POLLOUT))
				send_more(fc, env, fill, st);
		}
	}
	free(pfd);
	free(idx);
}

void flood_close_all(struct flood_conn *conns, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (conns[i].open)
			wire_close(&conns[i].wc);
		conns[i].open = false;
	}
}
