/* screen: nuisance-call protection: who is calling (the NGN's reasons for a missing number,
 * numbers as shown at home), the rules of mikaka.conf [screening] (per reason, blocklist,
 * allow-list, per additional number), the block list and the phonebook kept in the store, and
 * their control-socket commands (`block ...`, `phonebook ...`). See docs/SCREENING.md. */
#ifndef MIKAKA_SCREEN_H
#define MIKAKA_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "conf.h"

struct store;
struct ctl;

/* Longest number kept (digits as shown at home, "0312345678"). */
#define SCREEN_NUM_MAX 32
/* Longest phonebook name (bytes, UTF-8). */
#define SCREEN_NAME_MAX 80

/* Why a call from the line has no number: the display name the NGN puts on
 * `anonymous@anonymous.invalid`. SCREEN_R_NONE: the number is there. */
enum screen_reason {
	SCREEN_R_NONE = 0,
	SCREEN_R_WITHHELD,    /* "Anonymous": the caller withheld it (184, or by contract) */
	SCREEN_R_PAYPHONE,    /* "Coin line/payphone" */
	SCREEN_R_UNAVAILABLE, /* "Unavailable": from outside the network (abroad, some IP phones) */
	SCREEN_R_INTERACTION, /* "Interaction with other service" */
	SCREEN_R_COUNT
};

/* "number", "withheld", "payphone", "unavailable", "interaction" (config keys and logs). */
const char *screen_reason_name(enum screen_reason r);
/* The reason a display name of an anonymous From gives (case-insensitive, surrounding quotes
 * and blanks ignored); an unknown or empty one is SCREEN_R_WITHHELD (nothing says why). */
enum screen_reason screen_reason_from_display(const struct pl *dname);
/* Asterisk's CALLERPRES() word: allowed_not_screened for a number, prohib_not_screened for a
 * withheld one (or any reason with Privacy: id), unavailable for payphone/unavailable/
 * interaction (Asterisk's "number unavailable"). */
const char *screen_callerpres(enum screen_reason r, bool privacy_id);

/* A number as shown at home: '+81' and '0081' become '0', full-width digits (UTF-8 U+FF10..19)
 * become ASCII, blanks, '-', '.', '(' and ')' (and their full-width forms) are dropped. Returns
 * 0, or EINVAL when something else is left (letters, an empty number) or out is too small; out
 * is always terminated. */
