/* rtptone: a PCMU/RFC 4733 test peer for tests/e2e/media.sh: sends a 1 kHz tone, in-band DTMF,
 * RFC 4733 events or silence (or echoes what it receives), and reports what it received: the TOS
 * byte (IP_RECVTOS), whether a 1 kHz tone is present (Goertzel), in-band DTMF digits, RFC 4733
 * event digits and the SSRCs seen. Exit 0 when every EXPECT holds.
 * Usage: rtptone LOCALIP:PORT DESTIP:PORT SEND MS [EXPECT...]
 *   SEND: none | silence | tone | tone:HZ[:MS] | echo | dtmf:DIGITS | ev:DIGITS
 *         | evflood:COUNT:DIGITS (COUNT RFC 4733 events cycling through DIGITS, 10 per tick)
 *         (DEST "-": reply to the source; tone:HZ:MS is silence after MS)
 *   RTPTONE_WAV=FILE: what arrives as PCMU is also written, decoded, to FILE (8 kHz WAV).
 *   EXPECT: tos=N | tone | notone | dtmf=DIGITS | ev=DIGITS | min=N | nossrc=HEX */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RT_MAXSSRC 8
#define RT_EVPT	   101

struct rt_state {
	int fd;
	struct sockaddr_in dst;
	int have_dst;
	int last_tos;
	unsigned rx, rx_audio, tone_blocks, audio_blocks;
	unsigned nssrc;
	uint32_t ssrc[RT_MAXSSRC];
	unsigned ssrc_n[RT_MAXSSRC];
	char dtmf[64], ev[64];
	char cur_digit, cand;
	int cand_n, gap_n;
	uint32_t last_ev_ts;
	int have_ev;
	uint16_t seq;
	uint32_t ts, my_ssrc;
};

