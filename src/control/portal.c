#include "control/portal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macros.h"

struct portal {
	int fd;
	struct loop_op op;
	struct loop *loop;
	const struct iscsi_host *host;
	const char *text;
	bool closing;
};

static struct portal *portals;
static size_t nportals;

static void portal_arm(struct portal *p)
{
	struct io_uring_sqe *sqe = loop_get_sqe(p->loop);
	io_uring_prep_accept(sqe, p->fd, NULL, NULL, SOCK_CLOEXEC);
	loop_sqe_set_op(sqe, &p->op);
}

static void on_accept(struct loop_op *op, int res)
{
	struct portal *p = container_of(op, struct portal, op);
	if (p->closing)
		return;
	if (res >= 0)
		iscsi_conn_start(res, p->loop, p->host);
	else if (res != -EINTR && res != -ECONNABORTED)
		log_warn("portal %s: accept: %s", p->text, strerror(-res));
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

int portals_open(const struct lunar_config *cfg, struct loop *loop, const struct iscsi_host *host)
{
	portals = calloc(cfg->nportals ? cfg->nportals : 1, sizeof(*portals));
	if (!portals)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nportals; i++) {
		const struct config_portal *cp = &cfg->portals[i];
		int fd = portal_listen(cp);
		if (fd == -EAFNOSUPPORT) {
			/* IPv6 switched off on this host: the other portals still serve. */
			log_warn("portal %s: address family not supported here, skipped", cp->text);
			continue;
		}
		if (fd < 0) {
			log_error("portal %s: cannot listen: %s", cp->text, strerror(-fd));
			return fd;
		}
		struct portal *p = &portals[nportals++];
		*p = (struct portal){ .fd = fd, .loop = loop, .host = host, .text = cp->text };
		p->op.cb = on_accept;
		portal_arm(p);
		log_info("portal %s: listening", cp->text);
	}
	if (nportals == 0) {
		log_error("no portal to listen on");
		return -EADDRNOTAVAIL;
	}
	return 0;
}

void portals_close(void)
{
	for (size_t i = 0; i < nportals; i++) {
		portals[i].closing = true;
		/* Ends the accept in flight; its completion sees 'closing'. */
		shutdown(portals[i].fd, SHUT_RDWR);
		close(portals[i].fd);
	}
}
