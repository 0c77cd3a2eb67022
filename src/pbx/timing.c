/* timing: Asterisk's time conditions (times,weekdays,mdays,months[,timezone]) for GotoIfTime,
 * ExecIfTime, IFTIME and time-restricted includes, the injectable clock, and IANA time zones
 * read from TZif files (no TZ environment switching: other threads read the local time). */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

/* ---- the clock ------------------------------------------------------------------------------- */

static pbx_clock_h *clock_h;

void pbx_set_clock(pbx_clock_h *h)
{
	clock_h = h;
}

time_t pbx_now(void)
{
	return clock_h ? clock_h() : time(NULL);
}

/* ---- time zones ------------------------------------------------------------------------------ */

#define TZ_NAME_MAX  128
#define TZ_FILE_MAX  (256 * 1024)
#define TZ_CACHE_MAX 64

struct tz_type {
	int32_t off; /* seconds east of UTC */
	bool isdst;
	uint8_t abbr; /* index into abbrs */
};

/* The POSIX TZ string at the end of a TZif file: the rule after the last transition. */
struct tz_rule {
	bool ok;
	int32_t std_off, dst_off; /* seconds east of UTC */
	char std_abbr[16], dst_abbr[16];
	bool has_dst;
	struct tz_date {
		char kind; /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
		int n, m, w, d;
		int32_t time; /* seconds after local midnight */
	} start, end;
};

struct pbx_tz {
	char name[TZ_NAME_MAX];
	int64_t *times; /* transitions */
	uint8_t *idx;	/* type after each transition */
	size_t ntimes;
	struct tz_type *types;
	size_t ntypes;
	char *abbrs;
	size_t nabbrs;
	struct tz_rule rule;
};

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pbx_tz *tz_cache[TZ_CACHE_MAX];
static size_t tz_ncache;
static char tz_dir[256];

void pbx_tz_set_dir(const char *dir)
{
	pthread_mutex_lock(&tz_lock);
	snprintf(tz_dir, sizeof(tz_dir), "%s", dir ? dir : "");
	pthread_mutex_unlock(&tz_lock);
}

static void tz_free(struct pbx_tz *tz)
{
	if (!tz)
		return;
	free(tz->times);
	free(tz->idx);
	free(tz->types);
	free(tz->abbrs);
	free(tz);
}

void pbx_tz_cache_clear(void)
{
	pthread_mutex_lock(&tz_lock);
	for (size_t i = 0; i < tz_ncache; i++)
		tz_free(tz_cache[i]);
	tz_ncache = 0;
	pthread_mutex_unlock(&tz_lock);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* [+-]hh[:mm[:ss]] -> seconds; NULL when malformed. */
static const char *posix_time(const char *s, int32_t *out)
{
	int sign = 1, h = 0, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s) && h < 1000)
		h = h * 10 + (*s++ - '0');
	if (*s == ':') {
		s++;
		if (!isdigit((unsigned char)*s))
			return NULL;
		while (isdigit((unsigned char)*s) && m < 100)
			m = m * 10 + (*s++ - '0');
		if (*s == ':') {
			s++;
			if (!isdigit((unsigned char)*s))
				return NULL;
			while (isdigit((unsigned char)*s) && sec < 100)
				sec = sec * 10 + (*s++ - '0');
		}
	}
	if (h > 167 || m > 59 || sec > 59)
		return NULL;
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *posix_abbr(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	if (*s == '<') {
		for (s++; *s && *s != '>'; s++)
			if (n + 1 < size)
				buf[n++] = *s;
		if (*s != '>')
			return NULL;
		s++;
	} else {
		for (; isalpha((unsigned char)*s); s++)
			if (n + 1 < size)
				buf[n++] = *s;
	}
	buf[n] = '\0';
	return n >= 3 ? s : NULL;
}