static int rt_addr(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;
	long port;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return -1;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

static int64_t rt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t rt_ulaw_enc(int s)
{
	int sign = 0, exp = 7, mant;

	if (s < 0) {
		s = -s;
		sign = 0x80;
	}
	if (s > 32635)
		s = 32635;
	s += 0x84;
	for (int m = 0x4000; (s & m) == 0 && exp > 0; m >>= 1)
		exp--;
	mant = (s >> (exp + 3)) & 0x0f;
	return (uint8_t) ~(sign | exp << 4 | mant);
}

static int rt_ulaw_dec(uint8_t u)
{
	int t;

	u = (uint8_t)~u;
	t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return (u & 0x80) ? 0x84 - t : t - 0x84;
}

static double rt_goertzel(const double *x, int n, double f)
{
	double c = 2 * cos(2 * M_PI * f / 8000), s1 = 0, s2 = 0;

	for (int i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static const double rt_rows[4] = {697, 770, 852, 941};
static const double rt_cols[4] = {1209, 1336, 1477, 1633};
static const char rt_keys[] = "123A456B789C*0#D";

static int rt_digit_freqs(char d, double *r, double *c)
{
	const char *p = strchr(rt_keys, d);

	if (!d || !p)
		return -1;
	*r = rt_rows[(p - rt_keys) / 4];
	*c = rt_cols[(p - rt_keys) % 4];
	return 0;
}

static int rt_event_code(char d)
{
	if (d >= '0' && d <= '9')
		return d - '0';
	return d == '*' ? 10 : d == '#' ? 11 : -1;
}

static void rt_append(char *s, size_t size, char d)
{
	size_t n = strlen(s);

	if (n + 1 < size) {
		s[n] = d;
		s[n + 1] = '\0';
	}
}

/* One 20 ms block of audio: 1 kHz presence and DTMF detection (digit stable for 2 blocks). */
static void rt_analyse(struct rt_state *st, const uint8_t *p, int n)
{
	double x[160], e = 0, pr[4], pc[4], g1k;
	int ri = 0, ci = 0;
	char d = 0;

	if (n > 160)
		n = 160;
	for (int i = 0; i < n; i++) {
		x[i] = rt_ulaw_dec(p[i]);
		e += x[i] * x[i];
	}
	st->audio_blocks++;
	if (e < 1e5 * n / 160.0) {
		d = 0;
		goto digit;
	}
	g1k = rt_goertzel(x, n, 1000);
	/* a pure tone puts about e*n/2 into its bin */
	if (g1k > 0.3 * e * n / 2)
		st->tone_blocks++;
	for (int i = 0; i < 4; i++) {
		pr[i] = rt_goertzel(x, n, rt_rows[i]);
		pc[i] = rt_goertzel(x, n, rt_cols[i]);
		if (pr[i] > pr[ri])
			ri = i;
		if (pc[i] > pc[ci])
			ci = i;
	}
	if ((pr[ri] + pc[ci]) > 0.5 * e * n / 2 && pr[ri] > 0.1 * e * n / 2 &&
	    pc[ci] > 0.1 * e * n / 2)
		d = rt_keys[ri * 4 + ci];
digit:
	if (d && d == st->cand) {
		if (++st->cand_n == 2 && d != st->cur_digit) {
			rt_append(st->dtmf, sizeof(st->dtmf), d);
			st->cur_digit = d;
		}
	} else {
		st->cand = d;
		st->cand_n = 1;
	}
	if (!d && ++st->gap_n >= 2)
		st->cur_digit = 0;
	if (d)
		st->gap_n = 0;
}

static void rt_send(struct rt_state *st, uint8_t pt, int marker, uint32_t ts, const uint8_t *pl,
		    size_t n)
{
	uint8_t pkt[12 + 160];

	if (!st->have_dst)
		return;
	pkt[0] = 0x80;
	pkt[1] = (uint8_t)(pt | (marker ? 0x80 : 0));
	pkt[2] = (uint8_t)(st->seq >> 8);
	pkt[3] = (uint8_t)st->seq;
	pkt[4] = (uint8_t)(ts >> 24);
	pkt[5] = (uint8_t)(ts >> 16);
	pkt[6] = (uint8_t)(ts >> 8);
	pkt[7] = (uint8_t)ts;
	pkt[8] = (uint8_t)(st->my_ssrc >> 24);
	pkt[9] = (uint8_t)(st->my_ssrc >> 16);
	pkt[10] = (uint8_t)(st->my_ssrc >> 8);
	pkt[11] = (uint8_t)st->my_ssrc;
	memcpy(pkt + 12, pl, n);
	st->seq++;
	sendto(st->fd, pkt, 12 + n, 0, (struct sockaddr *)&st->dst, sizeof(st->dst));
}

static FILE *rt_wav;
static uint32_t rt_wav_samples;

static void rt_wav_header(FILE *f, uint32_t samples)
{
	uint8_t h[44];
	uint32_t data = samples * 2, v;

	memcpy(h, "RIFF", 4);
	v = 36 + data;
	h[4] = (uint8_t)v, h[5] = (uint8_t)(v >> 8), h[6] = (uint8_t)(v >> 16), h[7] = (uint8_t)(v >> 24);
	memcpy(h + 8, "WAVEfmt ", 8);
	memcpy(h + 16, "\x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0", 20);
	memcpy(h + 36, "data", 4);
	h[40] = (uint8_t)data, h[41] = (uint8_t)(data >> 8), h[42] = (uint8_t)(data >> 16);
	h[43] = (uint8_t)(data >> 24);
	fseek(f, 0, SEEK_SET);
	fwrite(h, 1, 44, f);
}

static void rt_recv_one(struct rt_state *st, int echo, int reply)
{
	uint8_t buf[2048];
	char cbuf[256];
	struct sockaddr_in src;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_name = &src,
			    .msg_namelen = sizeof(src),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t n = recvmsg(st->fd, &mh, 0);
	uint32_t ssrc;
	unsigned i, pt;

	if (n < 12 || (buf[0] >> 6) != 2)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
			st->last_tos = *(uint8_t *)CMSG_DATA(c);
	if (reply && !st->have_dst) {
		st->dst = src;
		st->have_dst = 1;
	}
	st->rx++;
	ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
	for (i = 0; i < st->nssrc && st->ssrc[i] != ssrc; i++)
		;
	if (i == st->nssrc && i < RT_MAXSSRC) {
		st->ssrc[i] = ssrc;
		st->nssrc++;
	}
	if (i < RT_MAXSSRC)
		st->ssrc_n[i]++;
	if (echo && st->have_dst)
		sendto(st->fd, buf, (size_t)n, 0, (struct sockaddr *)&st->dst, sizeof(st->dst));
	pt = buf[1] & 0x7f;
	size_t off = 12 + 4 * (size_t)(buf[0] & 0x0f);
	if (buf[0] & 0x10) {
		if ((size_t)n < off + 4)
			return;
		off += 4 + 4 * (size_t)((buf[off + 2] << 8) | buf[off + 3]);
	}
	if ((size_t)n <= off)
		return;
	if (pt == 0) {
		if (rt_wav) {
			for (size_t j = off; j < (size_t)n; j++) {
				int v = rt_ulaw_dec(buf[j]);
				uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
				if (fwrite(le, 1, 2, rt_wav) == 2)
					rt_wav_samples++;
			}
		}
		st->rx_audio++;
		rt_analyse(st, buf + off, (int)((size_t)n - off));
	} else if ((size_t)n - off >= 4 && pt >= 96) {
		uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
			      (uint32_t)buf[6] << 8 | buf[7];
		uint8_t ev = buf[off];

		if ((!st->have_ev || ts != st->last_ev_ts) && ev < 12) {
			rt_append(st->ev, sizeof(st->ev),
				  ev < 10    ? (char)('0' + ev)
				  : ev == 10 ? '*'
					     : '#');
			st->last_ev_ts = ts;
			st->have_ev = 1;
		}
	}
}

/* What to send in the 20 ms tick k: audio (pt 0) with payload, or an event packet. */
static void rt_tick(struct rt_state *st, const char *mode, unsigned k)
{
	uint8_t pl[160];
	const char *digits = strchr(mode, ':') ? strchr(mode, ':') + 1 : "";
	uint32_t ts = st->ts;
	double r = 0, c = 0;
	char d = 0;
	/* digits: 20 ticks of lead-in, then per digit 5 ticks on, 5 ticks off */
	unsigned rel = k >= 20 ? k - 20 : 0, di = rel / 10, ph = rel % 10;

	if (k >= 20 && di < strlen(digits) && ph < 5)
		d = digits[di];
	st->ts += 160;
	if (!strncmp(mode, "evflood:", 8)) {
		/* A flood: every event complete (start, then the end three times) in one tick. */
		unsigned count = (unsigned)atoi(mode + 8);
		const char *fd = strchr(mode + 8, ':');
		size_t nd = fd ? strlen(fd + 1) : 0;

		for (unsigned j = 0; nd && k >= 20 && j < 10; j++) {
			unsigned n = (k - 20) * 10 + j;
			uint32_t ets = 160 * 20 + n * 160;

			if (n >= count)
				break;
			pl[0] = (uint8_t)rt_event_code(fd[1 + n % nd]);
			pl[1] = 10;
			pl[2] = 0;
			pl[3] = 160;
			rt_send(st, RT_EVPT, 1, ets, pl, 4);
			pl[1] = 0x80 | 10;
			for (int r3 = 0; r3 < 3; r3++)
				rt_send(st, RT_EVPT, 0, ets, pl, 4);
		}
		return;
	}
	if (!strncmp(mode, "ev:", 3) && d) {
		int code = rt_event_code(d);
		uint32_t ets =
		    160 * (20 + di * 10); /* the event's start: the same in every packet */
		uint16_t dur = (uint16_t)(160 * (ph + 1));

		pl[0] = (uint8_t)code;
		pl[1] = (uint8_t)(ph == 4 ? 0x80 | 10 : 10);
		pl[2] = (uint8_t)(dur >> 8);
		pl[3] = (uint8_t)dur;
		rt_send(st, RT_EVPT, ph == 0, ets, pl, 4);
		if (ph == 4) { /* end packets are sent three times */
			rt_send(st, RT_EVPT, 0, ets, pl, 4);
			rt_send(st, RT_EVPT, 0, ets, pl, 4);
		}
		return;
	}
	if (!strcmp(mode, "none") || !strcmp(mode, "echo"))
		return;
	for (int i = 0; i < 160; i++) {
		double t = (double)(k * 160 + (unsigned)i) / 8000, s = 0;

		if (!strcmp(mode, "tone"))
			s = 8000 * sin(2 * M_PI * 1000 * t);
		else if (!strncmp(mode, "tone:", 5)) {
			const char *lim = strchr(mode + 5, ':');
			if (!lim || t * 1000 < atof(lim + 1))
				s = 8000 * sin(2 * M_PI * atof(mode + 5) * t);
		}
		else if (!strncmp(mode, "dtmf:", 5) && d && !rt_digit_freqs(d, &r, &c))
			s = 7000 * sin(2 * M_PI * r * t) + 7000 * sin(2 * M_PI * c * t);
		pl[i] = rt_ulaw_enc((int)s);
	}
	rt_send(st, 0, k == 0, ts, pl, 160);
}

int main(int argc, char **argv)
{
	struct rt_state st = {.last_tos = -1, .seq = 4000, .my_ssrc = 0x52544f4eu};
	struct sockaddr_in local;
	const char *mode;
	int one = 1, fails = 0, reply, echo;
	long ms;
	int64_t start, next;
	unsigned k = 0;

	if (argc < 5 || rt_addr(argv[1], &local)) {
		fprintf(stderr, "usage: rtptone LOCALIP:PORT DESTIP:PORT|- SEND MS [EXPECT...]\n");
		return 2;
	}
	reply = !strcmp(argv[2], "-");
	if (!reply) {
		if (rt_addr(argv[2], &st.dst))
			return 2;
		st.have_dst = 1;
	}
	mode = argv[3];
	echo = !strcmp(mode, "echo");
	ms = strtol(argv[4], NULL, 10);
	if (ms <= 0 || ms > 60000)
		return 2;
	if (getenv("RTPTONE_SSRC"))
		st.my_ssrc = (uint32_t)strtoul(getenv("RTPTONE_SSRC"), NULL, 16);
	if (getenv("RTPTONE_WAV") && *getenv("RTPTONE_WAV")) {
		rt_wav = fopen(getenv("RTPTONE_WAV"), "wb");
		if (!rt_wav) {
			perror("rtptone: RTPTONE_WAV");
			return 2;
		}
		rt_wav_header(rt_wav, 0);
	}
	st.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (st.fd < 0 || setsockopt(st.fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) ||
	    bind(st.fd, (struct sockaddr *)&local, sizeof(local))) {
		perror("rtptone: socket");
		return 1;
	}
	start = rt_now_ms();
	next = start;
	for (int guard = 0; guard < 1000000; guard++) {
		int64_t now = rt_now_ms();
		struct pollfd pfd = {.fd = st.fd, .events = POLLIN};

		if (now - start >= ms)
			break;
		if (now >= next) {
			rt_tick(&st, mode, k++);
			next += 20;
			continue;
		}
		if (poll(&pfd, 1, (int)(next - now)) > 0)
			rt_recv_one(&st, echo, reply);
	}
	close(st.fd);
	if (rt_wav) {
		rt_wav_header(rt_wav, rt_wav_samples);
		fclose(rt_wav);
	}
	printf(
	    "rtptone %s: sent %u received %u audio %u tos %d tone_blocks %u/%u dtmf '%s' ev '%s'\n",
	    argv[1], k, st.rx, st.rx_audio, st.last_tos, st.tone_blocks, st.audio_blocks, st.dtmf,
	    st.ev);
	for (unsigned i = 0; i < st.nssrc; i++)
		printf("ssrc %08x %u\n", st.ssrc[i], st.ssrc_n[i]);
	for (int i = 5; i < argc; i++) {
		const char *x = argv[i];
		int good;

		if (!strncmp(x, "tos=", 4))
			good = st.last_tos == atoi(x + 4);
		else if (!strcmp(x, "tone"))
			good = st.tone_blocks >= 10 && st.tone_blocks * 2 >= st.audio_blocks;
		else if (!strcmp(x, "notone"))
			good = st.tone_blocks == 0;
		else if (!strncmp(x, "dtmf=", 5))
			good = !strcmp(st.dtmf, x + 5);
		else if (!strncmp(x, "ev=", 3))
			good = !strcmp(st.ev, x + 3);
		else if (!strncmp(x, "min=", 4))
			good = st.rx >= (unsigned)atoi(x + 4);
		else if (!strncmp(x, "nossrc=", 7)) {
			uint32_t s = (uint32_t)strtoul(x + 7, NULL, 16);

			good = 1;
			for (unsigned j = 0; j < st.nssrc; j++)
				if (st.ssrc[j] == s)
					good = 0;
		} else
			good = 0;
		printf("%s %s\n", good ? "pass" : "FAIL", x);
		fails += !good;
	}
	return fails ? 1 : 0;
}
