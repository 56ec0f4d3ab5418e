/* Portal groups in the target registry (targets.c): which group a
 * connection's local address is in, which targets a group serves, the
 * SendTargets answer and each target's SCSI ports; and per-target iSCSI
 * limits. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/targets.h"
#include "util/log.h"

#define T_ONE "iqn.2026-11.org.lunar:one"
#define T_ALL "iqn.2026-11.org.lunar:all"
#define LUN "luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } );"
#define INITIATOR "iqn.2026-11.org.test:host"

static const char doc[] =
	"portal_groups = ( { tag = 1; portals = [ \"127.0.0.1:3260\" ]; },\n"
	"                  { tag = 2; portals = [ \"127.0.0.2:3260\", \"[::]:3261\" ]; } );\n"
	"targets = ( { name = \"" T_ONE "\"; open = true; portal_groups = [ 1 ]; " LUN
	"              iscsi = { max_burst_length = 131072; }; },\n"
	"            { name = \"" T_ALL "\"; open = true; " LUN " } );\n";

static struct lunar_config cfg, moved;

static int setup(void **state)
{
	log_set_level(LL_ERROR);
	char err[256];
	if (config_load_string(doc, "test.conf", &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(targets_build(&cfg), 0);
	memset(&moved, 0, sizeof(moved));
	return 0;
}

static int teardown(void **state)
{
	targets_free();
	config_free(&cfg);
	config_free(&moved);
	return 0;
}

static struct sockaddr_storage v4(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, addr, &in->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &in6->sin6_addr);
	return ss;
}

static void local_address_gives_the_group(void **state)
{
	struct sockaddr_storage a = v4("127.0.0.1", 3260), b = v4("127.0.0.2", 3260);
	struct sockaddr_storage c = v6("::1", 3261), none = v4("127.0.0.1", 3999);
	assert_int_equal(targets_portal_tag(&a), 1);
	assert_int_equal(targets_portal_tag(&b), 2);
	/* through the wildcard [::]:3261 */
	assert_int_equal(targets_portal_tag(&c), 2);
	assert_int_equal(targets_portal_tag(&none), 0);
}

static void targets_are_on_their_groups_only(void **state)
{
	struct lunar_target *one = targets_get(T_ONE), *all = targets_get(T_ALL);
	assert_true(targets_on_portal(one, 1));
	assert_false(targets_on_portal(one, 2));
	assert_true(targets_on_portal(all, 1));
	assert_true(targets_on_portal(all, 2));
	assert_false(targets_on_portal(all, 0));
	targets_put(one);
	targets_put(all);
}

static void each_group_is_a_scsi_port(void **state)
{
	struct lunar_target *one = targets_get(T_ONE), *all = targets_get(T_ALL);
	assert_int_equal(one->scsi.nports, 1);
	assert_int_equal(one->scsi.ports[0], 1);
	assert_int_equal(all->scsi.nports, 2);
	assert_int_equal(all->scsi.ports[0], 1);
	assert_int_equal(all->scsi.ports[1], 2);
	targets_put(one);
	targets_put(all);
}

/* The pairs of a SendTargets answer, "K=V" joined with "|". */
static const char *sendtargets(void)
{
	static char out[4096], joined[4096];
	int n = targets_sendtargets("All", INITIATOR, NULL, out, sizeof(out));
	assert_true(n > 0);
	joined[0] = '\0';
	for (int at = 0; at < n; at += (int)strlen(out + at) + 1) {
		/* a wildcard portal lists this host's addresses: leave them out */
		if (strstr(out + at, ":3261,"))
			continue;
		snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", joined[0] ? "|" : "",
			 out + at);
	}
	return joined;
}

static void sendtargets_lists_each_target_at_its_groups_portals(void **state)
{
	assert_string_equal(sendtargets(), "TargetName=" T_ONE "|TargetAddress=127.0.0.1:3260,1|"
					   "TargetName=" T_ALL "|TargetAddress=127.0.0.1:3260,1|"
					   "TargetAddress=127.0.0.2:3260,2");
}

static void reconfigure_moves_ports_and_answers(void **state)
{
	char err[256];
	char text[2048];
	snprintf(text, sizeof(text), "%s", doc);
	char *at = strstr(text, "portal_groups = [ 1 ]");
	assert_non_null(at);
	at[18] = '2';
	if (config_load_string(text, "moved.conf", &moved, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	targets_reconfigure(&moved);
	struct lunar_target *one = targets_get(T_ONE);
	assert_int_equal(one->scsi.nports, 1);
	assert_int_equal(one->scsi.ports[0], 2);
	assert_false(targets_on_portal(one, 1));
	assert_true(targets_on_portal(one, 2));
	targets_put(one);
	assert_string_equal(sendtargets(), "TargetName=" T_ONE "|TargetAddress=127.0.0.2:3260,2|"
					   "TargetName=" T_ALL "|TargetAddress=127.0.0.1:3260,1|"
					   "TargetAddress=127.0.0.2:3260,2");
	/* the registry reads the configuration it was given last */
	targets_reconfigure(&cfg);
}

static void a_target_s_own_limits(void **state)
{
	struct iscsi_target_limits l;
	assert_true(targets_limits(T_ONE, &l));
	assert_int_equal(l.max_burst, 131072);
	assert_int_equal(l.max_recv_dsl, cfg.limits.max_recv_dsl);
	assert_false(targets_limits(T_ALL, &l));
	assert_false(targets_limits("iqn.2026-11.org.lunar:none", &l));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(local_address_gives_the_group),
		T(targets_are_on_their_groups_only),
		T(each_group_is_a_scsi_port),
		T(sendtargets_lists_each_target_at_its_groups_portals),
		T(reconfigure_moves_ports_and_answers),
		T(a_target_s_own_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
