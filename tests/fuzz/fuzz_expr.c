/* fuzz_expr: libFuzzer target for the dialplan's variable substitution (${...}, substrings,
 * CALLERID/LEN/IF/IFTIME/STRFTIME/...) and its $[ ] expression evaluator; an input starting with '[' is instead read
 * as an extensions.conf, loaded, checked, shown and run for a few turns. */
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
	/* Time zones from the repository's copies (no reading outside it). */
	pbx_tz_set_dir("tests/unit/data/zoneinfo");
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

/* Drives one call through a fuzzed dialplan, answering every host action. */
static void run_call(struct dialplan *fdp, const char *ctx, const char *exten)
{
	struct pbx_chan *fch = NULL;
	struct pbx_action act;

	if (pbx_chan_alloc(&fch, fdp, ctx, exten, "801", "Fuzz"))
		return;
	for (int turn = 0; turn < 8; turn++) {
		if (pbx_chan_run(fch, &act))
			abort();
		if (act.type == PBX_ACT_DIAL) {
			if (!act.dial.ntargets || !act.dial.targets[0].peer)
				abort();
			pbx_chan_set_var(fch, "DIALSTATUS", turn & 1 ? "BUSY" : "NOANSWER");
		} else if (act.type >= PBX_ACT_BUSY) {
			if (pbx_chan_hangup(fch))
				break;
		}
	}
	pbx_chan_free(fch);
}

static void fuzz_dialplan(const uint8_t *data, size_t size)
{
	struct conf_diags diags = {0};
	struct conf *conf = NULL;
	struct dialplan *fdp = NULL;
	const struct conf_section *first;
	struct mbuf out;

	if (conf_load_buf(&conf, "fuzz.conf", (const char *)data, size, &diags))
		goto out;
	if (dialplan_load(&fdp, conf, NULL, &diags))
		goto out;
	first = conf_sections(conf);
	while (first && (first->is_template || !dialplan_has_context(fdp, first->name)))
		first = first->next;
	if (first) {
		const char *entry = first->name;

		(void)dialplan_check(fdp, &entry, 1, &diags);
		mbuf_init(&out);
		(void)dialplan_show(fdp, NULL, &out);
		out.end = 0;
		(void)dialplan_show(fdp, "100@", &out);
		mbuf_reset(&out);
		run_call(fdp, entry, "s");
		run_call(fdp, entry, "100");
	}
out:
	dialplan_free(fdp);
	conf_free(conf);
	conf_diags_reset(&diags);
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
	if (size && data[0] == '[') {
		fuzz_dialplan(data, size);
		return 0;
	}
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