static const char *posix_date(const char *s, struct tz_date *d)
{
	char *end;

	memset(d, 0, sizeof(*d));
	d->time = 7200; /* 02:00 by default */
	if (*s == 'M') {
		d->kind = 'M';
		d->m = (int)strtol(s + 1, &end, 10);
		if (*end != '.')
			return NULL;
		d->w = (int)strtol(end + 1, &end, 10);
		if (*end != '.')
			return NULL;
		d->d = (int)strtol(end + 1, &end, 10);
		if (d->m < 1 || d->m > 12 || d->w < 1 || d->w > 5 || d->d < 0 || d->d > 6)
			return NULL;
	} else {
		d->kind = *s == 'J' ? 'J' : 'D';
		if (*s == 'J')
			s++;
		if (!isdigit((unsigned char)*s))
			return NULL;
		d->n = (int)strtol(s, &end, 10);
		if (d->n > 365 || (d->kind == 'J' && d->n < 1))
			return NULL;
	}
	s = end;
	if (*s == '/') {
		s = posix_time(s + 1, &d->time);
		if (!s)
			return NULL;
	}
	return s;
}

/* "JST-9", "EST5EDT,M3.2.0,M11.1.0", "<+0330>-3:30"; an empty string is no rule. */
static void posix_rule(const char *s, struct tz_rule *r)
{
	int32_t t;

	memset(r, 0, sizeof(*r));
	if (!*s || !(s = posix_abbr(s, r->std_abbr, sizeof(r->std_abbr))) ||
	    !(s = posix_time(s, &t)))
		return;
	r->std_off = -t; /* POSIX counts west of Greenwich as positive */
	if (!*s) {
		r->ok = true;
		return;
	}
	if (!(s = posix_abbr(s, r->dst_abbr, sizeof(r->dst_abbr))))
		return;
	r->dst_off = r->std_off + 3600;
	if (*s && *s != ',') {
		if (!(s = posix_time(s, &t)))
			return;
		r->dst_off = -t;
	}
	if (*s != ',' || !(s = posix_date(s + 1, &r->start)) || *s != ',' ||
	    !(s = posix_date(s + 1, &r->end)) || *s)
		return;
	r->has_dst = true;
	r->ok = true;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* Local seconds since the epoch (of year y, in the zone's local clock) of a rule date. */
static int64_t rule_local(int64_t y, const struct tz_date *d)
{
	int64_t day;

	if (d->kind == 'J') {
		day = days_from_civil(y, 1, 1) + d->n - 1 + (leap(y) && d->n >= 60);
	} else if (d->kind == 'D') {
		day = days_from_civil(y, 1, 1) + d->n;
	} else {
		int64_t first = days_from_civil(y, d->m, 1);
		int wd1 = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
		int mday = 1 + (d->d - wd1 + 7) % 7 + (d->w - 1) * 7;

		while (mday > month_days(y, d->m))
			mday -= 7;
		day = first + mday - 1;
	}
	return day * 86400 + d->time;
}

static int64_t year_of(int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t y = 1970 + days / 366;

	while (days_from_civil(y + 1, 1, 1) <= days)
		y++;
	while (days_from_civil(y, 1, 1) > days)
		y--;
	return y;
}

/* The offset, DST flag and abbreviation the rule gives at t. */
static void rule_at(const struct tz_rule *r, int64_t t, int32_t *off, bool *isdst,
		    const char **abbr)
{
	if (r->has_dst) {
		int64_t y = year_of(t + r->std_off);
		/* start is written in standard time, end in daylight time */
		int64_t start = rule_local(y, &r->start) - r->std_off;
		int64_t end = rule_local(y, &r->end) - r->dst_off;
		bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);

		if (dst) {
			*off = r->dst_off;
			*isdst = true;
			*abbr = r->dst_abbr;
			return;
		}
	}
	*off = r->std_off;
	*isdst = false;
	*abbr = r->std_abbr;
}

/* Parses a TZif file (RFC 8536, version 2 or later: 64-bit data and the footer rule). */
static int tz_parse(struct pbx_tz *tz, const uint8_t *b, size_t n)
{
	size_t cnt[6], v1, off;
	const uint8_t *p;

	if (n < 44 || memcmp(b, "TZif", 4) || b[4] < '2')
		return EINVAL;
	for (int i = 0; i < 6; i++)
		cnt[i] = be32(b + 20 + 4 * i);
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt; skip the 32-bit block */
	v1 = cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
	if (v1 > n - 44 || n - 44 - v1 < 44)
		return EINVAL;
	p = b + 44 + v1;
	if (memcmp(p, "TZif", 4))
		return EINVAL;
	for (int i = 0; i < 6; i++)
		cnt[i] = be32(p + 20 + 4 * i);
	if (cnt[4] == 0 || cnt[4] > 256 || cnt[3] > 100000 || cnt[5] > 1024 || cnt[2] > 10000 ||
	    cnt[1] > 256 || cnt[0] > 256)
		return EINVAL;
	off = 44 + v1 + 44;
	size_t need = cnt[3] * 9 + cnt[4] * 6 + cnt[5] + cnt[2] * 12 + cnt[1] + cnt[0];
	if (need > n - off)
		return EINVAL;
	p = b + off;
	tz->ntimes = cnt[3];
	tz->ntypes = cnt[4];
	tz->nabbrs = cnt[5];
	tz->times = calloc(tz->ntimes + 1, sizeof(*tz->times));
	tz->idx = calloc(tz->ntimes + 1, 1);
	tz->types = calloc(tz->ntypes, sizeof(*tz->types));
	tz->abbrs = calloc(tz->nabbrs + 1, 1);
	if (!tz->times || !tz->idx || !tz->types || !tz->abbrs)
		return ENOMEM;
	for (size_t i = 0; i < tz->ntimes; i++)
		tz->times[i] = be64(p + 8 * i);
	p += 8 * tz->ntimes;
	for (size_t i = 0; i < tz->ntimes; i++) {
		if (p[i] >= tz->ntypes)
			return EINVAL;
		tz->idx[i] = p[i];
	}
	p += tz->ntimes;
	for (size_t i = 0; i < tz->ntypes; i++, p += 6) {
		tz->types[i].off = (int32_t)be32(p);
		tz->types[i].isdst = p[4] != 0;
		tz->types[i].abbr = p[5];
		if (p[5] >= tz->nabbrs || tz->types[i].off < -100000 || tz->types[i].off > 100000)
			return EINVAL;
	}
	memcpy(tz->abbrs, p, tz->nabbrs);
	p += tz->nabbrs + cnt[2] * 12 + cnt[1] + cnt[0];
	/* The footer: "\nRULE\n". */
	if (p < b + n && *p == '\n') {
		const uint8_t *e = memchr(p + 1, '\n', (size_t)(b + n - p - 1));
		char rule[128];

		if (e && (size_t)(e - p - 1) < sizeof(rule)) {
			memcpy(rule, p + 1, (size_t)(e - p - 1));
			rule[e - p - 1] = '\0';
			posix_rule(rule, &tz->rule);
		}
	}
	return 0;
}

static bool tz_name_ok(const char *s, size_t n)
{
	if (!n || n >= TZ_NAME_MAX || s[0] == '/' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '/' && c != '_' && c != '-' && c != '+' && c != '.')
			return false;
		if (c == '.' && i + 1 < n && s[i + 1] == '.')
			return false;
	}
	return true;
}

