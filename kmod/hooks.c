// SPDX-License-Identifier: GPL-2.0
/*
 * Netfilter hooks: every IPv4/IPv6 packet a local socket sends (POST_ROUTING,
 * forwarded packets skipped) or receives (LOCAL_IN) is billed to the owner of
 * its socket. No rules are needed. Hooks run last, so packets dropped by the
 * firewall are not counted.
 *
 * Ingress packets the stack has not matched to a socket yet are matched in
 * lookup.c.
 */
#include <linux/module.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/sctp.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/version.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/ip6_route.h>
#include "qtaguid.h"

static enum qt_proto qt_proto_of(u8 l4)
{
	switch (l4) {
	case IPPROTO_TCP: return QT_TCP;
	case IPPROTO_UDP: return QT_UDP;
	default: return QT_OTHER;
	}
}

static u8 qt_l4proto(const struct sk_buff *skb, u8 pf)
{
	u8 nexthdr;
	__be16 frag_off;

	if (pf == NFPROTO_IPV4)
		return ip_hdr(skb)->protocol;
	nexthdr = ipv6_hdr(skb)->nexthdr;
	if (nexthdr == IPPROTO_TCP || nexthdr == IPPROTO_UDP)
		return nexthdr;
	if (ipv6_skip_exthdr(skb, skb_network_offset(skb) + sizeof(struct ipv6hdr),
			     &nexthdr, &frag_off) < 0)
		return IPPROTO_NONE;
	return nexthdr;
}

/*
 * Wire size of an skb: a GSO/GRO skb leaves or arrived as gso_segs packets, each
 * with its own copy of the headers (as qdisc_pkt_len_init counts it, and SCTP's
 * common header, which qdisc_pkt_len_init leaves out).
 */
static void qt_wire_size(const struct sk_buff *skb, unsigned int *bytes, unsigned int *packets)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	unsigned int hdr, segs;

	*bytes = skb->len;
	*packets = 1;
	if (!skb_is_gso(skb) || !skb_transport_header_was_set(skb))
		return;
	if (skb->encapsulation)
		hdr = skb_inner_transport_header(skb) - skb->data;
	else
		hdr = skb_transport_offset(skb);
	if (shinfo->gso_type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)) {
		struct tcphdr _th;
		const struct tcphdr *th = skb_header_pointer(skb, hdr, sizeof(_th), &_th);

		if (!th)
			return;
		hdr += __tcp_hdrlen(th);
	} else if (shinfo->gso_type & SKB_GSO_UDP_L4) {
		hdr += sizeof(struct udphdr);
	} else if (shinfo->gso_type & SKB_GSO_SCTP) {
		hdr += sizeof(struct sctphdr);
	}
	if (hdr >= skb->len || !shinfo->gso_size)
		return;
	segs = shinfo->gso_segs;
	if (!segs || (shinfo->gso_type & SKB_GSO_DODGY))
		segs = DIV_ROUND_UP(skb->len - hdr, shinfo->gso_size);
	*packets = segs;
	*bytes += (segs - 1) * hdr;
}

/*
 * An IP packet larger than its path MTU leaves as fragments (after POST_ROUTING),
 * and arrives reassembled (before LOCAL_IN; IPv6 by nf_defrag_ipv6). Count the
 * fragments the wire carries: each carries at most max_data bytes of the
 * datagram behind its own copy of the unfragmentable headers (and, for IPv6, a
 * fragment header); all but the last carry the largest multiple of 8 that fits.
 * IPv4 options that are not copied are NOPed in later fragments, so the header
 * length stays.
 */
static void qt_fragments(unsigned int len, unsigned int hlen, unsigned int frag_hdr,
			 unsigned int max_data, unsigned int *bytes, unsigned int *packets)
{
	unsigned int chunk = max_data & ~7U, n = 1;

	if (len <= hlen || !chunk)
		return;		/* the stack drops it */
	if (len - hlen > max_data)
		n += DIV_ROUND_UP(len - hlen - max_data, chunk);
	*packets = n;
	*bytes = len + (n - 1) * hlen + n * frag_hdr;
}

/*
 * As __ip_finish_output(), ip_fragment() and ip_do_fragment() decide. False if
 * the stack drops the packet instead (DF set and not to be ignored: a raw socket's
 * own header, a forwarded or reassembled packet).
 */
