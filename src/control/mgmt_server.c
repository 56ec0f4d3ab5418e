/* The management socket on the control loop: accept with the peer's
 * credentials checked, newline-delimited requests read into a bounded
 * buffer, answers written back, every wait an io_uring operation. */
#include "control/mgmt_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macros.h"

/* The first read's room; the buffer doubles up to one request and its
 * newline. */
#define CLIENT_RX_START 4096
/* Supplementary groups looked at for the configured group. */
#define PEER_GROUPS_MAX 64

struct mgmt_client {
	struct mgmt_client *prev, *next;
	int fd;
	struct loop_op rx_op, tx_op;
	struct __kernel_timespec rx_idle, tx_idle; /* linked to each receive and send */
	char *in;                   /* received, not yet handled */
	size_t in_len, in_cap;
	char *out;                  /* the answer being sent */
	size_t out_len, out_sent;
	unsigned refs;              /* SQEs in flight, the request being handled, one while open */
	bool rx_busy, tx_busy;
	bool busy;                  /* a request is being handled */
	bool in_handle;             /* inside mgmt_rpc_handle: its answer needs no restart */
	bool close_after_tx;
	bool closed;
};

static struct {
	int fd;
	struct loop *loop;
	struct loop_op accept_op;
	struct mgmt_server_options opt;
	const struct mgmt_methods *methods;
	struct mgmt_client *clients;
	unsigned nclients;
	bool stopping;
} srv = { .fd = -1 };

static void client_process(struct mgmt_client *c);

static void client_put(struct mgmt_client *c)
{
	if (--c->refs)
		return;
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv.nclients--;
	free(c->in);
	free(c->out);
	free(c);
}

/* Stops the client; it is freed once nothing in flight holds it. The
 * shutdown ends a receive or send the kernel is still waiting on. */
static void client_close(struct mgmt_client *c)
{
	if (c->closed)
		return;
	c->closed = true;
	shutdown(c->fd, SHUT_RDWR);
	client_put(c);
}

/* A receive or send that waits longer than the idle time fails with
 * -ECANCELED: the client went quiet, or stopped reading. */
static void link_idle(struct mgmt_client *c, struct io_uring_sqe *sqe, struct __kernel_timespec *ts)
{
	sqe->flags |= IOSQE_IO_LINK;
	*ts = (struct __kernel_timespec){ .tv_sec = MGMT_IDLE_S };
	struct io_uring_sqe *tsqe = loop_get_sqe(srv.loop);
	io_uring_prep_link_timeout(tsqe, ts, 0);
	loop_sqe_set_op(tsqe, NULL);
}

static void client_arm_rx(struct mgmt_client *c)
{
	if (c->in_cap - c->in_len < CLIENT_RX_START / 2 && c->in_cap < MGMT_REQUEST_MAX + 1) {
		size_t cap = min_u64((uint64_t)c->in_cap * 2, MGMT_REQUEST_MAX + 1);
		char *in = realloc(c->in, cap);
		if (!in) {
			log_warn_limited("management socket: out of memory for a request");
			client_close(c);
			return;
		}
		c->in = in;
		c->in_cap = cap;
	}
	loop_reserve(srv.loop, 2);
	struct io_uring_sqe *sqe = loop_get_sqe(srv.loop);
	io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	loop_sqe_set_op(sqe, &c->rx_op);
	link_idle(c, sqe, &c->rx_idle);
	c->rx_busy = true;
	c->refs++;
}

static void client_arm_tx(struct mgmt_client *c)
{
	loop_reserve(srv.loop, 2);
	struct io_uring_sqe *sqe = loop_get_sqe(srv.loop);
	io_uring_prep_send(sqe, c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
	loop_sqe_set_op(sqe, &c->tx_op);
	link_idle(c, sqe, &c->tx_idle);
	c->tx_busy = true;
	c->refs++;
}

/* Queues text (malloc'd, taken) as the answer to send. */
static void client_send(struct mgmt_client *c, char *text)
{
	if (c->closed) {
		free(text);
		return;
	}
	c->out = text;
	c->out_len = strlen(text);
	c->out_sent = 0;
	client_arm_tx(c);
}

static void on_reply(void *arg, char *text)
{
	struct mgmt_client *c = arg;
	c->busy = false;
	if (text)
		client_send(c, text);
	else if (!c->in_handle && !c->closed)
		client_process(c);
	client_put(c);
}

static void on_tx(struct loop_op *op, int res)
{
	struct mgmt_client *c = container_of(op, struct mgmt_client, tx_op);
	c->tx_busy = false;
	if (res <= 0 || c->closed) {
		client_close(c);
	} else if ((c->out_sent += (size_t)res) < c->out_len) {
		client_arm_tx(c);
	} else {
		free(c->out);
		c->out = NULL;
		if (c->close_after_tx)
			client_close(c);
		else
			client_process(c);
	}
	client_put(c);
}

/* Handles the complete lines received, one request at a time: the next
 * waits until the answer to this one has been sent, so a client that
 * does not read cannot make lunard hold more than one answer. */
static void client_process(struct mgmt_client *c)
{
	while (!c->busy && !c->tx_busy && !c->closed) {
		char *nl = memchr(c->in, '\n', c->in_len);
		if (!nl) {
			if (c->in_len > MGMT_REQUEST_MAX) {
				c->close_after_tx = true;
				client_send(c, mgmt_rpc_error_text(MGMT_ERR_TOO_LARGE, "request too large (over 1 MiB)"));
				if (!c->tx_busy)
					client_close(c);
			} else if (!c->rx_busy) {
				client_arm_rx(c);
			}
			return;
		}
		size_t line = (size_t)(nl - c->in);
		if (strspn(c->in, " \t\r") < line) {
			c->busy = true;
			c->in_handle = true;
			c->refs++;
			mgmt_rpc_handle(srv.methods, c->in, line, on_reply, c);
			c->in_handle = false;
		}
		c->in_len -= line + 1;
		memmove(c->in, nl + 1, c->in_len);
	}
}

static void on_rx(struct loop_op *op, int res)
{
	struct mgmt_client *c = container_of(op, struct mgmt_client, rx_op);
	c->rx_busy = false;
	/* 0: the client closed; -ECANCELED: idle too long */
	if (res <= 0 || c->closed) {
		client_close(c);
	} else {
		c->in_len += (size_t)res;
		client_process(c);
	}
	client_put(c);
}

static bool peer_in_group(int fd, gid_t primary)
{
	if (primary == srv.opt.gid)
		return true;
	gid_t groups[PEER_GROUPS_MAX];
	socklen_t len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == srv.opt.gid)
			return true;
	return false;
}

