/* fuzz_dhcp: libFuzzer target for the DHCP reply decoder (line/): packet framing with RFC 3396
 * concatenation, the lease options (1, 3, 51, 54, 58, 59, 120, 121, 125) and the probe printer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dhcp_pkt pkt;

/* Touches every decoded string so ASan sees a missing terminator. */
static void walk(const struct line_lease *l)
{
	size_t sum = strlen(l->domain) + strlen(l->firmware);

	if (l->nnumbers > LINE_NUMBERS_MAX || l->nsip_servers > LINE_SERVERS_MAX ||
	    l->nsip_names > LINE_SERVERS_MAX || l->nroutes > LINE_ROUTES_MAX || l->plen > 32)
		abort();
	for (size_t i = 0; i < l->nnumbers; i++)
		sum += strlen(l->numbers[i]);
	for (size_t i = 0; i < l->nsip_names; i++)
		sum += strlen(l->sip_names[i]);
	for (size_t i = 0; i < l->nroutes; i++)
		if (l->routes[i].plen > 32)
			abort();
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_problems probs = {.n = 0};
	struct line_lease l;
	const char *why;
	struct mbuf out;

	/* The whole input as a packet. */
	if (dhcp_pkt_decode(&pkt, data, size) == 0) {
		dhcp_lease_decode(&l, &pkt, &probs);
		walk(&l);
		(void)dhcp_lease_check(&l, true, &why);
		mbuf_init(&out);
		dhcp_pkt_print(&pkt, false, &out);
		dhcp_pkt_print(&pkt, true, &out);
		line_lease_print(&l, true, &out);
		mbuf_reset(&out);
	}
	/* The input as the value of each option on its own (no 240-byte header to get past). */
	if (size <= 255) {
		memset(&l, 0, sizeof(l));
		(void)dhcp_opt120_decode(&l, data, size);
		(void)dhcp_opt121_decode(&l, data, size);
		(void)dhcp_opt125_decode(&l, data, size);
		walk(&l);
		if (size) {
			char name[LINE_DOMAIN_LEN];
			size_t pos = data[0] % size;
			(void)dhcp_dns_name(data, size, &pos, name, sizeof(name));
		}
	}
	return 0;
}
