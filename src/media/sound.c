/* sound: sound files for the local endpoints: WAV/raw decoding to 8 kHz 16-bit samples, a cache
 * so every player of one file shares its samples, Asterisk's lookup by language, WAV headers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media_int.h"

#define LOG_MODULE "media"

/* A sound file larger than this is refused (about 70 minutes of 16-bit 8 kHz audio), and so is
 * one that would decode to more than an hour (a low rate in the header must not make a small
 * file expand into gigabytes). */
#define SOUND_FILE_MAX	  (64u * 1024u * 1024u)
#define SOUND_SAMPLES_MAX ((size_t)MEDIA_RATE * 3600u)

struct media_sound {
	struct le le; /* in the cache */
	char *path;
	time_t mtime;
	off_t size;
	int16_t *s;
	size_t n;
};

/* Loop thread only: the cache holds no reference; a sound leaves it when its last user drops
 * it, so an idle daemon keeps no decoded audio. */
static struct list cache;
static size_t cache_bytes;

static void sound_destroy(void *arg)
{
	struct media_sound *snd = arg;

	list_unlink(&snd->le);
	cache_bytes -= snd->n * sizeof(int16_t);
	free(snd->s);
	free(snd->path);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void wr16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void media_wav_header(uint8_t hdr[44], uint32_t samples)
{
	uint32_t data = samples * 2;

	memcpy(hdr, "RIFF", 4);
	wr32le(hdr + 4, 36 + data);
	memcpy(hdr + 8, "WAVEfmt ", 8);
	wr32le(hdr + 16, 16);
	wr16le(hdr + 20, 1); /* PCM */
	wr16le(hdr + 22, 1); /* mono */
	wr32le(hdr + 24, MEDIA_RATE);
	wr32le(hdr + 28, MEDIA_RATE * 2);
	wr16le(hdr + 32, 2);
	wr16le(hdr + 34, 16);
	memcpy(hdr + 36, "data", 4);
	wr32le(hdr + 40, data);
}

enum sfmt { SF_PCM8, SF_PCM16, SF_ULAW, SF_ALAW };

/* Decodes frames of `ch` channels at `rate` into 8 kHz mono (channels averaged, linear
 * interpolation between input samples). */
static int decode(const uint8_t *p, size_t bytes, enum sfmt f, unsigned ch, unsigned rate,
		  int16_t **outp, size_t *np)
{
	unsigned bps = f == SF_PCM16 ? 2 : 1;
	size_t frames = bytes / (bps * ch), n;
	int16_t *mono, *out;

	if (!frames)
		return EINVAL;
	mono = malloc(frames * sizeof(*mono));
	if (!mono)
		return ENOMEM;
	for (size_t i = 0; i < frames; i++) {
		int32_t acc = 0;

		for (unsigned c = 0; c < ch; c++) {
			const uint8_t *q = p + (i * ch + c) * bps;
			int32_t v;

			switch (f) {
			case SF_PCM8:
				v = ((int32_t)q[0] - 128) * 256;
				break;
			case SF_PCM16:
				v = (int16_t)rd16(q);
				break;
			case SF_ULAW:
				v = media_ulaw2lin(q[0]);
				break;
			default:
				v = media_alaw2lin(q[0]);
				break;
			}
			acc += v;
		}
		mono[i] = (int16_t)(acc / (int32_t)ch);
	}
	if (rate == MEDIA_RATE) {
		if (frames > SOUND_SAMPLES_MAX) {
			free(mono);
			return EINVAL;
		}
		*outp = mono;
		*np = frames;
		return 0;
	}
	n = (size_t)((uint64_t)frames * MEDIA_RATE / rate);
	if (!n || n > SOUND_SAMPLES_MAX) {
		free(mono);
		return EINVAL;
	}
	out = malloc(n * sizeof(*out));
	if (!out) {
		free(mono);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (rate > MEDIA_RATE) {
			/* Downsampling: the mean of the input samples this output sample spans (a
			 * box filter: 48 kHz speech keeps little aliasing above 4 kHz). */
			size_t k0 = (size_t)((uint64_t)i * rate / MEDIA_RATE);
			size_t k1 = (size_t)((uint64_t)(i + 1) * rate / MEDIA_RATE);
			int64_t acc = 0;

			if (k1 > frames)
				k1 = frames;
			if (k1 <= k0)
				k1 = k0 + 1;
			for (size_t k = k0; k < k1; k++)
				acc += mono[k];
			out[i] = (int16_t)(acc / (int64_t)(k1 - k0));
			continue;
		}
		/* Upsampling: linear interpolation; position in 1/65536 input samples. */
		uint64_t pos = ((uint64_t)i * rate << 16) / MEDIA_RATE;
		size_t k = (size_t)(pos >> 16);
		int32_t fr = (int32_t)(pos & 0xffff);
		int32_t a = mono[k], b = k + 1 < frames ? mono[k + 1] : a;

		out[i] = (int16_t)(a + (int32_t)(((int64_t)(b - a) * fr) >> 16));
	}
	free(mono);
	*outp = out;
	*np = n;
	return 0;
}

int media_sound_parse(const uint8_t *buf, size_t len, const char *path, int16_t **outp,
		      size_t *np)
{
	const char *ext = path ? strrchr(path, '.') : NULL;
	size_t off = 12;
	const uint8_t *fmt = NULL;
	uint32_t fmtlen = 0;

	if (ext && (!strcasecmp(ext, ".sln") || !strcasecmp(ext, ".raw") ||
		    !strcasecmp(ext, ".pcm")))
		return decode(buf, len, SF_PCM16, 1, MEDIA_RATE, outp, np);
	if (ext && (!strcasecmp(ext, ".ulaw") || !strcasecmp(ext, ".ul")))
		return decode(buf, len, SF_ULAW, 1, MEDIA_RATE, outp, np);
	if (ext && (!strcasecmp(ext, ".alaw") || !strcasecmp(ext, ".al")))
		return decode(buf, len, SF_ALAW, 1, MEDIA_RATE, outp, np);
	if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) {
		log_warn("%s: not a WAV file (no RIFF/WAVE header)", path ? path : "?");
		return EINVAL;
	}
	while (off + 8 <= len) {
		uint32_t clen = rd32(buf + off + 4);
		const uint8_t *body = buf + off + 8;
		size_t avail = len - off - 8;

		if (!memcmp(buf + off, "fmt ", 4)) {
			if (clen < 16 || clen > avail)
				break;
			fmt = body;
			fmtlen = clen;
		} else if (!memcmp(buf + off, "data", 4)) {
			uint16_t tag, ch, bits;
			uint32_t rate;
			enum sfmt f;

			if (!fmt) {
				log_warn("%s: WAV data before its fmt chunk", path ? path : "?");
				return EINVAL;
			}
			if (clen > avail)
				clen = (uint32_t)avail; /* a header that was never finished */
			tag = rd16(fmt);
			ch = rd16(fmt + 2);
			rate = rd32(fmt + 4);
			bits = rd16(fmt + 14);
			if (tag == 0xfffe && fmtlen >= 40)
				tag = rd16(fmt + 24); /* WAVE_FORMAT_EXTENSIBLE: the subformat */
			if (tag == 1 && bits == 16)
				f = SF_PCM16;
			else if (tag == 1 && bits == 8)
				f = SF_PCM8;
			else if (tag == 7 && bits == 8)
				f = SF_ULAW;
			else if (tag == 6 && bits == 8)
				f = SF_ALAW;
			else {
				log_warn("%s: WAV format %u with %u bits is not supported (PCM 8/16-bit, "
					 "mu-law, A-law)",
					 path ? path : "?", tag, bits);
				return EINVAL;
			}
			if (ch < 1 || ch > 8 || rate < 1000 || rate > 192000) {
				log_warn("%s: WAV with %u channels at %u Hz is not supported",
					 path ? path : "?", ch, rate);
				return EINVAL;
			}
			return decode(body, clen, f, ch, rate, outp, np);
		}
		off += 8 + (size_t)clen + (clen & 1);
	}
	log_warn("%s: WAV without a usable fmt/data chunk", path ? path : "?");
	return EINVAL;
}

