/* cfg: one loaded configuration: sip.conf, extensions.conf and mikaka.conf read, checked and
 * interpreted together (listening settings, peers, the dialplan), refcounted so that calls and
 * registrations keep the snapshot they started with while a reload installs a new one. */
#ifndef MIKAKA_CFG_H
#define MIKAKA_CFG_H

#include "base.h"
#include "conf.h"
#include "server.h"

struct sipcfg;
struct dialplan;
struct pbx_vars;
struct cfg_secrets;
struct screen_rules;

/* One phone of the native form (mikaka.conf [phones]), in the order written. */
struct cfg_phone {
	char *name;
	char *secret;		  /* as written, or the generated one */
	struct conf_origin origin; /* the mikaka.conf line that names it */
	bool generated;		  /* written without a secret: generated and kept in the state */
};

/* Immutable once loaded. Take a reference with mem_ref(), drop it with mem_deref(). */
struct cfg {
	char *dir;
	struct conf *sip;	 /* NULL when the file is absent */
	struct conf *extensions; /* NULL when absent */
	struct conf *mikaka;	 /* NULL when absent */
	struct server_settings server;
	struct sipcfg *peers;	   /* never NULL (empty when sip.conf is absent) */
	struct dialplan *dialplan; /* never NULL (empty when extensions.conf is absent) */
	struct cfg_phone *phones;  /* the native form's phones (NULL with a sip.conf) */
	size_t nphones;
	struct screen_rules *screen; /* mikaka.conf [screening] (NULL: screening off) */
	/* features.conf [general] pickupexten: what a phone dials for a group pickup (Asterisk's
	 * default *8; "" when set empty: none). */
	char pickupexten[32];
	/* features.conf [general] parking (Asterisk's keys and defaults): parkext 700 (dialled
	 * in a context that includes `context`: Park()), parkpos 701-720 (the spaces; dialled:
	 * ParkedCall()), parkingtime 45 s, context parkedcalls (made unless extensions.conf has
	 * it), comebacktoorigin yes (a call parked by a transfer rings the transferring phone
	 * again when its time is up). */
#define CFG_PARK_SPACES_MAX 100
	struct cfg_park {
		char ext[16];
		unsigned first, last;
		unsigned time_s;
		char context[80];
		bool comeback;
	} park;
};

/* Reads DIR/sip.conf, DIR/extensions.conf, DIR/features.conf (pickupexten) and DIR/mikaka.conf (each optional; a missing sip.conf
 * is a warning), interprets them and runs the checks of `mikakad -t` (Goto targets, unknown
 * applications, peers without host, unreachable contexts). `line_vars` (may be NULL) are the
 * line's values (LINE_NUMBER, ...) given to the dialplan as globals. Every problem is appended
 * to diags with file:line. Returns 0 and sets *cfgp, or EINVAL when any error was found. */
int cfg_load(struct cfg **cfgp, const char *dir, const struct pbx_vars *line_vars,
	     struct conf_diags *diags);
/* cfg_load, with the store of generated phone secrets (see below). A [phones] entry written
 * without a secret ("801 =", "803-805 =") takes its secret from `secrets`, which generates and
 * keeps one the first time. With secrets NULL (mikakad -t, tests) or in its dry mode, such a
 * phone gets a random secret that lives only in this snapshot, so nobody can register as it.
 * Returns 0, EINVAL (configuration errors), ENOMEM, or EIO when a generated secret could not be
 * kept (then a diagnostic names the phone, the file and the reason). */
int cfg_load_secrets(struct cfg **cfgp, const char *dir, const struct pbx_vars *line_vars,
		     struct cfg_secrets *secrets, struct conf_diags *diags);

/* -----------------------------------------------------------------------------------------
 * Generated phone secrets: state, not configuration. One file (STATEDIR/phones.secrets, mode
 * 0600, the configuration syntax with a [phones] section) written whole and renamed into place,
 * so a secret once handed out survives restarts and never changes; a file that cannot be read
 * is never overwritten. A phone removed from mikaka.conf keeps its line (it gets the same
 * secret back if it returns).
 */
#define CFG_SECRETS_FILE "phones.secrets"
/* Length of a generated secret: [0-9a-z], about 82 bits. */
#define CFG_SECRET_LEN 16

/* Reads path when it exists (a missing file is an empty store; nothing is written until a
 * secret is generated). Returns 0, or EINVAL with a diagnostic when the file exists but cannot
 * be read or parsed, or ENOMEM. */
int cfg_secrets_open(struct cfg_secrets **sp, const char *path, struct conf_diags *diags);
void cfg_secrets_free(struct cfg_secrets *s);
/* STATEDIR/phones.secrets where STATEDIR is the directory of dbpath ("." without a slash). */
void cfg_secrets_path(char *buf, size_t size, const char *dbpath);
const char *cfg_secrets_file(const struct cfg_secrets *s);
/* The stored secret of phone, or NULL. */
const char *cfg_secrets_find(const struct cfg_secrets *s, const char *phone);
/* The secret of phone: the stored one, or a new one generated and written to the file (its
 * directory is created when missing) before it is returned. 0, or the errno of the failed
 * write (EACCES, EROFS, ENOSPC, ...) with nothing changed. In dry mode, see below. */
int cfg_secrets_get(struct cfg_secrets *s, const char *phone, const char **secretp);
/* Dry mode (s may be NULL: nothing happens): cfg_secrets_get gives *secretp NULL for a phone
 * with no stored secret, writes nothing and counts it (cfg_secrets_pending), so a configuration
 * can be checked before secrets are handed out for it. Turning it on or off resets the count.
 */
void cfg_secrets_set_dry(struct cfg_secrets *s, bool dry);
/* Phones met in dry mode without a stored secret (0 for NULL). */
size_t cfg_secrets_pending(const struct cfg_secrets *s);
/* Whether phone's secret was generated by this process and not yet marked announced. */
bool cfg_secrets_is_new(const struct cfg_secrets *s, const char *phone);
/* Marks every secret announced (printed once, at generation). */
void cfg_secrets_announced(struct cfg_secrets *s);

/* The phones of the native form and where to register, for `mikaka phones show` and the
 * first-start notice: the server's UDP/TCP addresses (an unspecified address stands for the
 * host's own addresses, listed), then one line per phone. With only_new, only the phones whose
 * secret secrets generated in this process and did not announce yet; nothing is written and 0
 * returned when there is none. */
int cfg_phones_show(const struct cfg *cfg, const struct cfg_secrets *secrets, bool only_new,
		    struct mbuf *out);

/* Formats every diagnostic as "file:line: error: message\n" into out. */
void cfg_diags_format(const struct conf_diags *diags, struct mbuf *out);

#endif /* MIKAKA_CFG_H */
