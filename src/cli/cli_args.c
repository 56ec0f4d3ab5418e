/* Turning a command line into JSON-RPC params by the command's table. */
#include "cli/cli_args.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* RFC 7143 §9.2.1 and the config: CHAP secrets are at most 255 bytes. */
#define SECRET_MAX 255

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static json_t *value_json(enum cli_kind kind, const char *text)
{
	if (kind == CLI_VALUE && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0))
		return json_boolean(text[0] == 't');
	if ((kind == CLI_VALUE || kind == CLI_SIZE || kind == CLI_UINT) && all_digits(text)) {
		errno = 0;
		unsigned long long v = strtoull(text, NULL, 10);
		if (!errno && v <= (unsigned long long)LLONG_MAX)
			return json_integer((json_int_t)v);
	}
	return kind == CLI_UINT ? NULL : json_string(text);
}

/* The first line of f, without its newline; NULL when empty or too long. */
static char *read_secret(FILE *f, const char *from)
{
	char buf[SECRET_MAX + 2];
	if (!fgets(buf, sizeof(buf), f)) {
		fprintf(stderr, "lunarctl: no secret on %s\n", from);
		return NULL;
	}
	size_t len = strcspn(buf, "\r\n");
	if (len > SECRET_MAX || (len == strlen(buf) && !feof(f))) {
		fprintf(stderr, "lunarctl: the secret on %s is longer than %d bytes\n", from, SECRET_MAX);
		return NULL;
	}
	buf[len] = '\0';
	char *s = len ? strdup(buf) : NULL;
	if (!len)
		fprintf(stderr, "lunarctl: empty secret on %s\n", from);
	explicit_bzero(buf, sizeof(buf));
	return s;
}

static char *secret_from_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "lunarctl: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *s = read_secret(f, path);
	fclose(f);
	return s;
}

/* From stdin; on a terminal, asked for without echo. */
static char *secret_from_stdin(void)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "CHAP secret: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *s = read_secret(stdin, "standard input");
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	return s;
}

static int set_secret(json_t *params, const char *key, char *secret)
{
	if (!secret)
		return -1;
	json_object_set_new(params, key, json_string(secret));
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return 0;
}

static const struct cli_opt *opt_find(const struct cli_cmd *cmd, const char *name, size_t len)
{
	for (size_t i = 0; i < CLI_OPT_MAX && cmd->opt[i].name; i++)
		if (strlen(cmd->opt[i].name) == len && strncmp(cmd->opt[i].name, name, len) == 0)
			return &cmd->opt[i];
	return NULL;
}

static bool opt_takes_value(enum cli_kind kind)
{
	return kind != CLI_TRUE && kind != CLI_FALSE;
}

/* "1,2,5" as [1, 2, 5] under o->key of dst; "all" or "" as []. */
static int list_apply(json_t *dst, const struct cli_opt *o, const char *value)
{
	json_t *list = json_array();
	char *copy = strdup(value);
	bool ok = list && copy;
	if (ok && strcmp(copy, "all") != 0) {
		char *save = NULL;
		for (char *item = strtok_r(copy, ",", &save); ok && item; item = strtok_r(NULL, ",", &save)) {
			json_t *v = value_json(CLI_UINT, item);
			ok = v && json_array_append_new(list, v) == 0;
		}
	}
	free(copy);
	if (!ok) {
		fprintf(stderr, "lunarctl: --%s %s: want numbers like 1,2 (or all)\n", o->name, value);
		json_decref(list);
		return -1;
	}
	json_object_set_new(dst, o->key, list);
	return 0;
}

/* Puts value under key of params (or of params.luns[0]). */
static int opt_apply(json_t *params, const struct cli_opt *o, const char *value)
{
	json_t *dst = params;
	if (o->in_lun) {
		json_t *luns = json_object_get(params, "luns");
		if (!luns) {
			luns = json_pack("[{}]");
			json_object_set_new(params, "luns", luns);
		}
		dst = json_array_get(luns, 0);
	}
	switch (o->kind) {
	case CLI_TRUE:
	case CLI_FALSE:
		json_object_set_new(dst, o->key, json_boolean(o->kind == CLI_TRUE));
		return 0;
	case CLI_SET: {
		const char *eq = strchr(value, '=');
		if (!eq || eq == value) {
			fprintf(stderr, "lunarctl: --%s %s: want KEY=VALUE\n", o->name, value);
			return -1;
		}
		char *k = strndup(value, (size_t)(eq - value));
		json_object_set_new(dst, k, value_json(CLI_VALUE, eq + 1));
		free(k);
		return 0;
	}
	case CLI_MAP: {
		unsigned lun, target_lun;
		char tail;
		if (sscanf(value, "%u=%u%c", &lun, &target_lun, &tail) != 2) {
			fprintf(stderr, "lunarctl: --%s %s: want LUN=TARGET_LUN, like 0=2\n", o->name, value);
			return -1;
		}
		json_t *list = json_object_get(dst, o->key);
		if (!list) {
			list = json_array();
			json_object_set_new(dst, o->key, list);
		}
		json_array_append_new(list, json_pack("{s:i, s:i}", "lun", lun, "target_lun", target_lun));
		return 0;
	}
	case CLI_FILE:
		return set_secret(dst, o->key, secret_from_file(value));
	case CLI_LIST:
		return list_apply(dst, o, value);
	default: {
		json_t *v = value_json(o->kind, value);
		if (!v) {
			fprintf(stderr, "lunarctl: --%s %s: want a number\n", o->name, value);
			return -1;
		}
		json_object_set_new(dst, o->key, v);
		return 0;
	}
	}
}

