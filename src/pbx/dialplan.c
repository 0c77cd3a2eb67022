/* dialplan: loads extensions.conf into contexts (exact extensions in a hash table, patterns in a
 * trie kept in Asterisk's sort order), finds what runs for a number, `dialplan show` and the
 * `mikakad -t` checks. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

static const char *const app_names[PBX_APP_COUNT] = {
    [PBX_APP_NOOP] = "NoOp",
    [PBX_APP_SET] = "Set",
    [PBX_APP_GOTO] = "Goto",
    [PBX_APP_GOTOIF] = "GotoIf",
    [PBX_APP_GOSUB] = "Gosub",
    [PBX_APP_RETURN] = "Return",
    [PBX_APP_ANSWER] = "Answer",
    [PBX_APP_HANGUP] = "Hangup",
    [PBX_APP_WAIT] = "Wait",
    [PBX_APP_BUSY] = "Busy",
    [PBX_APP_CONGESTION] = "Congestion",
    [PBX_APP_PROGRESS] = "Progress",
    [PBX_APP_RINGING] = "Ringing",
    [PBX_APP_VERBOSE] = "Verbose",
    [PBX_APP_LOG] = "Log",
    [PBX_APP_DIAL] = "Dial",
    [PBX_APP_PLAYBACK] = "Playback",
    [PBX_APP_BACKGROUND] = "Background",
    [PBX_APP_WAITEXTEN] = "WaitExten",
    [PBX_APP_READ] = "Read",
    [PBX_APP_SAYDIGITS] = "SayDigits",
    [PBX_APP_SAYNUMBER] = "SayNumber",
    [PBX_APP_ECHO] = "Echo",
    [PBX_APP_RECORD] = "Record",
    [PBX_APP_MILLIWATT] = "Milliwatt",
    [PBX_APP_MOH] = "MusicOnHold",
    [PBX_APP_MIXMONITOR] = "MixMonitor",
    [PBX_APP_STOPMIXMONITOR] = "StopMixMonitor",
    [PBX_APP_VOICEMAIL] = "VoiceMail",
    [PBX_APP_VOICEMAILMAIN] = "VoiceMailMain",
    [PBX_APP_PICKUP] = "Pickup",
    [PBX_APP_PICKUPCHAN] = "PickupChan",
    [PBX_APP_DBDEL] = "DBdel",
    [PBX_APP_DBDELTREE] = "DBdeltree",
    [PBX_APP_SIPADDHEADER] = "SIPAddHeader",
    [PBX_APP_SIPREMOVEHEADER] = "SIPRemoveHeader",
    [PBX_APP_GOTOIFTIME] = "GotoIfTime",
    [PBX_APP_EXECIFTIME] = "ExecIfTime",
    [PBX_APP_EXECIF] = "ExecIf",
    [PBX_APP_GOSUBIF] = "GosubIf",
    [PBX_APP_MSET] = "MSet",
    [PBX_APP_WHILE] = "While",
    [PBX_APP_ENDWHILE] = "EndWhile",
    [PBX_APP_EXITWHILE] = "ExitWhile",
    [PBX_APP_CONTINUEWHILE] = "ContinueWhile",
    [PBX_APP_EXEC] = "Exec",
    [PBX_APP_AUTHENTICATE] = "Authenticate",
    [PBX_APP_CONFBRIDGE] = "ConfBridge",
    [PBX_APP_MEETME] = "MeetMe",
    [PBX_APP_MACRO] = "Macro",
    [PBX_APP_MACROEXIT] = "MacroExit",
    [PBX_APP_SENDDTMF] = "SendDTMF",
    [PBX_APP_CHANISAVAIL] = "ChanIsAvail",
    [PBX_APP_PLAYTONES] = "Playtones",
    [PBX_APP_STOPPLAYTONES] = "StopPlaytones",
    [PBX_APP_PARK] = "Park",
    [PBX_APP_PARKEDCALL] = "ParkedCall",
    [PBX_APP_SYSTEM] = "System",
    [PBX_APP_TRYSYSTEM] = "TrySystem",
    [PBX_APP_PRIVACYMANAGER] = "PrivacyManager",
    [PBX_APP_ZAPATELLER] = "Zapateller",
    [PBX_APP_SAYALPHA] = "SayAlpha",
    [PBX_APP_SAYPHONETIC] = "SayPhonetic",
    [PBX_APP_DISA] = "DISA",
    [PBX_APP_SAYUNIXTIME] = "SayUnixTime",
    [PBX_APP_DATETIME] = "DateTime",
    [PBX_APP_MAILBOXEXISTS] = "MailboxExists",
    [PBX_APP_WAITUNTIL] = "WaitUntil",
    [PBX_APP_WAITMOH] = "WaitMusicOnHold",
    [PBX_APP_SETCALLERPRES] = "SetCallerPres",
    [PBX_APP_PROCEEDING] = "Proceeding",
    [PBX_APP_READEXTEN] = "ReadExten",
    [PBX_APP_UNSUPPORTED] = "", /* never looked up by name */
};

