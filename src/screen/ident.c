/* ident: who calls, as the NGN says it: the reasons behind an anonymous From, Asterisk's
 * presentation words, and numbers written as they are dialled at home. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "screen_int.h"

static const char *const reason_names[SCREEN_R_COUNT] = {
    [SCREEN_R_NONE] = "number",
    [SCREEN_R_WITHHELD] = "withheld",
    [SCREEN_R_PAYPHONE] = "payphone",
    [SCREEN_R_UNAVAILABLE] = "unavailable",
    [SCREEN_R_INTERACTION] = "interaction",
};

const char *screen_reason_name(enum screen_reason r)
{
	return r < SCREEN_R_COUNT ? reason_names[r] : "number";
}

enum screen_reason screen_reason_from_display(const struct pl *dname)
{
	struct pl d = dname ? *dname : (struct pl)PL_INIT;

	pl_trim(&d);
	if (d.l >= 2 && d.p[0] == '"' && d.p[d.l - 1] == '"') {
		d.p++;
		d.l -= 2;
		pl_trim(&d);
	}
	/* The NGN's four words (NTT's interface documents); anything else says nothing more than
	 * "no number", which is what withheld means to the user. */
	if (pl_caseeq_str(&d, "Coin line/payphone"))
		return SCREEN_R_PAYPHONE;
	if (pl_caseeq_str(&d, "Unavailable"))
		return SCREEN_R_UNAVAILABLE;
	if (pl_caseeq_str(&d, "Interaction with other service"))
		return SCREEN_R_INTERACTION;
	return SCREEN_R_WITHHELD;
}

const char *screen_callerpres(enum screen_reason r, bool privacy_id)
{
	if (r == SCREEN_R_WITHHELD || (privacy_id && r != SCREEN_R_NONE))
		return "prohib_not_screened";
	if (r == SCREEN_R_NONE)
		return privacy_id ? "prohib_not_screened" : "allowed_not_screened";
	return "unavailable";
}

int screen_number_norm(const char *in, size_t n, char *out, size_t size)
{
	size_t k = 0, i = 0;
	bool plus = false;

	if (!out || !size)
		return EINVAL;
	out[0] = '\0';
	if (!in)
		return EINVAL;
	while (i < n) {
		unsigned char c = (unsigned char)in[i];
		char d = 0;

		if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')') {
			i++;
			continue;
		}
		if (c >= '0' && c <= '9') {
			d = (char)c;
			i++;
		} else if (c == '+' && k == 0 && !plus) {
			plus = true;
			i++;
			continue;
		} else if (c == 0xef && i + 2 < n && (unsigned char)in[i + 1] == 0xbc) {
			/* U+FF10..FF19 full-width digits (EF BC 90..99); U+FF08/09 parentheses,
			 * U+FF0D hyphen-minus, U+FF0B plus. */
			unsigned char c3 = (unsigned char)in[i + 2];

			i += 3;
			if (c3 >= 0x90 && c3 <= 0x99) {
				d = (char)('0' + (c3 - 0x90));
			} else if (c3 == 0x88 || c3 == 0x89 || c3 == 0x8d) {
				continue;
			} else if (c3 == 0x8b && k == 0 && !plus) {
				plus = true;
				continue;
			} else {
				return EINVAL;
			}
		} else if (c == 0xe3 && i + 2 < n && (unsigned char)in[i + 1] == 0x80 &&
			   (unsigned char)in[i + 2] == 0x80) {
			i += 3; /* U+3000 ideographic space */
			continue;
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)in[i + 1] == 0x88 &&
			   (unsigned char)in[i + 2] == 0x92) {
			i += 3; /* U+2212 minus sign */
			continue;
		} else if (c == 0xe3 && i + 2 < n && (unsigned char)in[i + 1] == 0x83 &&
			   (unsigned char)in[i + 2] == 0xbc) {
			i += 3; /* U+30FC long vowel mark, often typed for a hyphen */
			continue;
		} else {
			out[0] = '\0';
			return EINVAL;
		}
		if (k + 1 >= size) {
			out[0] = '\0';
			return EINVAL;
		}
		out[k++] = d;
	}
	out[k] = '\0';
	if (!k)
		return EINVAL;
	/* Japan's country code: +81 3..., 0081 3... and 81 3... after '+' are 03... */
	if (plus && k > 2 && !strncmp(out, "81", 2)) {
		memmove(out + 1, out + 2, k - 1);
		out[0] = '0';
	} else if (!plus && k > 4 && !strncmp(out, "0081", 4)) {
		memmove(out + 1, out + 4, k - 3);
	} else if (plus) {
		/* Another country: keep the international form dialled from Japan (010...). */
		if (k + 3 >= size) {
			out[0] = '\0';
			return EINVAL;
		}
		memmove(out + 3, out, k + 1);
		memcpy(out, "010", 3);
	}
	return 0;
}
