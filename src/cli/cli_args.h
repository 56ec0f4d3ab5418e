/* lunarctl's commands as data: each NOUN VERB names its method, its
 * positional arguments and options and the params key each fills, so the
 * parser, the help text and the completion script read one table. */
#ifndef LUNAR_CLI_ARGS_H
#define LUNAR_CLI_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum cli_kind {
	CLI_STR,       /* a string */
	CLI_UINT,      /* a decimal number */
	CLI_TRUE,      /* an option without value: key = true */
	CLI_FALSE,     /* an option without value: key = false */
	CLI_SIZE,      /* "10G" as a string, "4096" as a number */
	CLI_VALUE,     /* true/false, a number, else a string */
	CLI_SET,       /* KEY=VALUE: key KEY gets VALUE as CLI_VALUE; repeatable */
	CLI_MAP,       /* N=M: {lun: N, target_lun: M} appended to key; repeatable */
	CLI_FILE,      /* a file whose first line is key's value (a secret) */
	CLI_LIST,      /* "1,2,5": an array of numbers; "all" (or "") the empty array */
};

struct cli_pos {
	const char *meta;           /* as the help shows it: TARGET, LUN, ... */
	const char *key;
	enum cli_kind kind;
	bool optional;
};

struct cli_opt {
	const char *name;           /* without the leading -- */
	const char *key;
	enum cli_kind kind;
	bool in_lun;                /* goes into params.luns[0] (target create) */
};

#define CLI_POS_MAX 3
#define CLI_OPT_MAX 14

struct cli_cmd {
	const char *noun, *verb;
	const char *method;
	const char *summary;        /* one line for the help */
	struct cli_pos pos[CLI_POS_MAX];
	struct cli_opt opt[CLI_OPT_MAX];
	/* CHAP: --discovery takes the TARGET argument's place */
	bool discovery_or_target;
	/* the params key of a secret read from stdin when no --secret-file */
	const char *secret_key;
	void (*render)(json_t *result, FILE *out);
};

/* Fills *params from argv (the words after NOUN VERB). Returns 0, or -1
 * after saying on stderr what is wrong. */
int cli_args_parse(const struct cli_cmd *cmd, int argc, char **argv, json_t **params);
/* "lun create TARGET [--lun N] ..." */
void cli_args_usage(const struct cli_cmd *cmd, FILE *out);

#endif
