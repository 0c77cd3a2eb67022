/* nl.c: applying a lease through rtnetlink (libmnl): the address with its lifetimes and the
 * option-121 routes (never a default route), removed again on expiry or exit. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "line_int.h"

#define LOG_MODULE  "line"
#define NL_REQ_SIZE 512 /* one address or route request */
#define IP(a)	    inet_ntop(AF_INET, &(a), (char[INET_ADDRSTRLEN]){0}, INET_ADDRSTRLEN)

/* Sends one request and waits for its acknowledgement. Returns 0 or the kernel's errno. */
static int nl_talk(struct nlmsghdr *nlh)
{
	/* Only acknowledgements come back (an error echoes our small request): 2 KiB is plenty,
	 * and keeps the stack the client touches small. */
	char buf[2048];
	struct mnl_socket *nl;
	unsigned portid, seq;
	int ret, err = 0;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return errno ? errno : EIO;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		goto close;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (unsigned)time(NULL) ^ (unsigned)rand();
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = errno;
		goto close;
	}
	for (;;) {
		ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0) {
			err = errno == EINTR ? 0 : errno;
			if (err)
				break;
			continue;
		}
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, NULL, NULL);
		if (ret <= MNL_CB_STOP) {
			if (ret < 0)
				err = errno ? errno : EIO;
			break;
		}
	}
close:
	mnl_socket_close(nl);
	return err;
}

static int nl_addr(int ifindex, uint16_t type, const struct line_lease *l)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = type;
	if (type == RTM_NEWADDR)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = l->plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &l->address.s_addr);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, &l->address.s_addr);
	if (type == RTM_NEWADDR) {
		struct ifa_cacheinfo ci = {0};
		if (l->plen < 31) {
			uint32_t b = l->address.s_addr | htonl(0xffffffffu >> l->plen);
			mnl_attr_put(nlh, IFA_BROADCAST, 4, &b);
		}
		/* The kernel drops the address itself if we are not around at expiry. */
		ci.ifa_valid = l->lease_time;
		ci.ifa_prefered = l->lease_time;
		mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
	}
	return nl_talk(nlh);
}

static bool gw_on_link(const struct line_lease *l, struct in_addr gw)
{
	uint32_t mask = l->plen ? htonl(0xffffffffu << (32 - l->plen)) : 0;

	return (gw.s_addr & mask) == (l->address.s_addr & mask);
}

static int nl_route(int ifindex, uint16_t type, const struct line_lease *l,
		    const struct line_route *r)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = r->plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_DHCP;
	rtm->rtm_scope = r->gw.s_addr ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (r->gw.s_addr && !gw_on_link(l, r->gw))
		rtm->rtm_flags |=
		    RTNH_F_ONLINK; /* a gateway outside our prefix (RFC 3442 allows) */
	mnl_attr_put(nlh, RTA_DST, 4, &r->dst.s_addr);
	if (r->gw.s_addr)
		mnl_attr_put(nlh, RTA_GATEWAY, 4, &r->gw.s_addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	/* Traffic toward the carrier leaves from the line address, never a LAN one. */
	if (type == RTM_NEWROUTE)
		mnl_attr_put(nlh, RTA_PREFSRC, 4, &l->address.s_addr);
	return nl_talk(nlh);
}

static bool route_in(const struct line_lease *l, const struct line_route *r)
{
	for (size_t i = 0; l && i < l->nroutes; i++)
		if (l->routes[i].dst.s_addr == r->dst.s_addr && l->routes[i].plen == r->plen &&
		    l->routes[i].gw.s_addr == r->gw.s_addr)
			return true;
	return false;
}

static bool installable(const struct line_route *r)
{
	return r->plen > 0; /* the ONU side is not the internet: never a default route */
}

void line_nl_remove(int ifindex, const struct line_lease *l)
{
	for (size_t i = 0; i < l->nroutes; i++)
		if (installable(&l->routes[i]))
			(void)nl_route(ifindex, RTM_DELROUTE, l, &l->routes[i]);
	(void)nl_addr(ifindex, RTM_DELADDR, l);
}

int line_nl_apply(int ifindex, const struct line_lease *prev, const struct line_lease *next)
{
	bool same =
	    prev && prev->address.s_addr == next->address.s_addr && prev->plen == next->plen;
	size_t done = 0;
	int err;

	err = nl_addr(ifindex, RTM_NEWADDR, next);
	if (err) {
		log_error("adding %s/%u: %s", IP(next->address), next->plen, strerror(err));
		return err;
	}
	for (done = 0; done < next->nroutes; done++) {
		const struct line_route *r = &next->routes[done];
		if (!installable(r)) {
			log_warn("option 121 default route via %s not installed (the line is not "
				 "the internet)",
				 IP(r->gw));
			continue;
		}
		err = nl_route(ifindex, RTM_NEWROUTE, next, r);
		if (err) {
			log_error("route %s/%u via %s: %s", IP(r->dst), r->plen, IP(r->gw),
				  strerror(err));
			goto rollback;
		}
	}
	if (prev) {
		for (size_t i = 0; i < prev->nroutes; i++)
			if (installable(&prev->routes[i]) &&
			    (!same || !route_in(next, &prev->routes[i])))
				(void)nl_route(ifindex, RTM_DELROUTE, prev, &prev->routes[i]);
		if (!same)
			(void)nl_addr(ifindex, RTM_DELADDR, prev);
	}
	return 0;

rollback:
	/* Never half-applied: undo this call's routes and, if it was new, the address. */
	for (size_t i = 0; i < done; i++)
		if (installable(&next->routes[i]) && !(same && route_in(prev, &next->routes[i])))
			(void)nl_route(ifindex, RTM_DELROUTE, next, &next->routes[i]);
	if (!same)
		(void)nl_addr(ifindex, RTM_DELADDR, next);
	return err;
}

int line_nl_set_mac(int ifindex, const uint8_t mac[6])
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return nl_talk(nlh);
}
