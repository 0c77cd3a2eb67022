/* rtpsend: an RTP test source for the e2e tests: sends N PCMU packets (20 ms apart) from a fixed
 * local address to the relay and counts the packets that come back (an echo on the far side),
 * checking they are RTP with the same SSRC and payload type. Exit 0 when at least MIN came back.
 * Usage: rtpsend LOCALIP:PORT DESTIP:PORT COUNT [MIN] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RTPSEND_SSRC 0x4d4b4b41u /* "MKKA" */

static int rtpsend_addr(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;
	long port;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(host))
		return EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return EINVAL;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : EINVAL;
}

static int64_t rtpsend_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads whatever arrived within wait_ms; counts valid echoes of ours. */
static void rtpsend_drain(int fd, int wait_ms, unsigned *got, unsigned *bad)
{
	int64_t end = rtpsend_now_ms() + wait_ms;

	for (int guard = 0; guard < 10000; guard++) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = end - rtpsend_now_ms();
		uint8_t buf[2048];
		ssize_t n;

		if (left < 0)
			left = 0;
		if (poll(&pfd, 1, (int)left) <= 0)
			return;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 12)
			continue;
		if ((buf[0] >> 6) == 2 && (buf[1] & 0x7f) == 0 &&
		    ((uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 |
		     buf[11]) == RTPSEND_SSRC)
			(*got)++;
		else
			(*bad)++;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in local, dst;
	unsigned count, min, got = 0, bad = 0;
	int fd;

	if (argc < 4 || rtpsend_addr(argv[1], &local) || rtpsend_addr(argv[2], &dst)) {
		fprintf(stderr, "usage: rtpsend LOCALIP:PORT DESTIP:PORT COUNT [MIN]\n");
		return 2;
	}
	count = (unsigned)strtoul(argv[3], NULL, 10);
	min = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : count / 2;
	if (count == 0 || count > 100000) {
		fprintf(stderr, "rtpsend: COUNT must be 1..100000\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local))) {
		perror("rtpsend: bind");
		return 1;
	}
	for (unsigned i = 0; i < count; i++) {
		uint8_t pkt[12 + 160];
		uint16_t seq = (uint16_t)(1000 + i);
		uint32_t ts = 160 * i;

		pkt[0] = 0x80;
		pkt[1] = (uint8_t)(i == 0 ? 0x80 : 0x00); /* marker on the first, PT 0 (PCMU) */
		pkt[2] = (uint8_t)(seq >> 8);
		pkt[3] = (uint8_t)seq;
		pkt[4] = (uint8_t)(ts >> 24);
		pkt[5] = (uint8_t)(ts >> 16);
		pkt[6] = (uint8_t)(ts >> 8);
		pkt[7] = (uint8_t)ts;
		pkt[8] = (uint8_t)(RTPSEND_SSRC >> 24);
		pkt[9] = (uint8_t)(RTPSEND_SSRC >> 16);
		pkt[10] = (uint8_t)(RTPSEND_SSRC >> 8);
		pkt[11] = (uint8_t)RTPSEND_SSRC;
		memset(pkt + 12, 0xff, 160); /* u-law silence */
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			perror("rtpsend: sendto");
		rtpsend_drain(fd, 20, &got, &bad);
	}
	rtpsend_drain(fd, 1000, &got, &bad);
	close(fd);
	printf("sent %u received %u other %u\n", count, got, bad);
	return got >= min && got > 0 ? 0 : 1;
}