/* Loops are found by position, as Asterisk finds them: no state to keep across Gosub frames
 * or lose on a Goto out of the loop. */
long dp_while_partner(const struct dp_ext *e, size_t i)
{
	unsigned depth = 0;

	if (e->prios[i].app == PBX_APP_WHILE) {
		for (size_t j = i + 1; j < e->nprios; j++) {
			if (e->prios[j].app == PBX_APP_WHILE)
				depth++;
			else if (e->prios[j].app == PBX_APP_ENDWHILE && !depth--)
				return (long)j;
		}
		return -1;
	}
	if (e->prios[i].app == PBX_APP_ENDWHILE)
		return dp_while_enclosing(e, i);
	return -1;
}

long dp_while_enclosing(const struct dp_ext *e, size_t i)
{
	unsigned depth = 0;

	for (size_t j = i; j-- > 0;) {
		if (e->prios[j].app == PBX_APP_ENDWHILE)
			depth++;
		else if (e->prios[j].app == PBX_APP_WHILE && !depth--)
			return (long)j;
	}
	return -1;
}

const char *pbx_app_name(enum pbx_app app)
{
	return app < PBX_APP_COUNT ? app_names[app] : "?";
}

int pbx_app_lookup(const char *name, size_t n, enum pbx_app *appp)
{
	for (size_t i = 0; i < PBX_APP_COUNT; i++) {
		if (n && strlen(app_names[i]) == n && strncasecmp(app_names[i], name, n) == 0) {
			*appp = (enum pbx_app)i;
			return 0;
		}
	}
	return ENOENT;
}

/* Asterisk's applications (Asterisk 13-20, `core show applications`) that mikaka does not have. */
static const char *const asterisk_only_apps[] = {
    "AddQueueMember", "ADSIProg", "AELSub", "AGI", "AlarmReceiver", "AMD", "AttendedTransfer",
    "AudioSocket", "BackgroundDetect", "BlindTransfer", "Bridge", "BridgeAdd", "BridgeWait",
    "CallCompletionCancel", "CallCompletionRequest", "CELGenUserEvent", "ChangeMonitor",
    "ChanSpy", "ClearHash", "ConfKick", "ControlPlayback", "DAHDIRAS", "DAHDIScan",
    "DeadAGI", "Dictate", "Directory", "DumpChan", "EAGI", "ExtenSpy", "ExternalIVR",
    "Festival", "Flash", "FollowMe", "ForkCDR", "GetCPEID", "IAX2Provision", "ICES", "ImportVar",
    "JabberSend", "JabberStatus", "JACK", "MacroExclusive", "MacroIf",
    "MeetMeAdmin", "MeetMeChannelAdmin", "MeetMeCount", "MessageSend", "MinivmAccMess",
    "MinivmDelete", "MinivmGreet", "MinivmMWI", "MinivmNotify", "MinivmRecord", "Monitor",
    "Morsecode", "MP3Player", "NBScat", "NoCDR", "ODBC_Commit", "ODBC_Rollback", "ODBCFinish",
    "Originate", "Page", "ParkAndAnnounce", "PauseMonitor", "PauseQueueMember",
    "Queue", "QueueLog", "QueueUpdate", "RaiseException",
    "ReceiveFAX", "ReceiveMF", "ReceiveSMS", "ReceiveText", "Reload", "RemoveQueueMember",
    "ResetCDR", "RetryDial", "SayAlphaCase", "SayCountedAdj", "SayCountedNoun",
    "SayMoney", "SayOrdinal", "SendFAX", "SendImage", "SendMF",
    "SendSMS", "SendText", "SendURL", "SetAMAFlags", "SIPDtmfMode", "SLAStation",
    "SLATrunk", "SMS", "SoftHangup", "SpeechActivateGrammar", "SpeechBackground",
    "SpeechCreate", "SpeechDeactivateGrammar", "SpeechDestroy", "SpeechLoadGrammar",
    "SpeechProcessingSound", "SpeechStart", "SpeechUnloadGrammar", "StackPop",
    "StartMusicOnHold", "Stasis", "StasisWait", "StopMonitor", "StopMusicOnHold", "StreamEcho",
    "TestClient", "TestServer", "Transfer", "TryExec", "UnpauseMonitor",
    "UnpauseQueueMember", "UserEvent", "VMAuthenticate", "VMSayName", "VoiceMailPlayMsg",
    "WaitDigit", "WaitForCondition", "WaitForNoise", "WaitForRing", "WaitForSilence",
    "WaitForTone",
};

