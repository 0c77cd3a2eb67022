/* wavtone: checks that a WAV file (16-bit PCM, e.g. baresip's sndfile dump of what a phone heard)
 * holds a tone of a given frequency for at least a given time, by Goertzel per 100 ms block.
 * Usage: wavtone FILE.wav FREQ_HZ [MIN_MS [SHARE]]   (MIN_MS default 1000; SHARE: the part of a
 * block's power the tone must have, default 0.5; 0.25 finds each tone of a two-tone mix). Exit 0
 * when it does. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Fraction of a block's power at freq: about 1 for a pure tone, near 0 for other sounds. */
static double tone_share(const int16_t *x, size_t n, size_t step, double freq, double rate,
			 double *power)
{
	double coeff = 2 * cos(2 * M_PI * freq / rate), s1 = 0, s2 = 0, energy = 0, mag;

	for (size_t i = 0; i < n; i++) {
		double v = x[i * step] / 32768.0, s0 = v + coeff * s1 - s2;

		s2 = s1;
		s1 = s0;
		energy += v * v;
	}
	mag = s1 * s1 + s2 * s2 - coeff * s1 * s2;
	*power = energy / (double)n;
	if (energy <= 0)
		return 0;
	/* A sine of amplitude A gives |X|^2 = (A n / 2)^2 and energy A^2 n / 2. */
	return 2 * mag / ((double)n * energy);
}

int main(int argc, char **argv)
{
	unsigned char *buf = NULL, *data = NULL;
	uint16_t channels = 0, bits = 0, format = 0;
	uint32_t rate = 0, dlen = 0;
	long size;
	size_t off = 12, block, frames, good = 0, blocks = 0;
	double freq, min_ms, min_share;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: wavtone FILE.wav FREQ_HZ [MIN_MS [SHARE]]\n");
		return 2;
	}
	freq = atof(argv[2]);
	min_ms = argc > 3 ? atof(argv[3]) : 1000;
	min_share = argc > 4 ? atof(argv[4]) : 0.5;
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 44 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "wavtone: cannot read %s\n", argv[1]);
		return 2;
	}
	buf = malloc((size_t)size);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size || memcmp(buf, "RIFF", 4) ||
	    memcmp(buf + 8, "WAVE", 4)) {
		fprintf(stderr, "wavtone: %s is not a WAV file\n", argv[1]);
		return 2;
	}
	fclose(f);
	while (off + 8 <= (size_t)size) {
		uint32_t clen = le32(buf + off + 4);

		if (!memcmp(buf + off, "fmt ", 4) && clen >= 16 && off + 8 + 16 <= (size_t)size) {
			format = le16(buf + off + 8);
			channels = le16(buf + off + 10);
			rate = le32(buf + off + 12);
			bits = le16(buf + off + 22);
		} else if (!memcmp(buf + off, "data", 4)) {
			data = buf + off + 8;
			dlen = (uint32_t)((size_t)size - off - 8 < clen ? (size_t)size - off - 8 : clen);
			break;
		}
		off += 8 + clen + (clen & 1);
	}
	if (!data || format != 1 || bits != 16 || !channels || !rate) {
		fprintf(stderr, "wavtone: %s: need 16-bit PCM (format %u, %u bits)\n", argv[1],
			format, bits);
		return 2;
	}
	frames = dlen / (2u * channels);
	block = rate / 10;
	for (size_t i = 0; i + block <= frames; i += block) {
		double power, share = tone_share((const int16_t *)(const void *)data + i * channels,
						 block, channels, freq, rate, &power);

		blocks++;
		if (power > 1e-5 && share > min_share)
			good++;
	}
	printf("wavtone: %s: %u Hz, %u channel(s), %.1f s, %zu of %zu blocks hold %.0f Hz\n",
	       argv[1], rate, channels, (double)frames / rate, good, blocks, freq);
	free(buf);
	return (double)good * 100 >= min_ms ? 0 : 1;
}