static bool qt_fragments_v4_tx(struct sock *sk, struct sk_buff *skb, unsigned int *bytes,
			       unsigned int *packets)
{
	unsigned int mtu = ip_skb_dst_mtu(sk, skb), max = IPCB(skb)->frag_max_size;
	unsigned int hlen = ip_hdrlen(skb);

	if (likely(skb->len <= mtu && !max))
		return true;
	if ((ip_hdr(skb)->frag_off & htons(IP_DF)) && (!skb->ignore_df || max > mtu))
		return false;	/* ICMP Fragmentation Needed */
	if (max && max < mtu)
		mtu = max;
	if (mtu < hlen + 8)
		return false;
	qt_fragments(skb->len, hlen, 0, mtu - hlen, bytes, packets);
	return true;
}

/* A route with RTAX_FEATURE_ALLFRAG fragments every IPv6 datagram, until 6.7. */
static bool qt_allfrag(const struct dst_entry *dst)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
	return dst_allfrag(dst);
#else
	return false;
#endif
}

/*
 * As __ip6_finish_output() and ip6_fragment() decide: the path MTU, lowered to
 * the largest fragment of a datagram the stack reassembled (frag_max_size), then
 * to the socket's IPV6_MTU. A datagram the socket built in pieces of that size
 * leaves as those pieces (the frag_list fast path: none larger than the
 * aligned size), a reassembled one as the fragments it came in.
 */
static bool qt_fragments_v6_tx(struct sk_buff *skb, unsigned int *bytes,
			       unsigned int *packets)
{
	unsigned int mtu = ip6_skb_dst_mtu(skb), max = IP6CB(skb)->frag_max_size;
	const struct ipv6_pinfo *np;
	unsigned int frag_size;
	u8 *prevhdr;
	int hlen;

	if (likely(skb->len <= mtu && (!max || skb->len <= max) &&
		   !qt_allfrag(skb_dst(skb))))
		return true;
	if ((!skb->ignore_df && skb->len > mtu) || max > mtu)
		return false;	/* ICMPv6 Packet Too Big */
	if (max)
		mtu = max;
	np = skb->sk && !dev_recursion_level() ? inet6_sk(skb->sk) : NULL;
	frag_size = np ? READ_ONCE(np->frag_size) : 0;
	if (frag_size && frag_size < mtu)
		mtu = frag_size;
	hlen = ip6_find_1stfragopt(skb, &prevhdr);
	if (hlen < 0 || mtu < hlen + sizeof(struct frag_hdr) + 8)
		return false;
	mtu -= hlen + sizeof(struct frag_hdr);
	qt_fragments(skb->len, hlen, sizeof(struct frag_hdr), max ? mtu : mtu & ~7U,
		     bytes, packets);
	return true;
}

/* A reassembled datagram: frag_max_size is the largest fragment it came in. */
static void qt_fragments_rx(struct sk_buff *skb, u8 pf, unsigned int *bytes,
			    unsigned int *packets)
{
	unsigned int max;
	u8 *prevhdr;
	int hlen;

	if (pf == NFPROTO_IPV4) {
		max = IPCB(skb)->frag_max_size;
		hlen = ip_hdrlen(skb);
		if (max > hlen)
			qt_fragments(skb->len, hlen, 0, max - hlen, bytes, packets);
		return;
	}
	max = IP6CB(skb)->frag_max_size;
	if (!max)
		return;
	hlen = ip6_find_1stfragopt(skb, &prevhdr);
	if (hlen >= 0 && max > hlen + sizeof(struct frag_hdr))
		qt_fragments(skb->len, hlen, sizeof(struct frag_hdr),
			     max - hlen - sizeof(struct frag_hdr), bytes, packets);
}

/* False if the packet never reaches the wire. */
static bool qt_fragments_of(struct sk_buff *skb, const struct nf_hook_state *state,
			    unsigned int *bytes, unsigned int *packets)
{
	if (state->hook == NF_INET_LOCAL_IN) {
		qt_fragments_rx(skb, state->pf, bytes, packets);
		return true;
	}
	if (state->pf == NFPROTO_IPV4)
		return qt_fragments_v4_tx(state->sk, skb, bytes, packets);
	return qt_fragments_v6_tx(skb, bytes, packets);
}