bool pbx_app_asterisk_only(const char *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(asterisk_only_apps); i++) {
		if (strlen(asterisk_only_apps[i]) == n &&
		    strncasecmp(asterisk_only_apps[i], name, n) == 0)
			return true;
	}
	return false;
}

/* ---- patterns -------------------------------------------------------------------------------- */


static void set_add(uint8_t *set, unsigned c)
{
	set[c / 8] |= (uint8_t)(1u << (c % 8));
}

static bool set_has(const uint8_t *set, unsigned c)
{
	return set[c / 8] & (1u << (c % 8));
}

static void el_range(struct pat_el *el, unsigned lo, unsigned hi)
{
	el->kind = DP_EL_SET;
	for (unsigned c = lo; c <= hi; c++)
		set_add(el->set, c);
	el->weight = ((hi - lo + 1) << 8) | lo;
}

/* Compiles the text after '_' into positions. EINVAL for an empty pattern, an unclosed or empty
 * [...] set; E2BIG when it is too long. */
int dp_pat_compile(const char *p, struct pat_el *els, size_t max, size_t *np)
{
	size_t n = 0;

	for (; *p; p++) {
		struct pat_el *el;
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '-')
			continue;
		if (n == max)
			return E2BIG;
		el = &els[n++];
		memset(el, 0, sizeof(*el));
		switch (c) {
		case 'X':
		case 'x':
			el_range(el, '0', '9');
			break;
		case 'Z':
		case 'z':
			el_range(el, '1', '9');
			break;
		case 'N':
		case 'n':
			el_range(el, '2', '9');
			break;
		case '.':
			el->kind = DP_EL_DOT;
			el->weight = DP_W_DOT;
			break;
		case '!':
			el->kind = DP_EL_BANG;
			el->weight = DP_W_BANG;
			break;
		case '[': {
			unsigned count = 0, first = 256;
			const char *q = p + 1;

			for (; *q && *q != ']'; q++) {
				unsigned lo = (unsigned char)*q, hi = lo;

				if (q[1] == '-' && q[2] && q[2] != ']') {
					hi = (unsigned char)q[2];
					q += 2;
				}
				if (hi < lo)
					return EINVAL;
				for (unsigned x = lo; x <= hi; x++)
					set_add(el->set, x);
			}
			if (*q != ']')
				return EINVAL;
			for (unsigned x = 0; x < 256; x++) {
				if (set_has(el->set, x)) {
					count++;
					if (first == 256)
						first = x;
				}
			}
			if (!count)
				return EINVAL;
			p = q;
			if (count == 1) {
				/* [5] is the literal 5: same weight, same set. */
				memset(el->set, 0, sizeof(el->set));
				el->kind = DP_EL_LIT;
				el->c = (uint8_t)first;
				el->weight = 0x100u | first;
			} else {
				el->kind = DP_EL_SET;
				el->weight = (count << 8) | first;
			}
			break;
		}
		default:
			el->kind = DP_EL_LIT;
			el->c = c;
			el->weight = 0x100u | c;
			break;
		}
	}
	if (!n)
		return EINVAL;
	*np = n;
	return 0;
}

/* Asterisk's order of two positions: by weight, then (equal weight, different sets) by the sets
 * compared as bytes, the larger one first. */
