/* fuzz_wav: libFuzzer target for the sound-file decoder (media_sound_parse): any bytes as a WAV
 * and as a raw µ-law file; a decoded sound must have a sane length and the first and last
 * samples readable. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "media.h"
#include "media_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"f.wav", "f.ulaw"};

	for (size_t i = 0; i < 2; i++) {
		int16_t *out = NULL;
		size_t n = 0;
		int err = media_sound_parse(data, size, names[i], &out, &n);

		if (err && err != EINVAL && err != ENOMEM)
			abort();
		if (!err) {
			volatile int16_t first = out[0], last = out[n - 1];
			(void)first;
			(void)last;
			if (!n || n > (size_t)MEDIA_RATE * 3600)
				abort();
		}
		free(out);
	}
	return 0;
}
