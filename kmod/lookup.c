// SPDX-License-Identifier: GPL-2.0
/*
 * The local socket an incoming packet is for, when the stack has not attached it
 * yet at LOCAL_IN (early demux only does that for established TCP and connected
 * UDP sockets).
 *
 * UDP, the common case (every datagram to an unconnected socket), is looked up in
 * the UDP table exactly as udp_rcv would look it up a moment later, without taking
 * a reference: UDP sockets are freed after an RCU grace period and hooks run
 * under RCU. A unicast datagram then carries the socket on to udp_rcv, the way
 * early demux (and TPROXY, and BPF's sk_assign) hand the stack a socket it would
 * otherwise look up itself: the lookup is done once, not twice. UDP-Lite is the
 * same with its own table (udplite_rcv is __udp4_lib_rcv/__udp6_lib_rcv on
 * udplite_table, and takes a prefetched socket the same way). Everything else (a
 * SYN to a listener, ICMP errors, IPv6 extension headers) takes xt_socket's
 * lookup, which returns a reference.
 *
 * Not found, so billed to uid 0 on ingress: ICMP echo replies to ping sockets
 * (ping_lookup and its table are private to net/ipv4/ping.c) and SCTP (its
 * lookups are private to sctp.ko); see README.md.
 */
#include <linux/module.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/version.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/route.h>
#include <net/udp.h>
#include <net/udplite.h>
#include <net/sock.h>
#include <net/netfilter/nf_socket.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include "qtaguid.h"

/*
 * Helpers from other netfilter modules, taken with symbol_request() so that a plain
 * insmod loads them on demand (and they cannot go away while we use them).
 */
static struct sock *(*qt_lookup_v4)(struct net *, const struct sk_buff *,
				    const struct net_device *);
static struct sock *(*qt_lookup_v6)(struct net *, const struct sk_buff *,
				    const struct net_device *);
int (*qt_defrag6_enable)(struct net *);
void (*qt_defrag6_disable)(struct net *);

static struct udp_table *qt_udp_table(const struct net *net, u8 proto)
{
	if (proto == IPPROTO_UDPLITE)
		return &udplite_table;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return net->ipv4.udp_table;	/* per namespace since 6.2 */
#else
	return &udp_table;
#endif
}

/*
 * Give udp_rcv the socket it is about to look up. Only unicast: multicast and
 * broadcast go to every matching socket, and udp_rcv takes a socket it is given
 * before it checks for those. Only sockets freed after RCU, as sock_pfree (the
 * destructor that marks a socket as prefetched) then neither needs nor drops a
 * reference.
 */
static void qt_udp_prefetch(struct sk_buff *skb, struct sock *sk)
{
	if (!sk_is_refcounted(sk)) {
		skb->sk = sk;
		skb->destructor = sock_pfree;
	}
}

static struct sock *qt_udp4_sock(struct net *net, struct sk_buff *skb, u8 proto)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct udphdr _uh;
	const struct udphdr *uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	const struct rtable *rt;
	struct sock *sk;

	if (!uh)
		return NULL;
	sk = __udp4_lib_lookup(net, iph->saddr, uh->source, iph->daddr, uh->dest,
			       inet_iif(skb), inet_sdif(skb), qt_udp_table(net, proto), skb);
	if (IS_ERR_OR_NULL(sk))
		return NULL;
	rt = skb_rtable(skb);
	if (rt && !(rt->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)))
		qt_udp_prefetch(skb, sk);
	return sk;
}

static struct sock *qt_udp6_sock(struct net *net, struct sk_buff *skb, u8 proto)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	struct udphdr _uh;
	const struct udphdr *uh = skb_header_pointer(skb, skb_network_offset(skb) + sizeof(*ip6h),
						     sizeof(_uh), &_uh);
	struct sock *sk;

	if (!uh)
		return NULL;
	sk = __udp6_lib_lookup(net, &ip6h->saddr, uh->source, &ip6h->daddr, uh->dest,
			       inet6_iif(skb), inet6_sdif(skb), qt_udp_table(net, proto),
			       skb);
	if (IS_ERR_OR_NULL(sk))
		return NULL;
	if (!ipv6_addr_is_multicast(&ip6h->daddr))
		qt_udp_prefetch(skb, sk);
	return sk;
}

/*
 * The socket skb is for, or NULL. *put says whether the caller must drop a
 * reference on it with sock_gen_put() when done.
 */
struct sock *qt_rx_sock(struct net *net, struct sk_buff *skb, const struct net_device *dev,
			u8 pf, bool *put)
{
	u8 proto;

	*put = false;
	if (pf == NFPROTO_IPV4) {
		proto = ip_hdr(skb)->protocol;
		if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE)
			return qt_udp4_sock(net, skb, proto);
		*put = true;
		return qt_lookup_v4(net, skb, dev);
	}
	proto = ipv6_hdr(skb)->nexthdr;
	if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE)
		return qt_udp6_sock(net, skb, proto);
	*put = true;
	return qt_lookup_v6(net, skb, dev);
}

void qt_lookup_exit(void)
{
	if (qt_lookup_v4)
		symbol_put(nf_sk_lookup_slow_v4);
	if (qt_lookup_v6)
		symbol_put(nf_sk_lookup_slow_v6);
	if (qt_defrag6_enable)
		symbol_put(nf_defrag_ipv6_enable);
	if (qt_defrag6_disable)
		symbol_put(nf_defrag_ipv6_disable);
}

int qt_lookup_init(void)
{
	qt_lookup_v4 = symbol_request(nf_sk_lookup_slow_v4);
	qt_lookup_v6 = symbol_request(nf_sk_lookup_slow_v6);
	qt_defrag6_enable = symbol_request(nf_defrag_ipv6_enable);
	qt_defrag6_disable = symbol_request(nf_defrag_ipv6_disable);
	if (qt_lookup_v4 && qt_lookup_v6 && qt_defrag6_enable && qt_defrag6_disable)
		return 0;
	qt_lookup_exit();
	pr_err("xt_qtaguid: needs the modules nf_socket_ipv4, nf_socket_ipv6 and nf_defrag_ipv6\n");
	return -ENOENT;
}