static int el_cmp(uint32_t wa, uint8_t ka, const uint8_t *sa, uint32_t wb, uint8_t kb,
		  const uint8_t *sb)
{
	if (wa != wb)
		return wa < wb ? -1 : 1;
	if (ka == DP_EL_SET && kb == DP_EL_SET)
		return memcmp(sb, sa, 32);
	return 0;
}

/* Strips '-' and ' ' (Asterisk ignores them in extensions and dialled numbers). */
int dp_exten_norm(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '-' || *s == ' ')
			continue;
		if (n + 1 >= size)
			return E2BIG;
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return 0;
}

int dp_ext_cmp(const char *a, const char *b)
{
	struct pat_el ea[DP_EXTEN_MAX], eb[DP_EXTEN_MAX];
	size_t na, nb;

	if (a[0] != '_' || b[0] != '_') {
		char x[DP_EXTEN_MAX], y[DP_EXTEN_MAX];

		if (a[0] != '_' && b[0] == '_')
			return -1;
		if (a[0] == '_')
			return 1;
		if (dp_exten_norm(a, x, sizeof(x)) || dp_exten_norm(b, y, sizeof(y)))
			return strcmp(a, b);
		return strcmp(x, y);
	}
	if (dp_pat_compile(a + 1, ea, DP_EXTEN_MAX, &na) || dp_pat_compile(b + 1, eb, DP_EXTEN_MAX, &nb))
		return strcmp(a, b);
	for (size_t i = 0;; i++) {
		uint32_t wa = i < na ? ea[i].weight : DP_W_END;
		uint32_t wb = i < nb ? eb[i].weight : DP_W_END;
		int c;

		if (i >= na && i >= nb)
			return 0;
		c = el_cmp(wa, i < na ? ea[i].kind : 0, i < na ? ea[i].set : NULL, wb,
			   i < nb ? eb[i].kind : 0, i < nb ? eb[i].set : NULL);
		if (c)
			return c;
	}
}

static bool pat_match_els(const struct pat_el *els, size_t n, const char *s)
{
	size_t i = 0;

	for (; *s; s++) {
		if (*s == '-')
			continue;
		if (i == n)
			return false;
		switch (els[i].kind) {
		case DP_EL_LIT:
			if ((unsigned char)*s != els[i].c)
				return false;
			break;
		case DP_EL_SET:
			if (!set_has(els[i].set, (unsigned char)*s))
				return false;
			break;
		case DP_EL_DOT:
		case DP_EL_BANG:
			return true;
		}
		i++;
	}
	return i == n || els[i].kind == DP_EL_BANG;
}

bool dp_ext_match(const char *name, const char *exten)
{
	struct pat_el els[DP_EXTEN_MAX];
	char x[DP_EXTEN_MAX], y[DP_EXTEN_MAX];
	size_t n;

	if (name[0] != '_') {
		if (dp_exten_norm(name, x, sizeof(x)) || dp_exten_norm(exten, y, sizeof(y)))
			return false;
		return strcmp(x, y) == 0;
	}
	if (dp_pat_compile(name + 1, els, DP_EXTEN_MAX, &n))
		return false;
	return pat_match_els(els, n, exten);
}

/* ---- the trie -------------------------------------------------------------------------------- */

/* X, Z and N are shared by every edge that uses them instead of one copy per edge. */
static uint8_t set_x[32], set_z[32], set_n[32];

static uint8_t *set_shared(const uint8_t *set)
{
	static bool init;

	if (!init) {
		for (unsigned c = '0'; c <= '9'; c++) {
			set_add(set_x, c);
			if (c >= '1')
				set_add(set_z, c);
			if (c >= '2')
				set_add(set_n, c);
		}
		init = true;
	}
	if (!memcmp(set, set_x, 32))
		return set_x;
	if (!memcmp(set, set_z, 32))
		return set_z;
	if (!memcmp(set, set_n, 32))
		return set_n;
	return NULL;
}

static void set_free(uint8_t *set)
{
	if (set != set_x && set != set_z && set != set_n)
		free(set);
}

static void node_free(struct dp_node *n)
{
	for (uint32_t i = 0; i < n->nedges; i++) {
		node_free(n->edges[i].child);
		free(n->edges[i].child);
		set_free(n->edges[i].el.set);
	}
	free(n->edges);
}