static int tz_load(const char *name, struct pbx_tz **tzp)
{
	const char *dir = tz_dir[0] ? tz_dir : getenv("TZDIR");
	char path[512];
	uint8_t *buf = NULL;
	size_t n = 0;
	struct pbx_tz *tz;
	FILE *f;
	int err;

	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return ENOENT;
	buf = malloc(TZ_FILE_MAX);
	if (buf)
		n = fread(buf, 1, TZ_FILE_MAX, f);
	fclose(f);
	if (!buf)
		return ENOMEM;
	tz = calloc(1, sizeof(*tz));
	if (!tz) {
		free(buf);
		return ENOMEM;
	}
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	err = n == TZ_FILE_MAX ? EINVAL : tz_parse(tz, buf, n);
	free(buf);
	if (err) {
		tz_free(tz);
		return err == ENOMEM ? ENOMEM : ENOENT;
	}
	*tzp = tz;
	return 0;
}

int pbx_tz_get(const char *name, size_t len, const struct pbx_tz **tzp)
{
	char nm[TZ_NAME_MAX];
	struct pbx_tz *tz = NULL;
	int err = 0;

	if (!tz_name_ok(name, len))
		return ENOENT;
	memcpy(nm, name, len);
	nm[len] = '\0';
	pthread_mutex_lock(&tz_lock);
	for (size_t i = 0; i < tz_ncache; i++) {
		if (!strcmp(tz_cache[i]->name, nm)) {
			*tzp = tz_cache[i];
			goto out;
		}
	}
	if (tz_ncache == TZ_CACHE_MAX) {
		err = ENOSPC;
		goto out;
	}
	err = tz_load(nm, &tz);
	if (!err) {
		tz_cache[tz_ncache++] = tz;
		*tzp = tz;
	}
out:
	pthread_mutex_unlock(&tz_lock);
	return err;
}

