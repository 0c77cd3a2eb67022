/* saytime: SayUnixTime()/DateTime(): a moment said in English with the core sounds' date and time
 * words (digits/day-N, digits/mon-N, digits/h-N ...), in Asterisk's format letters. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx_int.h"

/* Asterisk's English default: "Thursday, December fifth, two thousand twenty six at 9 17 a.m." */
#define SAYTIME_DEFAULT_FORMAT "ABdY 'digits/at' IMp"

static int add(struct mbuf *out, const char *name)
{
	if (out->end && mbuf_write(out, "&", 1))
		return ENOMEM;
	return mbuf_write_str(out, name);
}

static int addf(struct mbuf *out, const char *fmt, int v)
{
	char name[32];

	snprintf(name, sizeof(name), fmt, v);
	return add(out, name);
}

static int number(struct mbuf *out, int v)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", v);
	return pbx_say_number(n, out);
}

/* An ordinal, 1..99: "digits/h-5", "digits/20&digits/h-1" (the core sounds have h-1..h-20 and
 * the tens). */
static int ordinal(struct mbuf *out, int v)
{
	if (v <= 20 || v % 10 == 0)
		return addf(out, "digits/h-%d", v);
	if (addf(out, "digits/%d", v - v % 10))
		return ENOMEM;
	return addf(out, "digits/h-%d", v % 10);
}

/* Years as they are said: 2026 "two thousand twenty six", 1987 "nineteen eighty seven", 1905
 * "nineteen oh five", 1900 "nineteen hundred". */
static int year(struct mbuf *out, int y)
{
	if (y >= 2000 || y < 1000)
		return number(out, y);
	if (number(out, y / 100))
		return ENOMEM;
	if (y % 100 == 0)
		return add(out, "digits/hundred");
	if (y % 100 < 10 && add(out, "digits/oh"))
		return ENOMEM;
	return number(out, y % 100);
}

/* "oh five" below ten where a clock says it so (H, M, S); the number otherwise. */
static int clock_part(struct mbuf *out, int v)
{
	if (v < 10 && (add(out, "digits/oh") || addf(out, "digits/%d", v)))
		return ENOMEM;
	return v < 10 ? 0 : number(out, v);
}

static int say_fmt(struct mbuf *out, const struct tm *tm, const struct tm *today, const char *f,
		   unsigned depth);

static int say_letter(struct mbuf *out, const struct tm *tm, const struct tm *today, char c,
		      unsigned depth)
{
	int days = 0;

	switch (c) {
	case 'A':
	case 'a':
		return addf(out, "digits/day-%d", tm->tm_wday);
	case 'B':
	case 'b':
	case 'h':
		return addf(out, "digits/mon-%d", tm->tm_mon);
	case 'm':
		return ordinal(out, tm->tm_mon + 1);
	case 'd':
	case 'e':
		return ordinal(out, tm->tm_mday);
	case 'Y':
		return year(out, tm->tm_year + 1900);
	case 'y':
		return clock_part(out, tm->tm_year % 100);
	case 'I':
	case 'l':
		return addf(out, "digits/%d", tm->tm_hour % 12 ? tm->tm_hour % 12 : 12);
	case 'H':
		return clock_part(out, tm->tm_hour);
	case 'k':
		return number(out, tm->tm_hour);
	case 'M':
	case 'N':
		if (tm->tm_min == 0)
			return add(out, c == 'M' ? "digits/oclock" : "digits/hundred");
		return clock_part(out, tm->tm_min);
	case 'S':
		return clock_part(out, tm->tm_sec);
	case 'P':
	case 'p':
		return add(out, tm->tm_hour < 12 ? "digits/a-m" : "digits/p-m");
	case 'R':
		return say_fmt(out, tm, today, "HM", depth + 1);
	case 'T':
		return say_fmt(out, tm, today, "HMS", depth + 1);
	case 'Q':
	case 'q':
		/* today / yesterday / (q: the weekday within a week) / the date */
		if (tm->tm_year == today->tm_year)
			days = today->tm_yday - tm->tm_yday;
		else
			days = -1000;
		if (days == 0)
			return c == 'Q' ? add(out, "digits/today") : 0;
		if (days == 1)
			return add(out, "digits/yesterday");
		if (c == 'q' && days > 1 && days < 7)
			return say_letter(out, tm, today, 'A', depth);
		return say_fmt(out, tm, today, "ABdY", depth + 1);
	default:
		return 0; /* spaces and letters Asterisk's English does not say */
	}
}

static int say_fmt(struct mbuf *out, const struct tm *tm, const struct tm *today, const char *f,
		   unsigned depth)
{
	if (depth > 2)
		return 0;
	for (; *f; f++) {
		if (*f == '\'') {
			/* 'file' or 'a&b': sound names said as they are */
			const char *end = strchr(f + 1, '\'');
			char name[128];
			size_t n = end ? (size_t)(end - f - 1) : strlen(f + 1);

			if (n && n < sizeof(name)) {
				memcpy(name, f + 1, n);
				name[n] = '\0';
				if (add(out, name))
					return ENOMEM;
			}
			if (!end)
				break;
			f = end;
			continue;
		}
		if (say_letter(out, tm, today, *f, depth))
			return ENOMEM;
	}
	return 0;
}

int pbx_say_time(time_t t, const struct pbx_tz *tz, const char *format, struct mbuf *out)
{
	struct tm tm, today;

	if (pbx_tz_localtime(tz, t, &tm) || pbx_tz_localtime(tz, pbx_now(), &today))
		return EINVAL;
	return say_fmt(out, &tm, &today, format && *format ? format : SAYTIME_DEFAULT_FORMAT, 0);
}
