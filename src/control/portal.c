#include "control/portal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macros.h"

/* How long accept rests when the process or system is out of file
 * descriptors or memory: re-arming at once would spin on the same error
 * until a connection closes. */
#define ACCEPT_BACKOFF_MS 100

/* Each portal has one operation in flight, an accept or a back-off
 * timer; a closed portal is freed when that one completes. */
struct portal {
	int fd;
	struct loop_op op;
	struct loop_op backoff_op;
	struct __kernel_timespec backoff;
	struct loop *loop;
	const struct iscsi_host *host;
	struct config_portal cp;
	bool closing;
	struct portal *next;
};

/* The open portals and the closed ones whose operation is still in
 * flight; control thread only. */
static struct portal *portals;
static struct loop *portal_loop;
static const struct iscsi_host *portal_host;

static void portal_free(struct portal *p)
{
	for (struct portal **pp = &portals; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p);
}

static void portal_arm(struct portal *p)
{
	struct io_uring_sqe *sqe = loop_get_sqe(p->loop);
	io_uring_prep_accept(sqe, p->fd, NULL, NULL, SOCK_CLOEXEC);
	loop_sqe_set_op(sqe, &p->op);
}

static void on_backoff(struct loop_op *op, int res)
{
	(void)res;
	struct portal *p = container_of(op, struct portal, backoff_op);
	if (p->closing)
		portal_free(p);
	else
		portal_arm(p);
}

static bool accept_out_of_resources(int res)
{
	return res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM;
}

static void on_accept(struct loop_op *op, int res)
{
	struct portal *p = container_of(op, struct portal, op);
	if (p->closing) {
		if (res >= 0)
			close(res);
		portal_free(p);
		return;
	}
	if (res >= 0) {
		iscsi_conn_start(res, p->loop, p->host);
	} else if (accept_out_of_resources(res)) {
		log_warn_limited("portal %s: accept: %s; pausing %d ms", p->cp.text, strerror(-res),
				 ACCEPT_BACKOFF_MS);
		p->backoff = (struct __kernel_timespec){ .tv_nsec = ACCEPT_BACKOFF_MS * 1000000L };
		struct io_uring_sqe *sqe = loop_get_sqe(p->loop);
		io_uring_prep_timeout(sqe, &p->backoff, 0, 0);
		loop_sqe_set_op(sqe, &p->backoff_op);
		return;
	} else if (res != -EINTR && res != -ECONNABORTED) {
		log_warn_limited("portal %s: accept: %s", p->cp.text, strerror(-res));
	}
	portal_arm(p);
}

static int portal_listen(const struct config_portal *cp)
{
	int fd = socket(cp->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] and 0.0.0.0 are separate portals: keep the v6 one v6-only. */
	if (cp->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&cp->addr, cp->addrlen) < 0 || listen(fd, 128) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Listens on cp; -EAFNOSUPPORT when the host lacks its family. */
static int portal_start(const struct config_portal *cp)
{
	int fd = portal_listen(cp);
	if (fd == -EAFNOSUPPORT)
		return fd;
	if (fd < 0) {
		log_error("portal %s: cannot listen: %s", cp->text, strerror(-fd));
		return fd;
	}
	struct portal *p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	*p = (struct portal){ .fd = fd, .loop = portal_loop, .host = portal_host, .cp = *cp, .next = portals };
	p->op.cb = on_accept;
	p->backoff_op.cb = on_backoff;
	portals = p;
	portal_arm(p);
	log_info("portal %s: listening", cp->text);
	return 0;
}

int portals_open(const struct lunar_config *cfg, struct loop *loop, const struct iscsi_host *host)
{
	portal_loop = loop;
	portal_host = host;
	size_t open = 0;
	for (size_t i = 0; i < cfg->nportals; i++) {
		int ret = portal_start(&cfg->portals[i]);
		if (ret == -EAFNOSUPPORT) {
			/* IPv6 switched off on this host: the other portals still serve. */
			log_warn("portal %s: address family not supported here, skipped", cfg->portals[i].text);
			continue;
		}
		if (ret < 0)
			return ret;
		open++;
	}
	if (open == 0) {
		log_error("no portal to listen on");
		return -EADDRNOTAVAIL;
	}
	return 0;
}

int portals_add(const struct config_portal *cp)
{
	int ret = portal_start(cp);
	if (ret == -EAFNOSUPPORT) {
		/* As at start: the other portals serve. */
		log_warn("portal %s: address family not supported here, skipped", cp->text);
		return 0;
	}
	return ret;
}

static void portal_stop(struct portal *p)
{
	p->closing = true;
	/* Ends the accept in flight; its completion sees 'closing'. */
	shutdown(p->fd, SHUT_RDWR);
	close(p->fd);
}

int portals_remove(const struct config_portal *cp)
{
	for (struct portal *p = portals; p; p = p->next) {
		if (!p->closing && p->cp.addrlen == cp->addrlen && memcmp(&p->cp.addr, &cp->addr, cp->addrlen) == 0) {
			portal_stop(p);
			log_info("portal %s: closed", cp->text);
			return 0;
		}
	}
	/* Skipped when it was added (its family unsupported here). */
	return 0;
}

void portals_close(void)
{
	for (struct portal *p = portals; p; p = p->next)
		if (!p->closing)
			portal_stop(p);
}