const char *pbx_tz_name(const struct pbx_tz *tz)
{
	return tz ? tz->name : "";
}

int pbx_tz_localtime(const struct pbx_tz *tz, time_t t, struct tm *tm)
{
	int32_t off;
	bool isdst;
	const char *abbr;
	time_t lt;

	if (!tz)
		return localtime_r(&t, tm) ? 0 : EINVAL;
	if (tz->ntimes && (int64_t)t >= tz->times[tz->ntimes - 1] && tz->rule.ok) {
		rule_at(&tz->rule, t, &off, &isdst, &abbr);
	} else {
		size_t lo = 0, hi = tz->ntimes;
		const struct tz_type *ty;

		/* the last transition at or before t; before the first one: type 0 */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (tz->times[mid] <= (int64_t)t)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!tz->ntimes && tz->rule.ok) {
			rule_at(&tz->rule, t, &off, &isdst, &abbr);
			goto done;
		}
		ty = &tz->types[lo ? tz->idx[lo - 1] : 0];
		off = ty->off;
		isdst = ty->isdst;
		abbr = tz->abbrs + ty->abbr;
	}
done:
	lt = t + off;
	if (!gmtime_r(&lt, tm))
		return EINVAL;
	tm->tm_isdst = isdst;
	tm->tm_gmtoff = off;
	tm->tm_zone = abbr;
	return 0;
}

/* ---- time specifications --------------------------------------------------------------------- */

static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec"};

static void set_bit(uint8_t *mask, unsigned i)
{
	mask[i / 8] |= (uint8_t)(1u << (i % 8));
}

static bool has_bit(const uint8_t *mask, unsigned i)
{
	return mask[i / 8] & (1u << (i % 8));
}

/* A name (case-insensitive) or a number 1..max, as a 0-based index; -1 when neither. */
static int range_item(const struct pl *s, const char *const *names, unsigned max)
{
	unsigned v = 0;

	if (names) {
		for (unsigned i = 0; i < max; i++)
			if (pl_caseeq_str(s, names[i]))
				return (int)i;
	}
	if (!s->l || s->l > 2)
		return -1;
	for (size_t i = 0; i < s->l; i++) {
		if (!isdigit((unsigned char)s->p[i]))
			return -1;
		v = v * 10 + (unsigned)(s->p[i] - '0');
	}
	return v >= 1 && v <= max ? (int)v - 1 : -1;
}

/* H:MM or HH:MM -> minute of the day; -1 when malformed. */
static int parse_hhmm(const struct pl *s)
{
	const char *c = pl_chr(s, ':');
	unsigned h = 0, m = 0;
	size_t hl, ml;

	if (!c)
		return -1;
	hl = (size_t)(c - s->p);
	ml = s->l - hl - 1;
	if (hl < 1 || hl > 2 || ml < 1 || ml > 2)
		return -1;
	for (size_t i = 0; i < s->l; i++) {
		if (i == hl)
			continue;
		if (!isdigit((unsigned char)s->p[i]))
			return -1;
		if (i < hl)
			h = h * 10 + (unsigned)(s->p[i] - '0');
		else
			m = m * 10 + (unsigned)(s->p[i] - '0');
	}
	return h <= 23 && m <= 59 ? (int)(h * 60 + m) : -1;
}

/* parse_hhmm as a range item. */
static int hhmm_item(const struct pl *s, const char *const *names, unsigned max)
{
	(void)names;
	(void)max;
	return parse_hhmm(s);
}

/* A field's item: its index (0 .. max-1), -1 when malformed. */
typedef int(range_item_h)(const struct pl *s, const char *const *names, unsigned max);

/* "*", "" or a&b-c&...: the items from range_item or hhmm_item; ranges wrap around (fri-mon,
 * 25-5, nov-feb, 22:00-06:00 past midnight), the end is included. */
