/* bench_parser: how many typical INVITEs (with SDP) the SIP parser frames and decodes per second
 * on one core; prints "parser_invites_per_sec N". `bench_parser N` parses exactly N and prints
 * nothing else: for counting instructions per INVITE, which a shared machine does not disturb
 * (valgrind --tool=callgrind --toggle-collect=parse_one build/bench/bench_parser 100000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip.h"

static const char invite[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8;received=192.0.2.1\r\n"
    "Max-Forwards: 69\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.1:5060;transport=udp>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, REFER, NOTIFY\r\n"
    "Supported: replaces, timer, 100rel\r\n"
    "Session-Expires: 1800\r\n"
    "User-Agent: bench-phone/1.0\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 224\r\n"
    "\r\n"
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.1\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One INVITE parsed, read as a transaction layer reads every request, and freed; 0 on error. */
__attribute__((noinline)) static uint64_t parse_one(void)
{
	struct sip_msg *msg = NULL;
	size_t used;
	uint64_t sink;

	if (sip_msg_parse(&msg, invite, sizeof(invite) - 1, true, &used, NULL) || msg->err_reason) {
		fprintf(stderr, "bench_parser: the INVITE does not parse: %s\n",
			msg && msg->err_reason ? msg->err_reason : "error");
		mem_deref(msg);
		return 0;
	}
	sink = msg->mid + msg->uri.host.l + msg->via.branch.l + msg->via.port + msg->from.tag.l +
	       msg->to.uri.user.l + msg->call_id.l + msg->cseq.num + msg->body.l;
	mem_deref(msg);
	return sink;
}

int main(int argc, char **argv)
{
	uint64_t n = 0, sink = 0;
	double start, elapsed;

	/* As the daemon's loop thread, which parses every message it receives (src/daemon/main.c
	 * enables it before loop_run): freed messages kept for reuse (src/base/mem.c). */
	mem_cache_enable(true);
	if (argc > 1) {
		long count = strtol(argv[1], NULL, 10);

		for (long i = 0; i < count; i++) {
			uint64_t s = parse_one();

			if (!s)
				return 1;
			sink += s;
		}
		return sink ? 0 : 1;
	}
	start = now_s();
	do {
		for (int i = 0; i < 1000; i++) {
			uint64_t s = parse_one();

			if (!s)
				return 1;
			sink += s;
		}
		n += 1000;
		elapsed = now_s() - start;
	} while (elapsed < 2.0);

	mem_cache_enable(false);
	if (sink == 0)
		return 1;
	printf("parser_invites_per_sec %.0f\n", (double)n / elapsed);
	return 0;
}
