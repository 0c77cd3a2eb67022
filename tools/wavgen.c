/* wavgen: writes a test WAV file: a sine of FREQ Hz for MS milliseconds, 16-bit PCM at RATE Hz
 * (default 8000) with CHANNELS channels (default 1), for the sound-file tests (other rates and
 * stereo exercise the daemon's conversion). Usage: wavgen FILE FREQ MS [RATE [CHANNELS]] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

int main(int argc, char **argv)
{
	uint8_t h[44];
	double freq;
	unsigned long ms, rate = 8000, ch = 1, frames;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: wavgen FILE FREQ MS [RATE [CHANNELS]]\n");
		return 2;
	}
	freq = atof(argv[2]);
	ms = strtoul(argv[3], NULL, 10);
	if (argc > 4)
		rate = strtoul(argv[4], NULL, 10);
	if (argc > 5)
		ch = strtoul(argv[5], NULL, 10);
	if (!rate || rate > 192000 || !ch || ch > 8 || ms > 600000)
		return 2;
	frames = rate * ms / 1000;
	memcpy(h, "RIFF", 4);
	put32(h + 4, (uint32_t)(36 + frames * ch * 2));
	memcpy(h + 8, "WAVEfmt ", 8);
	put32(h + 16, 16);
	put16(h + 20, 1);
	put16(h + 22, (uint16_t)ch);
	put32(h + 24, (uint32_t)rate);
	put32(h + 28, (uint32_t)(rate * ch * 2));
	put16(h + 32, (uint16_t)(ch * 2));
	put16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	put32(h + 40, (uint32_t)(frames * ch * 2));
	f = fopen(argv[1], "wb");
	if (!f || fwrite(h, 1, 44, f) != 44)
		return 1;
	for (unsigned long i = 0; i < frames; i++) {
		int16_t v = (int16_t)(10000 * sin(2 * M_PI * freq * (double)i / (double)rate));
		uint8_t le[2] = {(uint8_t)v, (uint8_t)((uint16_t)v >> 8)};

		for (unsigned long c = 0; c < ch; c++)
			if (fwrite(le, 1, 2, f) != 2)
				return 1;
	}
	return fclose(f) ? 1 : 0;
}
