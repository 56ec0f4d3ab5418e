/* lunarctl: lunard's management CLI. Each NOUN VERB is one JSON-RPC call
 * on the management socket (docs/MANAGEMENT.md); the answer is shown as an
 * aligned table, or as the raw result with --json. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_args.h"
#include "cli/cli_client.h"
#include "cli/cli_table.h"

#define DEFAULT_SOCKET "/run/lunar/lunar.sock"

/* ---- rendering ---- */

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A number or boolean of o as text, in buf. */
static const char *num(json_t *o, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		return NULL;
	return buf;
}

/* Bytes in binary units, as the config writes sizes: 10G, 512M, 1.5T. */
static const char *size_text(json_t *v, char *buf, size_t len)
{
	if (!json_is_integer(v))
		return NULL;
	static const char units[] = "KMGTPE";
	double n = (double)json_integer_value(v);
	int u = -1;
	while (n >= 1024 && u < 5) {
		n /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (n == (double)(long long)n)
		snprintf(buf, len, "%lld%c", (long long)n, units[u]);
	else
		snprintf(buf, len, "%.1f%c", n, units[u]);
	return buf;
}

static void render_changes(json_t *r, FILE *out)
{
	json_t *changes = json_object_get(r, "changes");
	size_t i;
	json_t *c;
	if (json_array_size(changes) == 0)
		fprintf(out, "no change\n");
	json_array_foreach(changes, i, c)
		fprintf(out, "%s\n", json_string_value(c));
}

static void render_status(json_t *r, FILE *out)
{
	const char *key;
	json_t *v;
	json_object_foreach(r, key, v) {
		char buf[64];
		fprintf(out, "%-12s %s\n", key, json_is_string(v) ? json_string_value(v) : num(r, key, buf, sizeof(buf)));
	}
}

/* The strings or numbers of array a, joined with commas, in buf. */
static const char *joined(json_t *a, char *buf, size_t len)
{
	size_t i, at = 0;
	json_t *v;
	buf[0] = '\0';
	json_array_foreach(a, i, v) {
		int w = json_is_integer(v) ? snprintf(buf + at, len - at, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
						      json_integer_value(v))
					   : snprintf(buf + at, len - at, "%s%s", i ? "," : "", json_string_value(v));
		at = w > 0 && (size_t)w < len - at ? at + (size_t)w : at;
	}
	return buf[0] ? buf : NULL;
}

static void render_targets(json_t *r, FILE *out)
{
	static const char *const head[] = { "TARGET", "ALIAS", "ACCESS", "LUNS", "ACL", "CHAP", "GROUPS" };
	struct cli_table *t = cli_table_new(7, head);
	size_t i;
	json_t *e;
	json_array_foreach(r, i, e) {
		char luns[16], acl[16], chap[8], groups[512];
		const char *row[] = { str(e, "name"), str(e, "alias"), str(e, "access"), num(e, "luns", luns, 16),
				      num(e, "acl", acl, 16), num(e, "chap", chap, 8),
				      joined(json_object_get(e, "portal_groups"), groups, sizeof(groups)) };
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
}

static void render_luns(json_t *r, FILE *out)
{
	static const char *const head[] = { "TARGET", "LUN", "BACKEND", "SIZE", "BLOCK", "RO", "ONLINE", "PATH" };
	struct cli_table *t = cli_table_new(8, head);
	size_t i;
	json_t *e;
	json_array_foreach(r, i, e) {
		char lun[8], size[32], block[16], ro[8], online[8];
		const char *row[] = { str(e, "target"), num(e, "lun", lun, 8), str(e, "backend"),
				      size_text(json_object_get(e, "size"), size, 32), num(e, "block_size", block, 16),
				      num(e, "readonly", ro, 8), num(e, "online", online, 8),
				      str(json_object_get(e, "keys"), "path") };
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
}

static void render_acl(json_t *r, FILE *out)
{
	static const char *const head[] = { "INITIATOR", "CHAP_USER", "LUNS" };
	struct cli_table *t = cli_table_new(3, head);
	size_t i;
	json_t *e;
	json_array_foreach(r, i, e) {
		char map[512] = "all, as numbered";
		json_t *luns = json_object_get(e, "luns");
		size_t j, at = 0;
		json_t *m;
		json_array_foreach(luns, j, m) {
			int w = snprintf(map + at, sizeof(map) - at, "%s%" JSON_INTEGER_FORMAT "=%" JSON_INTEGER_FORMAT,
					 j ? "," : "", json_integer_value(json_object_get(m, "lun")),
					 json_integer_value(json_object_get(m, "target_lun")));
			at = w > 0 && (size_t)w < sizeof(map) - at ? at + (size_t)w : at;
		}
		const char *row[] = { str(e, "initiator"), str(e, "chap_user"), map };
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
}

static void render_chap(json_t *r, FILE *out)
{
	static const char *const head[] = { "TARGET", "USERS", "MUTUAL", "REQUIRED" };
	struct cli_table *t = cli_table_new(4, head);
	size_t i;
	json_t *e;
	json_array_foreach(r, i, e) {
		char users[1024] = "", req[8];
		size_t j, at = 0;
		json_t *u;
		json_array_foreach(json_object_get(e, "users"), j, u) {
			int w = snprintf(users + at, sizeof(users) - at, "%s%s", j ? "," : "", json_string_value(u));
			at = w > 0 && (size_t)w < sizeof(users) - at ? at + (size_t)w : at;
		}
		const char *row[] = { str(e, "target"), users[0] ? users : NULL, str(e, "mutual_user"),
				      num(e, "required", req, 8) };
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
}

static void render_portals(json_t *r, FILE *out)
{
	static const char *const head[] = { "PORTAL", "GROUP" };
	struct cli_table *t = cli_table_new(2, head);
	size_t i;
	json_t *e;
	json_array_foreach(r, i, e) {
		char group[8];
		const char *row[] = { str(e, "address"), num(e, "group", group, sizeof(group)) };
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
}

static void render_portal_groups(json_t *r, FILE *out)
{
	static const char *const head[] = { "GROUP", "PORTALS", "TARGETS" };
	struct cli_table *t = cli_table_new(3, head);
	size_t i;
	json_t *e;
	json_array_foreach(r, i, e) {
		char tag[8], portals[1024], targets[2048];
		const char *row[] = { num(e, "tag", tag, sizeof(tag)),
				      joined(json_object_get(e, "portals"), portals, sizeof(portals)),
				      joined(json_object_get(e, "targets"), targets, sizeof(targets)) };
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
}

static void render_params(json_t *r, FILE *out)
{
	static const char *const head[] = { "GROUP", "KEY", "VALUE" };
	struct cli_table *t = cli_table_new(3, head);
	char buf[32];
	if (json_object_get(r, "key")) {
		const char *row[] = { str(r, "group"), str(r, "key"), num(r, "value", buf, sizeof(buf)) };
		cli_table_row(t, row);
	}
	static const char *const groups[] = { "iscsi", "limits" };
	for (size_t g = 0; g < 2; g++) {
		json_t *grp = json_object_get(r, groups[g]);
		const char *key;
		json_t *v;
		json_object_foreach(grp, key, v) {
			const char *row[] = { groups[g], key, num(grp, key, buf, sizeof(buf)) };
			cli_table_row(t, row);
		}
	}
	cli_table_print(t, out);
}

static void render_sessions(json_t *r, FILE *out)
{
	static const char *const head[] = { "TSIH", "ISID", "INITIATOR", "ADDRESS", "TARGET", "CIDS", "ACTIVE" };
	struct cli_table *t = cli_table_new(7, head);
	size_t i;
	json_t *e;
	json_array_foreach(r, i, e) {
		char tsih[8], active[16], cids[64] = "", addr[80] = "";
		size_t j, at = 0;
		json_t *c;
		json_array_foreach(json_object_get(e, "connections"), j, c) {
			int w = snprintf(cids + at, sizeof(cids) - at, "%s%" JSON_INTEGER_FORMAT, j ? "," : "",
					 json_integer_value(json_object_get(c, "cid")));
			at = w > 0 && (size_t)w < sizeof(cids) - at ? at + (size_t)w : at;
			if (j == 0)
				snprintf(addr, sizeof(addr), "%s", str(c, "address"));
		}
		const char *target = str(e, "target");
		const char *row[] = { num(e, "tsih", tsih, 8), str(e, "isid"), str(e, "initiator"), addr,
				      target ? target : "(discovery)", cids, num(e, "active", active, 16) };
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
}

/* A number of o with one decimal, for latencies. */
static const char *dec(json_t *o, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		return NULL;
	snprintf(buf, len, "%.1f", json_number_value(v));
	return buf;
}

/* One row of I/O counters after the identity columns that precede it. */
enum { STATS_IO_COLS = 8 };
static void stats_io_cells(json_t *e, const char **row, char (*buf)[24])
{
	static const char *const keys[STATS_IO_COLS] = { "reads", "writes", "bytes_read", "bytes_written",
							 "check_conditions", "in_flight", "latency_p50_us",
							 "latency_p99_us" };
	for (unsigned k = 0; k < STATS_IO_COLS; k++) {
		if (strncmp(keys[k], "bytes", 5) == 0)
			row[k] = size_text(json_object_get(e, keys[k]), buf[k], sizeof(buf[k]));
		else if (strncmp(keys[k], "latency", 7) == 0)
			row[k] = dec(e, keys[k], buf[k], sizeof(buf[k]));
		else
			row[k] = num(e, keys[k], buf[k], sizeof(buf[k]));
	}
}

static void render_stats(json_t *r, FILE *out)
{
	json_t *tr = json_object_get(r, "transport"), *fail = json_object_get(tr, "login_failures");
	json_int_t failed = 0;
	const char *why;
	json_t *n;
	json_object_foreach(fail, why, n)
		failed += json_integer_value(n);
	fprintf(out, "sessions %" JSON_INTEGER_FORMAT ", connections %" JSON_INTEGER_FORMAT
		", logins %" JSON_INTEGER_FORMAT ", failed logins %" JSON_INTEGER_FORMAT
		" (authentication %" JSON_INTEGER_FORMAT ")\n\n",
		json_integer_value(json_object_get(tr, "sessions")),
		json_integer_value(json_object_get(tr, "connections")),
		json_integer_value(json_object_get(tr, "logins")), failed,
		json_integer_value(json_object_get(fail, "authentication")));
	static const char *const lun_head[] = { "TARGET", "LUN", "READS", "WRITES", "READ", "WRITTEN",
						"ERRORS", "QUEUED", "P50_US", "P99_US" };
	struct cli_table *t = cli_table_new(2 + STATS_IO_COLS, lun_head);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(r, "luns"), i, e) {
		char lun[8], cells[STATS_IO_COLS][24];
		const char *row[2 + STATS_IO_COLS] = { str(e, "target"), num(e, "lun", lun, 8) };
		stats_io_cells(e, row + 2, cells);
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
	json_t *sessions = json_object_get(r, "sessions");
	if (json_array_size(sessions) == 0)
		return;
	static const char *const s_head[] = { "TARGET", "INITIATOR", "ISID", "READS", "WRITES", "READ",
					      "WRITTEN", "ERRORS", "QUEUED", "P50_US", "P99_US" };
	fputc('\n', out);
	t = cli_table_new(3 + STATS_IO_COLS, s_head);
	json_array_foreach(sessions, i, e) {
		char cells[STATS_IO_COLS][24];
		const char *row[3 + STATS_IO_COLS] = { str(e, "target"), str(e, "initiator"), str(e, "isid") };
		stats_io_cells(e, row + 3, cells);
		cli_table_row(t, row);
	}
	cli_table_print(t, out);
}

static void render_export(json_t *r, FILE *out)
{
	fputs(str(r, "text"), out);
}

static void render_json(json_t *r, FILE *out)
{
	char *text = json_dumps(r, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fprintf(out, "%s\n", text ? text : "");
	free(text);
}

/* ---- the commands ---- */

#define LUN_OPTS(in) \
	{ "backend", "backend", CLI_STR, in }, { "path", "path", CLI_STR, in }, \
	{ "size", "size", CLI_SIZE, in }, { "block-size", "block_size", CLI_UINT, in }, \
	{ "readonly", "readonly", CLI_TRUE, in }, { "direct", "direct", CLI_TRUE, in }, \
	{ "thin", "thin", CLI_TRUE, in }, { "no-thin", "thin", CLI_FALSE, in }, \
	{ "serial", "serial", CLI_STR, in }, { "set", "", CLI_SET, in }

static const struct cli_cmd commands[] = {
	{ "status", "", "daemon.status", "version, uptime, threads and counts", .render = render_status },
	{ "target", "list", "target.list", "every target, who may log in, LUN and acl counts",
	  .render = render_targets },
	{ "target", "create", "target.create",
	  "a new target with its first LUN (--backend ...); --open lets any initiator in",
	  .pos = { { "NAME", "name", CLI_STR } },
	  .opt = { { "alias", "alias", CLI_STR }, { "open", "open", CLI_TRUE }, LUN_OPTS(true) },
	  .render = render_changes },
	{ "target", "delete", "target.delete", "remove a target; --force even with sessions logged in",
	  .pos = { { "NAME", "name", CLI_STR } }, .opt = { { "force", "force", CLI_TRUE } }, .render = render_changes },
	{ "target", "set", "target.set",
	  "change alias, access or portal groups (--alias \"\" removes the alias; --portal-groups all)",
	  .pos = { { "NAME", "name", CLI_STR } },
	  .opt = { { "alias", "alias", CLI_STR }, { "open", "open", CLI_TRUE }, { "closed", "open", CLI_FALSE },
		   { "portal-groups", "portal_groups", CLI_LIST } },
	  .render = render_changes },
	{ "lun", "list", "lun.list", "LUNs of every target, or of one", .pos = { { "TARGET", "target", CLI_STR, true } },
	  .render = render_luns },
	{ "lun", "create", "lun.create",
	  "a new LUN (lowest free number unless --lun); --set KEY=VALUE for any backend key",
	  .pos = { { "TARGET", "target", CLI_STR } }, .opt = { { "lun", "lun", CLI_UINT }, LUN_OPTS(false) },
	  .render = render_changes },
	{ "lun", "delete", "lun.delete", "remove a LUN; --force even while sessions use it",
	  .pos = { { "TARGET", "target", CLI_STR }, { "LUN", "lun", CLI_UINT } },
	  .opt = { { "force", "force", CLI_TRUE } }, .render = render_changes },
	{ "lun", "resize", "lun.resize", "grow a LUN (initiators get CAPACITY DATA HAS CHANGED)",
	  .pos = { { "TARGET", "target", CLI_STR }, { "LUN", "lun", CLI_UINT }, { "SIZE", "size", CLI_SIZE } },
	  .render = render_changes },
	{ "acl", "list", "acl.list", "initiators allowed into a target", .pos = { { "TARGET", "target", CLI_STR } },
	  .render = render_acl },
	{ "acl", "add", "acl.add", "allow an initiator; --map shows target LUN M as its LUN N",
	  .pos = { { "TARGET", "target", CLI_STR }, { "INITIATOR", "initiator", CLI_STR } },
	  .opt = { { "chap-user", "chap_user", CLI_STR }, { "map", "luns", CLI_MAP } }, .render = render_changes },
	{ "acl", "remove", "acl.remove", "take an initiator off the list",
	  .pos = { { "TARGET", "target", CLI_STR }, { "INITIATOR", "initiator", CLI_STR } }, .render = render_changes },
	{ "chap", "list", "chap.list", "CHAP user names (never secrets)", .pos = { { "TARGET", "target", CLI_STR, true } },
	  .render = render_chap },
	{ "chap", "add", "chap.add", "a CHAP account; the secret from --secret-file or standard input",
	  .pos = { { "TARGET", "target", CLI_STR }, { "USER", "user", CLI_STR } },
	  .opt = { { "discovery", "discovery", CLI_TRUE }, { "secret-file", "secret", CLI_FILE } },
	  .discovery_or_target = true, .secret_key = "secret", .render = render_changes },
	{ "chap", "remove", "chap.remove", "remove a CHAP account",
	  .pos = { { "TARGET", "target", CLI_STR }, { "USER", "user", CLI_STR } },
	  .opt = { { "discovery", "discovery", CLI_TRUE } }, .discovery_or_target = true, .render = render_changes },
	{ "chap", "mutual-set", "chap.mutual.set", "the target's own account for mutual CHAP",
	  .pos = { { "TARGET", "target", CLI_STR }, { "USER", "user", CLI_STR } },
	  .opt = { { "discovery", "discovery", CLI_TRUE }, { "secret-file", "secret", CLI_FILE } },
	  .discovery_or_target = true, .secret_key = "secret", .render = render_changes },
	{ "chap", "mutual-clear", "chap.mutual.clear", "no mutual CHAP", .pos = { { "TARGET", "target", CLI_STR } },
	  .opt = { { "discovery", "discovery", CLI_TRUE } }, .discovery_or_target = true, .render = render_changes },
	{ "portal", "list", "portal.list", "addresses lunard listens on, with their portal groups",
	  .render = render_portals },
	{ "portal", "add", "portal.add", "listen on ADDR:PORT too (in portal group N)",
	  .pos = { { "ADDRESS", "address", CLI_STR } }, .opt = { { "group", "group", CLI_UINT } },
	  .render = render_changes },
	{ "portal", "remove", "portal.remove", "stop listening on ADDR:PORT",
	  .pos = { { "ADDRESS", "address", CLI_STR } }, .render = render_changes },
	{ "portal-group", "list", "portal_group.list", "portal groups: their portals and the targets they serve",
	  .render = render_portal_groups },
	{ "portal-group", "create", "portal_group.create", "a new portal group TAG (1..65535), empty",
	  .pos = { { "TAG", "tag", CLI_UINT } }, .render = render_changes },
	{ "portal-group", "delete", "portal_group.delete", "remove a portal group and close its portals",
	  .pos = { { "TAG", "tag", CLI_UINT } }, .render = render_changes },
	{ "param", "get", "param.get", "iSCSI negotiation limits and peer limits (--target: that target's)",
	  .pos = { { "KEY", "key", CLI_STR, true } }, .opt = { { "target", "target", CLI_STR } },
	  .render = render_params },
	{ "param", "set", "param.set",
	  "set one (docs/CONFIG.md \"iscsi\" and \"limits\"); --target: an iscsi key for that target's logins",
	  .pos = { { "KEY", "key", CLI_STR }, { "VALUE", "value", CLI_VALUE } },
	  .opt = { { "target", "target", CLI_STR } }, .render = render_changes },
	{ "session", "list", "session.list", "sessions: TSIH, ISID, initiator, address, target, connections",
	  .pos = { { "TARGET", "target", CLI_STR, true } }, .render = render_sessions },
	{ "stats", "", "stats.get", "per-target and per-LUN counters",
	  .pos = { { "TARGET", "target", CLI_STR, true }, { "LUN", "lun", CLI_UINT, true } }, .render = render_stats },
	{ "config", "export", "config.export", "the running configuration, as the config file",
	  .render = render_export },
	{ "config", "import", "config.import", "replace the configuration by FILE's (- for stdin), live",
	  .pos = { { "FILE", "text", CLI_STR } }, .opt = { { "force", "force", CLI_TRUE } }, .render = render_changes },
	{ "config", "reload", "config.reload", "re-read the config file (as SIGHUP)", .render = render_changes },
	{ "reload", "", "config.reload", "re-read the config file (as SIGHUP)", .render = render_changes },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out, const char *noun)
{
	if (!noun)
		fprintf(out, "usage: lunarctl [--socket PATH] [--json] NOUN VERB [ARGS]\n"
			     "  --socket PATH  lunard's management socket (default $LUNAR_SOCKET, else %s)\n"
			     "  --json         print lunard's result as JSON\n"
			     "  NOUN --help    the verbs of one noun\n"
			     "exit status: 0 done, 1 refused by lunard, 2 usage, 3 lunard not reachable\n"
			     "commands:\n",
			DEFAULT_SOCKET);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!noun || strcmp(noun, commands[i].noun) == 0)
			cli_args_usage(&commands[i], out);
}

static bool noun_known(const char *noun)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(noun, commands[i].noun) == 0)
			return true;
	return false;
}

static const struct cli_cmd *command_find(const char *noun, const char *verb)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(noun, commands[i].noun) == 0 && strcmp(verb, commands[i].verb) == 0)
			return &commands[i];
	return NULL;
}

/* config import FILE: the file's text goes in the request. */
static int text_of_file(json_t *params)
{
	const char *path = json_string_value(json_object_get(params, "text"));
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!f) {
		perror(path);
		return -1;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	bool failed = ferror(f) || !mem;
	if (mem)
		fclose(mem);
	if (f != stdin)
		fclose(f);
	if (failed) {
		fprintf(stderr, "lunarctl: cannot read %s\n", path);
		free(text);
		return -1;
	}
	json_object_set_new(params, "text", json_string(text));
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = getenv("LUNAR_SOCKET");
	bool raw = false;
	int c;
	/* '+': the options after NOUN VERB are the command's */
	while ((c = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 'h':
			usage(stdout, NULL);
			return CLI_OK;
		case 'V':
			printf("lunarctl %s\n", LUNAR_VERSION);
			return CLI_OK;
		default:
			usage(stderr, NULL);
			return CLI_USAGE;
		}
	}
	if (!socket_path || !socket_path[0])
		socket_path = DEFAULT_SOCKET;
	if (optind == argc) {
		usage(stderr, NULL);
		return CLI_USAGE;
	}
	const char *noun = argv[optind++];
	if (!noun_known(noun)) {
		fprintf(stderr, "lunarctl: no command '%s'\n", noun);
		usage(stderr, NULL);
		return CLI_USAGE;
	}
	const struct cli_cmd *cmd = command_find(noun, "");
	if (!cmd) {
		const char *verb = optind < argc ? argv[optind++] : "";
		if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
			usage(stdout, noun);
			return CLI_OK;
		}
		cmd = command_find(noun, verb);
		if (!cmd) {
			fprintf(stderr, "lunarctl: %s: no verb '%s'\n", noun, verb);
			usage(stderr, noun);
			return CLI_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, noun);
			return CLI_OK;
		}
	json_t *params;
	if (cli_args_parse(cmd, argc - optind, argv + optind, &params) < 0)
		return CLI_USAGE;
	if (strcmp(cmd->method, "config.import") == 0 && text_of_file(params) < 0) {
		json_decref(params);
		return CLI_USAGE;
	}
	json_t *result = NULL;
	enum cli_exit ret = cli_call(socket_path, cmd->method, params, raw, &result);
	if (ret == CLI_OK) {
		if (raw)
			render_json(result, stdout);
		else
			cmd->render(result, stdout);
	}
	json_decref(result);
	return ret;
}
