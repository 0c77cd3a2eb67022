/* peer_int: the sipcfg snapshot's layout, shared by the loader (peer.c) and the CLI output
 * (show.c). */
#ifndef MIKAKA_PEER_INT_H
#define MIKAKA_PEER_INT_H

#include "peer.h"

/* Every string, peer and rule of a snapshot lives in these chunks: one free at the end, and no
 * per-allocation header (a 10,000-peer sip.conf stays small). */
struct peer_chunk {
	struct peer_chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

struct sipcfg {
	struct sipcfg_general general;
	struct peer defaults;
	struct sipcfg_register *regs;
	size_t nregs;
	struct peer **peers; /* sorted by name, case-insensitive; malloc'ed */
	size_t npeers;
	struct peer_chunk *chunks;
};

/* The SIP port when none is given. */
#define PEER_PORT_DEFAULT 5060

/* ON/OFF words as Asterisk's ast_true/ast_false read them. */
int peer_parse_bool(const char *text, bool *out);
/* The TOS byte as Asterisk prints it: "CS4", "EF", "AF41", or the number. */
const char *peer_tos_name(int tos, char *buf, size_t size);

#endif /* MIKAKA_PEER_INT_H */
