/* fuzz_phonebook: libFuzzer target for phonebook files (CSV and vCard, UTF-8 or Shift_JIS) and
 * the number normalizer they use. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "screen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int each(const char *num, const char *name, void *arg)
{
	size_t *sum = arg;

	*sum += strlen(num) + strlen(name);
	if (!num[0] || !name[0])
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbuf report;
	size_t sum = 0;
	char out[SCREEN_NUM_MAX];

	mbuf_init(&report);
	(void)screen_pb_parse("fuzz", (const char *)data, size, each, &sum, &report);
	mbuf_reset(&report);
	(void)screen_number_norm((const char *)data, size, out, sizeof(out));
	return 0;
}