static int parse_ranges(const struct pl *f, range_item_h *item, const char *const *names,
			unsigned max, uint8_t *mask, const char *what, const char *hint, char *why,
			size_t whysize)
{
	const char *p = f->p, *end = f->p + f->l;

	if (!f->l || pl_eq_str(f, "*")) {
		for (unsigned i = 0; i < max; i++)
			set_bit(mask, i);
		return 0;
	}
	while (p <= end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		struct pl part = pl_from(p, amp ? (size_t)(amp - p) : (size_t)(end - p)), a, b;
		const char *dash;
		int lo, hi;

		pl_trim(&part);
		dash = pl_chr(&part, '-');
		a = pl_from(part.p, dash ? (size_t)(dash - part.p) : part.l);
		b = dash ? pl_from(dash + 1, (size_t)(part.p + part.l - dash - 1)) : a;
		pl_trim(&a);
		pl_trim(&b);
		lo = item(&a, names, max);
		hi = item(&b, names, max);
		if (lo < 0 || hi < 0) {
			snprintf(why, whysize, "invalid %s '%.*s'%s", what, (int)MIN(part.l, 32),
				 part.p, hint);
			return EINVAL;
		}
		for (int i = lo;; i = (i + 1) % (int)max) {
			set_bit(mask, (unsigned)i);
			if (i == hi)
				break;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	return 0;
}

int pbx_timing_parse(struct pbx_timing *t, const char *spec, size_t len, char *why, size_t whysize)
{
	struct pl f[6];
	size_t nf = 0, start = 0;
	int err;

	memset(t, 0, sizeof(*t));
	if (why && whysize)
		why[0] = '\0';
	if (!why) {
		static char dummy[8];

		why = dummy;
		whysize = sizeof(dummy);
	}
	/* Fields are separated by ',' or (the older form) '|'. */
	for (size_t i = 0; i <= len; i++) {
		if (i == len || spec[i] == ',' || spec[i] == '|') {
			if (nf == 5) {
				snprintf(why, whysize,
					 "too many fields (times,weekdays,mdays,months"
					 "[,timezone])");
				return EINVAL;
			}
			f[nf] = pl_from(spec + start, i - start);
			pl_trim(&f[nf]);
			nf++;
			start = i + 1;
		}
	}
	/* Missing fields mean "any", as Asterisk. */
	for (size_t i = nf; i < 4; i++)
		f[i] = pl_from("*", 1);
	err = parse_ranges(&f[0], hhmm_item, NULL, PBX_DAY_MINUTES, t->minutes, "time range",
			   " (HH:MM-HH:MM, 00:00 to 23:59)", why, whysize);
	if (!err)
		err = parse_ranges(&f[1], range_item, dow_names, 7, &t->dow, "weekday", "", why,
				   whysize);
	if (!err)
		err = parse_ranges(&f[2], range_item, NULL, 31, t->mdays, "day of month", "", why,
				   whysize);
	if (!err)
		err = parse_ranges(&f[3], range_item, month_names, 12, t->months, "month", "", why,
				   whysize);
	if (!err && nf == 5 && f[4].l) {
		err = pbx_tz_get(f[4].p, f[4].l, &t->tz);
		if (err) {
			snprintf(why, whysize, "unknown time zone '%.*s'", (int)MIN(f[4].l, 64),
				 f[4].p);
			return err == ENOMEM ? ENOMEM : EINVAL;
		}
	}
	return err;
}

bool pbx_timing_match(const struct pbx_timing *t, time_t now)
{
	/* Lookups may ask several times a step: keep the last conversion (per thread). */
	static _Thread_local struct {
		bool ok;
		const struct pbx_tz *tz;
		time_t t;
		struct tm tm;
	} last;
	struct tm *tm = &last.tm;

	if (!last.ok || last.tz != t->tz || last.t != now) {
		last.ok = false;
		if (pbx_tz_localtime(t->tz, now, tm))
			return false;
		last.ok = true;
		last.tz = t->tz;
		last.t = now;
	}
	return has_bit(t->minutes, (unsigned)(tm->tm_hour * 60 + tm->tm_min)) &&
	       has_bit(&t->dow, (unsigned)tm->tm_wday) &&
	       has_bit(t->mdays, (unsigned)tm->tm_mday - 1) &&
	       has_bit(t->months, (unsigned)tm->tm_mon);
}

int pbx_timing_check(const char *spec, size_t len, bool *match, char *why, size_t whysize)
{
	struct pbx_timing t;
	int err = pbx_timing_parse(&t, spec, len, why, whysize);

	if (!err)
		*match = pbx_timing_match(&t, pbx_now());
	return err;
}
