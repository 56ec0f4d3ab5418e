/* Access control: arbitrary bytes as a target's "acl" list and as the
 * initiator that logs in. The first line of the input is the initiator
 * name (also used as its CHAP user), the rest the text after "acl = " in a
 * target with LUNs 0, 1 and 2. Whatever parses must give answers that hold
 * together: the entry found is the initiator's and the only one with its
 * name, login, discovery and the entry agree, and the LUN map names only
 * the target's LUNs, each once. Build: clang -fsanitize=fuzzer,... */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/acl.h"
#include "control/config.h"

#define NLUNS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's scanner leaks a string token on some syntax errors (see
 * fuzz_config.c); not the code under test. */
const char *__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static const char prefix[] =
	"targets = ( { name = \"iqn.2026-11.org.lunar:t\"; open = false;\n"
	"luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; }, { lun = 1; backend = \"memory\"; "
	"size = \"1M\"; }, { lun = 2; backend = \"memory\"; size = \"1M\"; } );\nacl = ";
static const char suffix[] = ";\n} );\n";

static void check_target(const struct config_target *t, const char *name)
{
	const struct config_acl *e = acl_find(t, name);
	if (e && !acl_name_equal(e->initiator, name))
		abort();
	for (size_t i = 0; i < t->nacl; i++)
		if (acl_find(t, t->acl[i].initiator) != &t->acl[i])
			abort(); /* a second entry answers for the same name */
	if (acl_lists(t, name) != (t->open || e))
		abort();
	bool allowed = acl_allows(t, name, name);
	if (allowed != (e ? !e->chap_user || strcmp(e->chap_user, name) == 0 : t->open))
		abort();
	if (allowed && !acl_lists(t, name))
		abort(); /* a target one may log in to is one discovery shows */
	uint16_t map[NLUNS];
	if (!acl_lun_map(t, name, map, NLUNS)) {
		if (e && e->luns)
			abort();
		return;
	}
	bool seen[NLUNS] = { false };
	for (size_t lun = 0; lun < NLUNS; lun++) {
		if (map[lun] == ACL_LUN_NONE)
			continue;
		bool served = false;
		for (size_t j = 0; j < t->nluns; j++)
			served |= t->luns[j].lun == map[lun];
		if (!served || map[lun] >= NLUNS || seen[map[lun]])
			abort();
		seen[map[lun]] = true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t name_len = nl ? (size_t)(nl - data) : size;
	size_t rest = nl ? size - name_len - 1 : 0;
	char *name = strndup((const char *)data, name_len);
	char *text = malloc(sizeof(prefix) + rest + sizeof(suffix));
	if (!name || !text)
		goto out;
	memcpy(text, prefix, sizeof(prefix) - 1);
	memcpy(text + sizeof(prefix) - 1, nl ? nl + 1 : data, rest);
	memcpy(text + sizeof(prefix) - 1 + rest, suffix, sizeof(suffix));
	if (memchr(text, 0, sizeof(prefix) - 1 + rest) || strcasestr(text, "@include"))
		goto out; /* an embedded NUL ends the text early; includes open files */
	struct lunar_config cfg;
	char err[256];
	if (config_load_string(text, "fuzz.conf", &cfg, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < cfg.ntargets; i++)
			check_target(&cfg.targets[i], name);
		config_free(&cfg);
	}
out:
	free(name);
	free(text);
	return 0;
}
