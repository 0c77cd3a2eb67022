/* server_int.h: what the server module's files share. */
#ifndef MIKAKA_SERVER_INT_H
#define MIKAKA_SERVER_INT_H

#include "server.h"

struct server_debug;
/* The server's `sip set debug` state, allocated on first use (NULL: no memory). */
struct server_debug *server_debug_state(struct server *srv);
struct server_debug *server_debug_alloc(void);

#endif /* MIKAKA_SERVER_INT_H */
