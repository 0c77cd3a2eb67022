/* fuzz_expr: libFuzzer target for the dialplan's variable substitution (${...}, substrings,
 * CALLERID/LEN/IF) and its $[ ] expression evaluator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "conf.h"
#include "pbx.h"
#include "pbx_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dialplan *dp;
static struct pbx_chan *ch;

/* One dialplan and channel for the whole run, with a few variables to find. */
static int setup(void)
{
	struct conf *conf = NULL;
	struct pbx_vars *g = NULL;
	int err;

	log_set_level(LOG_NONE);
	if (conf_load_string(&conf, "fuzz.conf", "[c]\nexten => _X.,1,NoOp()\n", NULL))
		return -1;
	if (pbx_vars_alloc(&g) || pbx_vars_set(g, "LINE_NUMBER", "0312345678")) {
		conf_free(conf);
		return -1;
	}
	err = dialplan_load(&dp, conf, g, NULL);
	conf_free(conf);
	pbx_vars_free(g);
	if (err || pbx_chan_alloc(&ch, dp, "c", "0312345678", "801", "Alice"))
		return -1;
	pbx_chan_set_var(ch, "FOO", "bar");
	pbx_chan_set_var(ch, "X", "FOO");
	pbx_chan_set_var(ch, "NUM", "42");
	pbx_chan_set_var(ch, "RE", "^0([0-9]+)$");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct mbuf out;
	char *text;

	if (!ready)
		ready = setup() == 0 ? 1 : -1;
	if (ready < 0)
		abort();
	mbuf_init(&out);
	/* The raw bytes straight into the evaluator. */
	if (pbx_expr_eval((const char *)data, size, &out) == 0 && out.end > PBX_VALUE_MAX * 4)
		abort();
	out.end = 0;
	text = malloc(size + 1);
	if (!text) {
		mbuf_reset(&out);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	if (pbx_chan_eval(ch, text, &out) == 0 && out.end > PBX_VALUE_MAX)
		abort();
	free(text);
	mbuf_reset(&out);
	return 0;
}