int media_sound_load(struct media_sound **sp, const char *path)
{
	struct media_sound *snd;
	struct stat st;
	uint8_t *buf;
	ssize_t r;
	size_t got = 0;
	int fd, err;

	if (!sp || !path || !*path)
		return EINVAL;
	if (stat(path, &st) < 0)
		return errno;
	for (struct le *le = cache.head; le; le = le->next) {
		snd = le->data;
		if (!strcmp(snd->path, path)) {
			if (snd->mtime == st.st_mtime && snd->size == st.st_size) {
				*sp = mem_ref(snd);
				return 0;
			}
			/* Changed on disk: this one stays with its users, a new one is made. */
			list_unlink(&snd->le);
			break;
		}
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SOUND_FILE_MAX) {
		log_warn("%s: not a regular file or larger than %u MiB", path,
			 SOUND_FILE_MAX >> 20);
		return EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	while (got < (size_t)st.st_size &&
	       (r = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	snd = mem_zalloc(sizeof(*snd), sound_destroy);
	if (!snd) {
		free(buf);
		return ENOMEM;
	}
	snd->path = strdup(path);
	snd->mtime = st.st_mtime;
	snd->size = st.st_size;
	err = snd->path ? media_sound_parse(buf, got, path, &snd->s, &snd->n) : ENOMEM;
	free(buf);
	if (err) {
		/* Not in the cache yet: the destructor's unlink and count are no-ops. */
		mem_deref(snd);
		return err;
	}
	list_append(&cache, &snd->le, snd);
	cache_bytes += snd->n * sizeof(int16_t);
	*sp = snd;
	return 0;
}

size_t media_sound_len(const struct media_sound *s)
{
	return s ? s->n : 0;
}

const int16_t *media_sound_samples(const struct media_sound *s)
{
	return s ? s->s : NULL;
}

void media_sound_cache_stats(size_t *entries, size_t *bytes)
{
	if (entries)
		*entries = list_count(&cache);
	if (bytes)
		*bytes = cache_bytes;
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Tries base + each known extension (or base as is when it has one). */
static int try_name(char *buf, size_t size, const char *base, bool has_ext)
{
	static const char *const exts[] = {".wav", ".WAV", ".sln", ".ulaw", ".alaw"};
	int n;

	if (has_ext) {
		n = snprintf(buf, size, "%s", base);
		if (n < 0 || (size_t)n >= size)
			return ENAMETOOLONG;
		return exists(buf) ? 0 : ENOENT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		n = snprintf(buf, size, "%s%s", base, exts[i]);
		if (n < 0 || (size_t)n >= size)
			return ENAMETOOLONG;
		if (exists(buf))
			return 0;
	}
	n = snprintf(buf, size, "%s.wav", base); /* the path reported as not found */
	return ENOENT;
}

static bool has_extension(const char *name)
{
	const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');

	return dot && (!slash || dot > slash) && dot[1];
}

int media_sound_find(char *buf, size_t size, const char *dir, const char *lang, const char *name)
{
	char base[1024];
	bool ext;
	int n, err;

	if (!buf || !size || !name || !*name)
		return EINVAL;
	buf[0] = '\0';
	ext = has_extension(name);
	if (name[0] == '/')
		return try_name(buf, size, name, ext);
	if (strstr(name, "..") || (lang && (strchr(lang, '/') || strstr(lang, ".."))))
		return EINVAL;
	if (!dir || !*dir)
		dir = MEDIA_SOUNDS_DIR;
	if (lang && *lang) {
		n = snprintf(base, sizeof(base), "%s/%s/%s", dir, lang, name);
		if (n < 0 || (size_t)n >= sizeof(base))
			return ENAMETOOLONG;
		err = try_name(buf, size, base, ext);
		if (err != ENOENT)
			return err;
		const char *us = strchr(lang, '_');
		if (us) {
			n = snprintf(base, sizeof(base), "%s/%.*s/%s", dir, (int)(us - lang), lang,
				     name);
			if (n < 0 || (size_t)n >= sizeof(base))
				return ENAMETOOLONG;
			err = try_name(buf, size, base, ext);
			if (err != ENOENT)
				return err;
		}
	}
	n = snprintf(base, sizeof(base), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(base))
		return ENAMETOOLONG;
	return try_name(buf, size, base, ext);
}