/* The node reached by the positions, created as needed. */
int dp_trie_insert(struct dp_node *n, const struct pat_el *els, size_t nels,
		       struct dp_node **nodep)
{
	for (size_t k = 0; k < nels; k++) {
		const struct pat_el *el = &els[k];
		uint32_t lo = 0, hi = n->nedges;
		struct dp_edge *e;

		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			const struct dp_edge *m = &n->edges[mid];
			int c = el_cmp(m->el.weight, m->el.kind, m->el.set, el->weight, el->kind,
				       el->set);

			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n->nedges && !el_cmp(n->edges[lo].el.weight, n->edges[lo].el.kind,
					      n->edges[lo].el.set, el->weight, el->kind, el->set)) {
			n = n->edges[lo].child;
			continue;
		}
		if (n->nedges == n->cap) {
			uint32_t cap = n->cap ? n->cap * 2 : 1;
			struct dp_edge *ne = realloc(n->edges, cap * sizeof(*ne));

			if (!ne)
				return ENOMEM;
			n->edges = ne;
			n->cap = cap;
		}
		e = &n->edges[lo];
		memmove(e + 1, e, (n->nedges - lo) * sizeof(*e));
		memset(e, 0, sizeof(*e));
		n->nedges++;
		e->el.weight = el->weight;
		e->el.kind = el->kind;
		e->el.c = el->c;
		e->child = calloc(1, sizeof(*e->child));
		if (el->kind == DP_EL_SET) {
			e->el.set = set_shared(el->set);
			if (!e->el.set) {
				e->el.set = malloc(32);
				if (e->el.set)
					memcpy(e->el.set, el->set, 32);
			}
		}
		if (!e->child || (el->kind == DP_EL_SET && !e->el.set)) {
			free(e->child);
			set_free(e->el.set);
			n->nedges--;
			memmove(e, e + 1, (n->nedges - lo) * sizeof(*e));
			return ENOMEM;
		}
		if (el->kind == DP_EL_LIT)
			n->nlit++;
		n = e->child;
	}
	*nodep = n;
	return 0;
}

/* Sets `first` in every node, and appends the patterns in order to list (when not NULL). */
struct dp_ext *dp_trie_finish(struct dp_node *n, struct dp_ext **list, size_t *count)
{
	n->first = NULL;
	for (uint32_t i = 0; i < n->nedges; i++) {
		struct dp_ext *f = dp_trie_finish(n->edges[i].child, list, count);

		if (!n->first)
			n->first = f;
	}
	if (n->term) {
		if (!n->first)
			n->first = n->term;
		if (list)
			list[(*count)++] = n->term;
	}
	return n->first;
}

const struct dp_prio *dp_ext_prio(const struct dp_ext *e, const struct dp_want *w)
{
	if (!e || !e->nprios)
		return NULL;
	if (w->label) {
		for (size_t i = 0; i < e->nprios; i++) {
			if (e->prios[i].label && !strcmp(e->prios[i].label, w->label))
				return &e->prios[i];
		}
		return NULL;
	}
	if (!w->prio)
		return &e->prios[0];
	size_t lo = 0, hi = e->nprios;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (e->prios[mid].prio < w->prio)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->nprios && e->prios[lo].prio == w->prio ? &e->prios[lo] : NULL;
}

/* The first pattern of the subtree that has the wanted priority. */
static const struct dp_ext *trie_first(const struct dp_node *n, const struct dp_want *w)
{
	if (!n->first)
		return NULL;
	if (dp_ext_prio(n->first, w))
		return n->first;
	for (uint32_t i = 0; i < n->nedges; i++) {
		const struct dp_ext *r = trie_first(n->edges[i].child, w);

		if (r)
			return r;
	}
	return n->term && dp_ext_prio(n->term, w) ? n->term : NULL;
}