/* Who may manage lunard: root, lunard's own user, and the configured
 * group's members (docs/MANAGEMENT.md "Permissions"). */
static const char *peer_refused(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return "permission denied: no peer credentials";
	if (cred.uid == 0 || cred.uid == geteuid() || (srv.opt.has_group && peer_in_group(fd, cred.gid)))
		return NULL;
	log_warn_limited("management socket: refused uid %u gid %u (pid %d)", (unsigned)cred.uid,
			 (unsigned)cred.gid, (int)cred.pid);
	return "permission denied";
}

/* One error line to a client that is not served, without waiting: a new
 * socket's send buffer has room for it. */
static void refuse(int fd, int code, const char *why)
{
	char *text = mgmt_rpc_error_text(code, why);
	if (text && send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("management socket: refusal not sent: %s", strerror(errno));
	free(text);
	close(fd);
}

static void client_start(int fd)
{
	const char *why = peer_refused(fd);
	if (why) {
		refuse(fd, MGMT_ERR_PERMISSION, why);
		return;
	}
	if (srv.nclients >= MGMT_CLIENTS_MAX) {
		log_warn_limited("management socket: %d clients already, one refused", MGMT_CLIENTS_MAX);
		refuse(fd, MGMT_ERR_UNAVAILABLE, "too many management clients");
		return;
	}
	struct mgmt_client *c = calloc(1, sizeof(*c));
	char *in = malloc(CLIENT_RX_START);
	if (!c || !in) {
		free(c);
		free(in);
		refuse(fd, MGMT_ERR_INTERNAL, "out of memory");
		return;
	}
	*c = (struct mgmt_client){ .fd = fd, .in = in, .in_cap = CLIENT_RX_START, .refs = 1, .next = srv.clients };
	c->rx_op.cb = on_rx;
	c->tx_op.cb = on_tx;
	if (srv.clients)
		srv.clients->prev = c;
	srv.clients = c;
	srv.nclients++;
	client_arm_rx(c);
}

static void accept_arm(void)
{
	struct io_uring_sqe *sqe = loop_get_sqe(srv.loop);
	io_uring_prep_accept(sqe, srv.fd, NULL, NULL, SOCK_CLOEXEC);
	loop_sqe_set_op(sqe, &srv.accept_op);
}

static void on_accept(struct loop_op *op, int res)
{
	if (srv.stopping)
		return;
	if (res >= 0)
		client_start(res);
	else if (res != -EINTR && res != -ECONNABORTED)
		log_warn_limited("management socket: accept: %s", strerror(-res));
	/* Out of descriptors: the next client's accept fails the same way, at
	 * the pace clients come, and the control loop goes on. */
	accept_arm();
}

/* mkdir -p of path's directory, each new one 0755. */
static int make_parents(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	int ret = 0;
	for (char *p = strchr(dir + 1, '/'); p && ret == 0; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			ret = -errno;
		*p = '/';
	}
	free(dir);
	return ret;
}

/* A socket file left by a lunard that died: removed when nothing answers
 * on it. Anything else at path is left alone. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN ? -EADDRINUSE : 0;
	close(fd);
	if (ret == 0 && unlink(sa->sun_path) < 0)
		ret = -errno;
	return ret;
}

static int server_listen(const struct mgmt_server_options *o)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(o->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, o->path);
	int ret = make_parents(o->path);
	if (ret == 0)
		ret = clear_stale(&sa);
	if (ret < 0)
		return ret;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Until the chmod below the file has the umask's mode; connecting
	 * needs write permission, which that gives no one but lunard's user,
	 * and credentials are checked at accept anyway. */
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(o->path, o->mode) < 0 ||
	    (o->has_group && chown(o->path, (uid_t)-1, o->gid) < 0) || listen(fd, MGMT_CLIENTS_MAX) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int mgmt_server_start(struct loop *loop, const struct mgmt_server_options *o, const struct mgmt_methods *methods)
{
	int fd = server_listen(o);
	if (fd < 0) {
		log_error("management socket %s: %s", o->path,
			  fd == -EADDRINUSE ? "another lunard answers on it"
			  : fd == -EEXIST ? "exists and is not a socket" : strerror(-fd));
		return fd;
	}
	srv.fd = fd;
	srv.stopping = false;
	srv.loop = loop;
	srv.opt = *o;
	srv.methods = methods;
	srv.accept_op.cb = on_accept;
	accept_arm();
	log_info("management socket %s: listening", o->path);
	return 0;
}

void mgmt_server_stop(void)
{
	if (srv.fd < 0)
		return;
	srv.stopping = true;
	close(srv.fd);
	srv.fd = -1;
	unlink(srv.opt.path);
	/* The loop has stopped: nothing in flight will complete any more. */
	while (srv.clients) {
		struct mgmt_client *c = srv.clients;
		c->refs = 1;
		client_put(c);
	}
}