static bool has_discovery(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--discovery") == 0)
			return true;
	return false;
}

int cli_args_parse(const struct cli_cmd *cmd, int argc, char **argv, json_t **params)
{
	json_t *p = json_object();
	size_t npos = cmd->discovery_or_target && has_discovery(argc, argv) ? 1 : 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) == 0 && a[2]) {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct cli_opt *o = opt_find(cmd, name, len);
			if (!o) {
				fprintf(stderr, "lunarctl: %s %s: no option --%.*s\n", cmd->noun, cmd->verb, (int)len, name);
				goto usage;
			}
			const char *value = eq ? eq + 1 : NULL;
			if (opt_takes_value(o->kind) && !value) {
				if (++i == argc) {
					fprintf(stderr, "lunarctl: --%s needs a value\n", o->name);
					goto usage;
				}
				value = argv[i];
			} else if (!opt_takes_value(o->kind) && value) {
				fprintf(stderr, "lunarctl: --%s takes no value\n", o->name);
				goto usage;
			}
			if (opt_apply(p, o, value) < 0)
				goto fail;
			continue;
		}
		if (npos == CLI_POS_MAX || !cmd->pos[npos].meta) {
			fprintf(stderr, "lunarctl: %s %s: unexpected argument '%s'\n", cmd->noun, cmd->verb, a);
			goto usage;
		}
		const struct cli_pos *pos = &cmd->pos[npos++];
		json_t *v = value_json(pos->kind, a);
		if (!v) {
			fprintf(stderr, "lunarctl: %s %s: %s must be a number, not '%s'\n", cmd->noun, cmd->verb,
				pos->meta, a);
			goto usage;
		}
		json_object_set_new(p, pos->key, v);
	}
	for (; npos < CLI_POS_MAX && cmd->pos[npos].meta; npos++)
		if (!cmd->pos[npos].optional) {
			fprintf(stderr, "lunarctl: %s %s: %s missing\n", cmd->noun, cmd->verb, cmd->pos[npos].meta);
			goto usage;
		}
	if (cmd->secret_key && !json_object_get(p, cmd->secret_key) &&
	    set_secret(p, cmd->secret_key, secret_from_stdin()) < 0)
		goto fail;
	*params = p;
	return 0;
usage:
	cli_args_usage(cmd, stderr);
fail:
	json_decref(p);
	return -1;
}

void cli_args_usage(const struct cli_cmd *cmd, FILE *out)
{
	fprintf(out, "  lunarctl %s %s", cmd->noun, cmd->verb);
	if (cmd->discovery_or_target)
		fprintf(out, " {TARGET | --discovery}");
	for (size_t i = cmd->discovery_or_target ? 1 : 0; i < CLI_POS_MAX && cmd->pos[i].meta; i++)
		fprintf(out, cmd->pos[i].optional ? " [%s]" : " %s", cmd->pos[i].meta);
	for (size_t i = 0; i < CLI_OPT_MAX && cmd->opt[i].name; i++) {
		const struct cli_opt *o = &cmd->opt[i];
		if (strcmp(o->name, "discovery") == 0 && cmd->discovery_or_target)
			continue;
		switch (o->kind) {
		case CLI_TRUE:
		case CLI_FALSE:
			fprintf(out, " [--%s]", o->name);
			break;
		case CLI_SET:
			fprintf(out, " [--%s KEY=VALUE]...", o->name);
			break;
		case CLI_MAP:
			fprintf(out, " [--%s LUN=TARGET_LUN]...", o->name);
			break;
		case CLI_LIST:
			fprintf(out, " [--%s N,N...|all]", o->name);
			break;
		default:
			fprintf(out, " [--%s %s]", o->name, o->kind == CLI_FILE ? "FILE" : o->kind == CLI_UINT ? "N" : "V");
			break;
		}
	}
	fprintf(out, "\n      %s\n", cmd->summary);
}