/* Depth-first in edge order: the first pattern met is the first in Asterisk's sorted list. */
static const struct dp_ext *trie_match(const struct dp_node *n, const char *s, size_t len,
				       size_t pos, const struct dp_want *w)
{
	const struct dp_ext *r;

	if (pos < len) {
		unsigned char c = (unsigned char)s[pos];
		uint32_t lo = 0, hi = n->nlit;

		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;

			if (n->edges[mid].el.c < c)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n->nlit && n->edges[lo].el.c == c) {
			r = trie_match(n->edges[lo].child, s, len, pos + 1, w);
			if (r)
				return r;
		}
		for (uint32_t i = n->nlit; i < n->nedges; i++) {
			const struct dp_edge *e = &n->edges[i];

			if (e->el.kind == DP_EL_SET) {
				if (!set_has(e->el.set, c))
					continue;
				r = trie_match(e->child, s, len, pos + 1, w);
			} else {
				/* '.' (one or more: there is one) and '!' match the rest. */
				r = trie_first(e->child, w);
			}
			if (r)
				return r;
		}
		return NULL;
	}
	for (uint32_t i = n->nlit; i < n->nedges; i++) {
		if (n->edges[i].el.kind == DP_EL_BANG) {
			r = trie_first(n->edges[i].child, w);
			if (r)
				return r;
		}
	}
	return n->term && dp_ext_prio(n->term, w) ? n->term : NULL;
}

/* ---- lookup ---------------------------------------------------------------------------------- */

const struct dp_ctx *dp_ctx_find(const struct dialplan *dp, const char *name)
{
	uint32_t key;

	if (!dp || !name)
		return NULL;
	key = hash_bytes(name, strlen(name));
	LIST_FOREACH(htab_bucket(&dp->ctxs, key), le)
	{
		const struct dp_ctx *c = le->data;

		if (le->key == key && !strcmp(c->name, name))
			return c;
	}
	return NULL;
}

struct dp_ext *dp_exact_find(const struct dp_ctx *ctx, const char *key, size_t len)
{
	uint32_t h = hash_bytes(key, len);

	LIST_FOREACH(htab_bucket(&ctx->exact, h), le)
	{
		struct dp_ext *e = le->data;

		if (le->key == h && !strcmp(e->key, key))
			return e;
	}
	return NULL;
}

struct dp_search {
	const char *s;
	size_t len;
	const char *cid; /* the caller's number, or NULL */
	bool any_cid;	 /* an extension for any caller ID counts (checks) */
	const struct dp_want *want;
	bool any_time; /* count time-restricted includes in whatever the time */
	bool have_now;
	time_t now;
	const struct dp_ctx *seen[DP_INCLUDE_MAX];
	size_t nseen;
};

static const struct dp_prio *ctx_search(const struct dp_ctx *ctx, struct dp_search *q,
					const struct dp_ext **extp)
{
	const struct dp_ext *e;
	const struct dp_prio *p;

	for (size_t i = 0; i < q->nseen; i++) {
		if (q->seen[i] == ctx)
			return NULL;
	}
	if (q->nseen == DP_INCLUDE_MAX)
		return NULL;
	q->seen[q->nseen++] = ctx;

	/* exten => NAME/CID first, as Asterisk prefers the extension for that caller. */
	for (size_t i = 0; i < ctx->ncid && (q->any_cid || (q->cid && *q->cid)); i++) {
		e = ctx->cidexts[i];
		if (!(e->pattern ? dp_ext_match(e->name, q->s) : !strcmp(e->key, q->s)) ||
		    !(q->any_cid || dp_ext_match(e->cid, q->cid)))
			continue;
		p = dp_ext_prio(e, q->want);
		if (p) {
			if (extp)
				*extp = e;
			return p;
		}
	}
	e = dp_exact_find(ctx, q->s, q->len);
	p = dp_ext_prio(e, q->want);
	if (!p) {
		e = ctx->root.first ? trie_match(&ctx->root, q->s, q->len, 0, q->want) : NULL;
		p = dp_ext_prio(e, q->want);
	}
	if (p) {
		if (extp)
			*extp = e;
		return p;
	}
	for (size_t i = 0; i < ctx->nincs; i++) {
		const struct dp_include *inc = &ctx->incs[i];

		if (!inc->ctx)
			continue;
		if (inc->timing && !q->any_time) {
			if (!q->have_now) {
				q->now = pbx_now();
				q->have_now = true;
			}
			if (!pbx_timing_match(inc->timing, q->now))
				continue;
		}
		p = ctx_search(inc->ctx, q, extp);
		if (p)
			return p;
	}
	return NULL;
}