int screen_number_norm(const char *in, size_t n, char *out, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Rules: mikaka.conf [screening] and [screening:NUMBER], part of a configuration snapshot.
 */
enum screen_action {
	SCREEN_ALLOW = 0, /* ring as usual */
	SCREEN_REJECT,	  /* refused: no phone rings (announcement when local media exists) */
	SCREEN_VOICEMAIL, /* sent to the voicemail target (docs/SCREENING.md) */
};

struct screen_rules;

/* Reads [screening] and every [screening:NUMBER] of mikakaconf (may be NULL). *rp is NULL when
 * there is no [screening] section at all (screening off). Problems go to diags with file:line:
 * bad values and bad numbers are errors (EINVAL), unknown keys warnings. */
int screen_rules_load(struct screen_rules **rp, const struct conf *mikakaconf,
		      struct conf_diags *diags);
void screen_rules_free(struct screen_rules *r);

/* The decision for one call. */
struct screen_verdict {
	enum screen_action action;
	const char *why;    /* "allowlist", "blocklist", "withheld", ... (static) */
	uint16_t code;	    /* the SIP response of a refusal: 433 (withheld), 603 (the others) */
	const char *phones; /* the called number's own phones ("801&802"), or NULL */
	const char *vm_context; /* SCREEN_VOICEMAIL: the context calls go to */
};

struct screen_db;

/* Decides what happens to a call from the line to `called` (may be NULL) from `num` (a
 * normalized number, "" when there is none) with `reason`. r and db may be NULL. Order: the
 * allow-list always rings; then the blocklist (configured and stored), refused with 603; then
 * the reason's rule (the called number's own rule first). Without rules (r NULL: no
 * [screening]) every call is allowed (why "blocklist" still tells a stored entry): the dialplan
 * decides with BLACKLIST() and SCREEN(). */
void screen_decide(const struct screen_rules *r, const struct screen_db *db, const char *called,
		   const char *num, enum screen_reason reason, struct screen_verdict *v);
/* The feature code that blocks the last caller ("144", "" when off) and whether it is on. */
const char *screen_feature_code(const struct screen_rules *r);
/* The phones of an additional number ([screening:NUMBER] phones =), or NULL. */
const char *screen_number_phones(const struct screen_rules *r, const char *called);
/* Numbers with a [screening:NUMBER] section, for the native form's dialplan (i from 0; NULL
 * past the end). */
const char *screen_number_at(const struct screen_rules *r, size_t i);
/* The context screening's voicemail verdict sends calls to (voicemail_context). */
const char *screen_voicemail_context(const struct screen_rules *r);
/* The language of announcements ("ja", "en", "ja,en"). */
const char *screen_language(const struct screen_rules *r);

/* ---------------------------------------------------------------------------------------------
 * The block list and the phonebook: in memory (hash tables, O(1) per lookup), kept in the
 * store's key/value table (keys "block/NUMBER", "pb/NUMBER"), so they survive restarts.
 */

/* Loads both from st (may be NULL: memory only, for tests). */
int screen_db_alloc(struct screen_db **dbp, struct store *st);
void screen_db_free(struct screen_db *db);

/* Whether num is blocked: the number itself, or an entry ending in '*' that is a prefix of it. */
bool screen_db_blocked(const struct screen_db *db, const char *num);
/* Adds (or updates the note of) num; "0120*" is a prefix. 0, EINVAL (not a number), ENOMEM. */
int screen_db_block_add(struct screen_db *db, const char *num, const char *note);
/* ENOENT when absent. */
int screen_db_block_del(struct screen_db *db, const char *num);
/* Removes the entry added last (feature code 3); its number into out (may be NULL). ENOENT. */
int screen_db_block_undo(struct screen_db *db, char *out, size_t size);
/* Removes every entry; returns how many there were. */
size_t screen_db_block_clear(struct screen_db *db);
size_t screen_db_block_count(const struct screen_db *db);
/* `block show`: one line per entry, oldest first. */
void screen_db_block_show(const struct screen_db *db, struct mbuf *out);

/* The last caller of the line with a number (what 144 then 2 blocks); "" when none yet. */
void screen_db_set_last(struct screen_db *db, const char *num);
const char *screen_db_last(const struct screen_db *db);

/* The phonebook's name for num, or NULL. */
const char *screen_db_name(const struct screen_db *db, const char *num);
int screen_db_pb_set(struct screen_db *db, const char *num, const char *name);
int screen_db_pb_del(struct screen_db *db, const char *num);
/* Removes every entry; returns how many there were. */
size_t screen_db_pb_clear(struct screen_db *db);
size_t screen_db_pb_count(const struct screen_db *db);
void screen_db_pb_show(const struct screen_db *db, struct mbuf *out);
/* Every block-list entry (oldest first; num without the '*' of a prefix, note "" when none) or
 * every phonebook entry (note: the name; added 0), for the web console's JSON. */
typedef void(screen_ent_h)(const char *num, bool prefix, int64_t added, const char *note,
			   void *arg);
void screen_db_block_foreach(const struct screen_db *db, screen_ent_h *h, void *arg);
void screen_db_pb_foreach(const struct screen_db *db, screen_ent_h *h, void *arg);

/* Phonebook files: CSV (name,number per line; a header line is skipped; quotes allowed) or vCard
 * 3.0/4.0 (FN and every TEL of a card), detected from the content; UTF-8 or Shift_JIS (converted
 * with iconv). Each entry goes to h; each bad line is reported to report as "file:line: why".
 * Returns the number of entries given, or -1 with errno set when the file cannot be read. */
typedef int(screen_pb_h)(const char *num, const char *name, void *arg);
long screen_pb_parse(const char *file, const char *buf, size_t len, screen_pb_h *h, void *arg,
		     struct mbuf *report);
/* `phonebook import FILE`: parse and add every entry (report into out). */
int screen_db_pb_import(struct screen_db *db, const char *path, struct mbuf *out);

/* Registers `block add|del|show|last|undo|clear` and `phonebook import|show|del`. */
int screen_ctl_register(struct ctl *ctl, struct screen_db *db);

#endif /* MIKAKA_SCREEN_H */
