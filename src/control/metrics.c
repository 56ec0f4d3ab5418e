/* Each scrape takes snapshots (scsi_stats_snapshot, iscsi_stats_read):
 * counters are read with relaxed loads, and the only lock it takes is the
 * stats registry's, which no data-plane loop ever waits for, so a scrape
 * never slows the data path down. libmicrohttpd serves from one thread of
 * its own with a few connections at a time. */
#include "control/metrics.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "control/metrics_text.h"
#include "util/log.h"

/* Enough for thousands of sessions; a scrape past it answers 500. */
#define METRICS_MAX_BYTES (64u << 20)
#define METRICS_MAX_CONNECTIONS 8
#define METRICS_TIMEOUT_S 10

static struct MHD_Daemon *server;
static struct loop *const *poll_loops;
static unsigned poll_nloops;

void metrics_set_loops(struct loop *const *loops, unsigned n)
{
	poll_loops = loops;
	poll_nloops = n;
}

static void read_polls(struct loop_poll_stats *sum)
{
	*sum = (struct loop_poll_stats){ 0 };
	for (unsigned i = 0; i < poll_nloops; i++) {
		struct loop_poll_stats one;
		loop_read_poll_stats(poll_loops[i], &one);
		sum->found += one.found;
		sum->missed += one.missed;
		sum->ns += one.ns;
	}
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result scrape(struct MHD_Connection *c)
{
	struct scsi_stats_snapshot snap;
	struct iscsi_stats_totals totals;
	if (scsi_stats_snapshot(&snap) < 0)
		return answer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	iscsi_stats_read(&totals);
	struct loop_poll_stats polls;
	read_polls(&polls);
	size_t len = 0;
	char *text = metrics_text(&snap, &totals, &polls, METRICS_MAX_BYTES, &len);
	scsi_stats_snapshot_free(&snap);
	if (!text) {
		log_warn_limited("metrics: the exposition does not fit %u MiB or memory ran out",
				 METRICS_MAX_BYTES >> 20);
		return answer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(url, "/metrics") != 0)
		return answer(c, MHD_HTTP_NOT_FOUND, "not found: lunard serves /metrics only\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	return scrape(c);
}

int metrics_start(const struct config_metrics *m)
{
	if (!m->enabled)
		return 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	if (m->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	server = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
				  MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&m->addr,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!server) {
		log_error("metrics: cannot listen on %s", m->text);
		return -1;
	}
	log_info("metrics: serving http://%s/metrics", m->text);
	return 0;
}

void metrics_stop(void)
{
	if (server)
		MHD_stop_daemon(server);
	server = NULL;
}