static const struct dp_prio *find(const struct dp_ctx *ctx, const char *exten, const char *cid,
				  const struct dp_want *want, const struct dp_ext **extp,
				  bool any_time, bool any_cid)
{
	struct dp_search q;
	char buf[DP_EXTEN_MAX], cbuf[DP_EXTEN_MAX];

	if (!ctx || !exten || dp_exten_norm(exten, buf, sizeof(buf)))
		return NULL;
	q.s = buf;
	q.len = strlen(buf);
	q.cid = cid && !dp_exten_norm(cid, cbuf, sizeof(cbuf)) ? cbuf : NULL;
	q.any_cid = any_cid;
	q.want = want;
	q.any_time = any_time;
	q.have_now = false;
	q.nseen = 0;
	return ctx_search(ctx, &q, extp);
}

const struct dp_prio *dp_find(const struct dialplan *dp, const struct dp_ctx *ctx,
			      const char *exten, const struct dp_want *want,
			      const struct dp_ext **extp)
{
	(void)dp;
	return find(ctx, exten, NULL, want, extp, false, false);
}

const struct dp_prio *dp_find_cid(const struct dialplan *dp, const struct dp_ctx *ctx,
				  const char *exten, const char *cid, const struct dp_want *want,
				  const struct dp_ext **extp)
{
	(void)dp;
	return find(ctx, exten, cid, want, extp, false, false);
}

const struct dp_prio *dp_find_any_time(const struct dialplan *dp, const struct dp_ctx *ctx,
				       const char *exten, const struct dp_want *want,
				       const struct dp_ext **extp)
{
	(void)dp;
	return find(ctx, exten, NULL, want, extp, true, true);
}

int dialplan_find(const struct dialplan *dp, const char *context, const char *exten,
		  unsigned priority, const char **namep)
{
	struct dp_want w = {priority, NULL};
	const struct dp_ext *e = NULL;

	/* An extension for some caller ID counts too. */
	if (!find(dp_ctx_find(dp, context), exten, NULL, &w, &e, false, true))
		return ENOENT;
	if (namep)
		*namep = e->name;
	return 0;
}

/* One pattern character against one digit: X, Z, N, [set] or a literal; *adv gets the
 * pattern characters used. -1 for a malformed set. */
static int pat_char_match(const char *p, char c, size_t *adv)
{
	char u = (char)toupper((unsigned char)*p);

	*adv = 1;
	if (u == 'X')
		return c >= '0' && c <= '9';
	if (u == 'Z')
		return c >= '1' && c <= '9';
	if (u == 'N')
		return c >= '2' && c <= '9';
	if (*p == '[') {
		const char *e = strchr(p, ']');
		bool hit = false;

		if (!e)
			return -1;
		*adv = (size_t)(e - p) + 1;
		for (const char *q = p + 1; q < e; q++) {
			if (q + 2 < e && q[1] == '-') {
				if (c >= q[0] && c <= q[2])
					hit = true;
				q += 2;
			} else if (*q == c) {
				hit = true;
			}
		}
		return hit;
	}
	return *p == c;
}

bool dp_ext_match_more(const char *name, const char *exten)
{
	size_t adv;

	if (name[0] != '_') {
		const char *e = exten;

		for (const char *n = name; *n; n++) {
			if (*n == '-' || *n == ' ')
				continue;
			if (!*e)
				return true; /* exten used up, the name goes on */
			if (*n != *e)
				return false;
			e++;
		}
		return false;
	}
	const char *p = name + 1;
	for (const char *e = exten; *e; e++) {
		while (*p == '-' || *p == ' ')
			p++;
		if (!*p)
			return false;
		if (*p == '.' || *p == '!')
			return true;
		int r = pat_char_match(p, *e, &adv);
		if (r <= 0)
			return false;
		p += adv;
	}
	while (*p == '-' || *p == ' ')
		p++;
	return *p != '\0';
}

bool dp_visit_first(struct dp_visit *v, const struct dp_ctx *ctx)
{
	for (size_t i = 0; i < v->n; i++) {
		if (v->ctx[i] == ctx)
			return false;
	}
	if (v->n == DP_INCLUDE_MAX)
		return false; /* as deep as an include chain is followed anywhere */
	v->ctx[v->n++] = ctx;
	return true;
}