static bool qt_forwarded(const struct sk_buff *skb, u8 pf)
{
	if (pf == NFPROTO_IPV4)
		return IPCB(skb)->flags & IPSKB_FORWARDED;
	return IP6CB(skb)->flags & IP6SKB_FORWARDED;
}

static unsigned int qt_hook(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	bool rx = state->hook == NF_INET_LOCAL_IN;
	const struct net_device *dev = rx ? state->in : state->out;
	struct sock *sk = skb->sk, *owner, *full = NULL;
	unsigned int bytes, packets;
	struct qt_iface *ifc;
	struct qt_net *qn;
	struct qt_tag *t;
	u32 tag = 0;
	bool put = false;
	kuid_t uid;

	qt_event(QT_EV_MATCH_CALLS);
	if (!rx)
		qt_event(QT_EV_MATCH_CALLS_PREPOST);
	if (!dev || (!rx && qt_forwarded(skb, state->pf)))
		return NF_ACCEPT;
	qn = qt_net(state->net);
	ifc = qt_iface_of(qn, dev->ifindex);
	if (unlikely(!ifc))
		return NF_ACCEPT;

	if (rx && !sk)
		sk = qt_rx_sock(state->net, skb, dev, state->pf, &put);
	owner = sk ? sk_to_full_sk(sk) : NULL;	/* a request sock's listener */
	if (owner && sk_fullsock(owner)) {
		full = owner;
		qt_event(QT_EV_MATCH_FOUND_SK);
		t = qt_tag_lookup(owner);
		if (t) {
			u64 v = READ_ONCE(t->tag);

			tag = qt_tag_acct(v);
			uid = qt_tag_uid(v);
		} else {
			uid = sock_net_uid(state->net, owner);
		}
	} else {
		qt_event(QT_EV_MATCH_NO_SK);	/* no socket, or a time-wait one */
		uid = sock_net_uid(state->net, NULL);
	}
	qt_wire_size(skb, &bytes, &packets);
	if (skb_is_gso(skb) || qt_fragments_of(skb, state, &bytes, &packets))
		qt_bill(qn, ifc, full, tag, uid, rx ? QT_RX : QT_TX,
			qt_proto_of(qt_l4proto(skb, state->pf)), bytes, packets);
	if (put && sk)
		sock_gen_put(sk);
	return NF_ACCEPT;
}

static const struct nf_hook_ops qt_hook_ops[] = {
	{ .hook = qt_hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_IN,
	  .priority = NF_IP_PRI_LAST - 1 },
	{ .hook = qt_hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_POST_ROUTING,
	  .priority = NF_IP_PRI_LAST - 1 },
	{ .hook = qt_hook, .pf = NFPROTO_IPV6, .hooknum = NF_INET_LOCAL_IN,
	  .priority = NF_IP6_PRI_LAST - 1 },
	{ .hook = qt_hook, .pf = NFPROTO_IPV6, .hooknum = NF_INET_POST_ROUTING,
	  .priority = NF_IP6_PRI_LAST - 1 },
};

/* IPv6 fragments reach LOCAL_IN one by one unless reassembled before it; only
 * the first carries the ports that find the socket. */
static int __net_init qt_hooks_net_init(struct net *net)
{
	int err = qt_defrag6_enable(net);

	if (err)
		return err;
	err = nf_register_net_hooks(net, qt_hook_ops, ARRAY_SIZE(qt_hook_ops));
	if (err)
		qt_defrag6_disable(net);
	return err;
}

/* Unregister in pre_exit: the core waits for an RCU grace period before the
 * state the hooks use is freed (qt_net's exit). */
static void __net_exit qt_hooks_net_pre_exit(struct net *net)
{
	nf_unregister_net_hooks(net, qt_hook_ops, ARRAY_SIZE(qt_hook_ops));
	qt_defrag6_disable(net);
}

static struct pernet_operations qt_hooks_net_ops = {
	.init = qt_hooks_net_init,
	.pre_exit = qt_hooks_net_pre_exit,
};

int qt_hooks_init(void)
{
	int err = qt_lookup_init();

	if (err)
		return err;
	err = register_pernet_subsys(&qt_hooks_net_ops);
	if (err)
		qt_lookup_exit();
	return err;
}

void qt_hooks_exit(void)
{
	unregister_pernet_subsys(&qt_hooks_net_ops);
	synchronize_net();	/* no CPU is still in qt_hook */
	qt_lookup_exit();
}
