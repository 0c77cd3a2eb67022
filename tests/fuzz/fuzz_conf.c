/* fuzz_conf: libFuzzer target for the configuration reader (conf_load_string, conf_load_buf). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches everything a successful load hands out, so ASan sees any bad pointer. */
static void fuzz_walk(const struct conf *conf)
{
	size_t sum = 0;

	for (const struct conf_section *s = conf_sections(conf); s; s = s->next) {
		sum += strlen(s->name) + strlen(s->origin.file) + s->origin.line;
		for (size_t i = 0; i < s->ntemplates; i++)
			sum += strlen(s->templates[i]);
		for (const struct conf_var *v = s->vars; v; v = v->next) {
			sum += strlen(v->name) + strlen(v->value) + strlen(v->origin.file);
			if (conf_var_find(s, v->name) == NULL)
				abort();
		}
		if (!s->is_template && !conf_section_find(conf, s->name))
			abort();
	}
	(void)sum;
}

static void fuzz_diags(struct conf_diags *diags)
{
	char buf[256];

	for (size_t i = 0; i < diags->count; i++)
		(void)conf_diag_format(&diags->items[i], buf, sizeof(buf));
	conf_diags_reset(diags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_diags diags = {0};
	struct conf *conf = NULL;
	char *text;

	/* The raw bytes, NULs included. */
	if (conf_load_buf(&conf, "fuzz.conf", (const char *)data, size, &diags) == 0) {
		fuzz_walk(conf);
		conf_free(conf);
		conf = NULL;
	}
	fuzz_diags(&diags);

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (conf_load_string(&conf, "fuzz.conf", text, &diags) == 0) {
		fuzz_walk(conf);
		conf_free(conf);
	}
	fuzz_diags(&diags);
	free(text);
	return 0;
}