static bool can_match_more(const struct dialplan *dp, const struct dp_ctx *ctx, const char *exten,
			   unsigned depth, struct dp_visit *v)
{
	if (!ctx || depth > 32 || !dp_visit_first(v, ctx))
		return false;
	for (size_t i = 0; i < ctx->nexts; i++)
		if (dp_ext_match_more(ctx->exts[i]->name, exten))
			return true;
	for (size_t i = 0; i < ctx->nincs; i++) {
		if (ctx->incs[i].timing && !pbx_timing_match(ctx->incs[i].timing, pbx_now()))
			continue; /* an include outside its time is not there */
		if (can_match_more(dp, ctx->incs[i].ctx, exten, depth + 1, v))
			return true;
	}
	return false;
}

bool dp_can_match_more(const struct dialplan *dp, const struct dp_ctx *ctx, const char *exten)
{
	struct dp_visit v;

	v.n = 0;
	return can_match_more(dp, ctx, exten, 0, &v);
}

bool dialplan_reads_sip_headers(const struct dialplan *dp)
{
	return dp && dp->reads_sip_headers;
}

bool dialplan_has_context(const struct dialplan *dp, const char *context)
{
	return dp_ctx_find(dp, context) != NULL;
}

const char *dialplan_global(const struct dialplan *dp, const char *name)
{
	return dp ? pbx_vars_get(&dp->globals, name) : NULL;
}

size_t dialplan_context_count(const struct dialplan *dp)
{
	return dp ? dp->nctx : 0;
}

/* ---- memory ---------------------------------------------------------------------------------- */

static void ext_free(struct dp_ext *e)
{
	for (size_t i = 0; i < e->nprios; i++) {
		free(e->prios[i].label);
		free(e->prios[i].args);
	}
	free(e->prios);
	free(e->hint);
	free(e->cid);
	if (e->key != e->name)
		free(e->key);
	free(e->name);
	free(e);
}

static void ctx_free(struct dp_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nexts; i++)
		ext_free(ctx->exts[i]);
	free(ctx->exts);
	free(ctx->cidexts);
	htab_reset(&ctx->exact);
	node_free(&ctx->root);
	for (size_t i = 0; i < ctx->nincs; i++) {
		free(ctx->incs[i].name);
		free(ctx->incs[i].spec);
		free(ctx->incs[i].timing);
	}
	free(ctx->incs);
	free(ctx->name);
	free(ctx);
}

void dp_destroy(void *arg)
{
	struct dialplan *dp = arg;

	for (size_t i = 0; i < dp->nctx; i++)
		ctx_free(dp->ctxv[i]);
	free(dp->ctxv);
	htab_reset(&dp->ctxs);
	pbx_vars_clear(&dp->globals);
	for (size_t i = 0; i < dp->nfiles; i++)
		free(dp->files[i]);
	free(dp->files);
}

void dialplan_free(struct dialplan *dp)
{
	mem_deref(dp);
}

struct dialplan *dialplan_ref(struct dialplan *dp)
{
	return mem_ref(dp);
}

/* ---- hints ----------------------------------------------------------------------------------- */

static const char *hint_in(const struct dialplan *dp, const struct dp_ctx *ctx, const char *exten,
			   unsigned depth, struct dp_visit *v)
{
	if (!ctx || depth > 16 || !dp_visit_first(v, ctx))
		return NULL;
	for (size_t i = 0; i < ctx->nexts; i++) {
		const struct dp_ext *e = ctx->exts[i];

		if (!e->pattern && e->hint && !strcmp(e->key, exten))
			return e->hint;
	}
	for (size_t i = 0; i < ctx->nincs; i++) {
		const char *h = hint_in(dp, ctx->incs[i].ctx, exten, depth + 1, v);

		if (h)
			return h;
	}
	return NULL;
}

const char *dialplan_hint(const struct dialplan *dp, const char *context, const char *exten)
{
	struct dp_visit v;

	if (!dp || !context || !exten || !*exten)
		return NULL;
	v.n = 0;
	return hint_in(dp, dp_ctx_find(dp, context), exten, 0, &v);
}

int dialplan_hint_foreach(const struct dialplan *dp, dialplan_hint_h *h, void *arg)
{
	for (size_t i = 0; dp && i < dp->nctx; i++) {
		const struct dp_ctx *ctx = dp->ctxv[i];

		for (size_t j = 0; j < ctx->nexts; j++) {
			const struct dp_ext *e = ctx->exts[j];
			int r;

			if (!e->hint)
				continue;
			r = h(ctx->name, e->name, e->hint, arg);
			if (r)
				return r;
		}
	}
	return 0;
}
