/* Many attacker connections driven from one thread: each sends what its
 * attack's fill function produces as fast as the socket takes it, and
 * reads (or, for a peer that never reads, leaves unread) what the target
 * sends back. Nothing blocks past the attack's deadline. */
#ifndef LUNAR_HOSTILE_FLOOD_H
#define LUNAR_HOSTILE_FLOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostile.h"
#include "wire_conn.h"

/* Room for two PDUs with a 64 KiB data segment. */
#define FLOOD_OUT_CAP (2u * (ISCSI_BHS_LEN + ATTACK_IO_BYTES))
/* What a peer that never reads asks its kernel for; Linux doubles it and
 * rounds it up to its minimum. */
#define FLOOD_SMALL_RCVBUF 4096

struct flood_conn {
	struct wire_conn wc;     /* the socket; for a logged-in one, its CmdSN state */
	bool open;
	bool drain;              /* read and discard what the target sends */
	bool done;               /* fill has nothing more to send */
	uint8_t out[FLOOD_OUT_CAP];
	size_t out_len, out_off;
	uint32_t sent;           /* PDUs fill produced for this connection */
};

/* Puts the connection's next PDUs in out (at most cap bytes) and returns
 * their length and count; a length of 0 means nothing more to send. */
typedef size_t (*flood_fill_fn)(struct flood_conn *fc, const struct hostile_env *env, uint8_t *out,
				size_t cap, unsigned *pdus);

/* Connects (and with login, logs in a normal session); a small receive
 * buffer when rcvbuf is non-zero: set before connect() when not logging
 * in, so that the window offered in the handshake is small too, and after
 * the login otherwise (wire_login makes its own socket). False, with why,
 * if it cannot. */
bool flood_open(struct flood_conn *fc, const struct hostile_env *env, bool login, int rcvbuf,
		char *why, size_t why_len);
/* Opens n connections; stops at the first failure (noted) or the deadline.
 * Returns how many are open. */
unsigned flood_open_all(struct flood_conn *conns, unsigned n, const struct hostile_env *env,
			bool login, int rcvbuf, bool drain, struct attack_stats *st);
/* Sends (with fill; none when it is NULL) and drains until until_ms or
 * the attack is over, counting PDUs and the connections the target closed
 * in st. */
void flood_run(struct flood_conn *conns, unsigned n, const struct hostile_env *env,
	       int64_t until_ms, flood_fill_fn fill, struct attack_stats *st);
void flood_close_all(struct flood_conn *conns, unsigned n);

#endif
