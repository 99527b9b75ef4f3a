/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xt_qtaguid: per-socket traffic tagging and per (iface, tag, uid, counter set)
 * accounting with Android's /proc/net/xt_qtaguid interface.
 *
 * Shared declarations. One file per job:
 *   main.c    module parameters, privilege, events, init/exit
 *   tags.c    socket -> tag table, quota per uid, reaper of dead sockets
 *   stats.c   per-netns stats entries, counter sets, billing
 *   iface.c   per-netns interfaces, netdevice notifier, iface proc files
 *   hooks.c   netfilter hooks: find the owner of a packet and bill it
 *   ctrl.c    ctrl commands and the tagged-socket listing
 *   proc.c    the per-netns /proc/net/xt_qtaguid directory and stats file
 *   dev.c     /dev/xt_qtaguid
 */
#ifndef QTAGUID_H
#define QTAGUID_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/netdevice.h>
#include <linux/rhashtable.h>
#include <linux/xarray.h>
#include <linux/uidgid.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

struct qt_net;

#define QT_SETS 2 /* counter sets: 0 default/background, 1 foreground */

enum qt_dir { QT_RX, QT_TX, QT_DIRS };
enum qt_proto { QT_TCP, QT_UDP, QT_OTHER, QT_PROTOS };

/* One CPU's share of the counters of one counter set. */
struct qt_counters {
	u64 bytes[QT_DIRS][QT_PROTOS];
	u64 packets[QT_DIRS][QT_PROTOS];
};

/*
 * One CPU's counters of one protocol in one counter set of a stats entry: entries
 * allocate these per (set, protocol) on first use, as most see only one of each.
 */
struct qt_proto_counters {
	u64 bytes[QT_DIRS];
	u64 packets[QT_DIRS];
};

void qt_counters_sum(const struct qt_counters __percpu *pc, struct qt_counters *sum);
void qt_counters_show(struct seq_file *m, const struct qt_counters *c);

/* Header names of the twelve per-protocol counters that end stats and iface_stat_fmt rows. */
#define QT_PROTO_COUNTER_NAMES \
	"rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes" \
	" rx_other_packets tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets" \
	" tx_other_bytes tx_other_packets"

static inline u64 qt_dir_bytes(const struct qt_counters *c, enum qt_dir d)
{
	return c->bytes[d][QT_TCP] + c->bytes[d][QT_UDP] + c->bytes[d][QT_OTHER];
}

static inline u64 qt_dir_packets(const struct qt_counters *c, enum qt_dir d)
{
	return c->packets[d][QT_TCP] + c->packets[d][QT_UDP] + c->packets[d][QT_OTHER];
}

/* ---- module parameters (main.c) ---- */
extern unsigned int qt_acct_gid, qt_stats_gid, qt_max_sock_tags, qt_max_stats_entries,
	qt_max_uid_stats_entries;
extern unsigned short qt_ctrl_mode, qt_stats_mode, qt_iface_mode, qt_dev_mode;

/* ---- events shown on the last line of ctrl (main.c) ---- */
enum qt_event {
	QT_EV_SOCKETS_TAGGED,
	QT_EV_SOCKETS_UNTAGGED,
	QT_EV_COUNTER_SET_CHANGES,
	QT_EV_DELETE_CMDS,
	QT_EV_IFACE_EVENTS,
	QT_EV_MATCH_CALLS,
	QT_EV_MATCH_CALLS_PREPOST,
	QT_EV_MATCH_FOUND_SK,
	QT_EV_MATCH_FOUND_SK_IN_CT,
	QT_EV_MATCH_FOUND_NO_SK_IN_CT,
	QT_EV_MATCH_NO_SK,
	QT_EV_MATCH_NO_SK_GID,
	QT_EV_STATS_PACKETS_LOST,
	QT_EV_COUNT
};

struct qt_events {
	u64 n[QT_EV_COUNT];
};

extern struct qt_events __percpu *qt_events;

static inline void qt_event(enum qt_event e)
{
	this_cpu_inc(qt_events->n[e]);
}

static inline void qt_event_add(enum qt_event e, unsigned int n)
{
	this_cpu_add(qt_events->n[e], n);
}

void qt_events_show(struct seq_file *m);

/* ---- privilege (main.c) ---- */
bool qt_acct_privileged(const struct file *file, const struct net *net);
bool qt_stats_privileged(const struct file *file, const struct net *net);

/* ---- interfaces (iface.c) ---- */
struct qt_iface {
	struct list_head list;		/* qt_net.ifaces; RCU, changed under iface_mutex */
	struct net *net;
	u32 id;				/* key part of stats entries */
	char name[IFNAMSIZ];
	/* The rest is changed under qt_net.iface_mutex. */
	int ifindex;			/* 0 while no device has this name */
	bool up;
	struct rtnl_link_stats64 dev_past;	/* device counters of earlier registrations */
	struct rtnl_link_stats64 dev_start;	/* device counters when it took this name */
	struct qt_counters __percpu *skb;	/* all IP traffic counted by qtag */
	struct proc_dir_entry *proc;
};

int qt_iface_init(void);
void qt_iface_exit(void);
int qt_iface_net_init(struct qt_net *qn);
void qt_iface_net_exit(struct qt_net *qn);

/* ---- per network namespace state (proc.c allocates it) ---- */
#define QT_SMALL_IFINDEX 32	/* most machines' devices; larger ones take the xarray */

struct qt_net {
	struct net *net;
	struct proc_dir_entry *dir, *iface_dir;

	struct mutex iface_mutex;	/* taken inside RTNL by the notifier */
	struct list_head ifaces;	/* of qt_iface */
	struct xarray iface_by_index;	/* ifindex -> qt_iface, RCU readers */
	struct qt_iface __rcu *iface_small[QT_SMALL_IFINDEX];	/* the same, one load */
	u32 next_iface_id;

	struct rhashtable stats;	/* key -> qt_stat, RCU readers */
	struct xarray stats_by_id;	/* id -> qt_stat, to list in a stable order */
	u32 stats_next_id;
	unsigned int tag_entries;	/* entries with a tag != 0 */
	spinlock_t stats_lock;		/* serialises stats inserts and deletes */

	struct xarray counter_sets;	/* kuid -> xa_mk_value(set), only sets != 0 */
};

extern unsigned int qt_net_id;

static inline struct qt_net *qt_net(const struct net *net)
{
	return net_generic(net, qt_net_id);
}

/* The entry of a device, under RCU (the packet path). */
static inline struct qt_iface *qt_iface_of(struct qt_net *qn, int ifindex)
{
	if (likely((unsigned int)ifindex < QT_SMALL_IFINDEX))
		return rcu_dereference(qn->iface_small[ifindex]);
	return xa_load(&qn->iface_by_index, ifindex);
}

int qt_proc_init(void);
void qt_proc_exit(void);

/* ---- stats (stats.c) ---- */
struct qt_stat_key {
	u32 iface;
	u32 tag;
	u32 uid;	/* __kuid_val */
};

struct qt_stat {
	struct rhash_head node;
	struct qt_stat_key key;
	u32 id;
	struct qt_iface *iface;
	unsigned long c[QT_SETS][QT_PROTOS];	/* 0 until used, see stats.c */
};

int qt_stats_init(void);
void qt_stats_exit(void);
void qt_stat_sum(const struct qt_stat *st, int set, struct qt_counters *sum);
int qt_stats_net_init(struct qt_net *qn);
void qt_stats_net_exit(struct qt_net *qn);
void qt_bill(struct qt_net *qn, struct qt_iface *ifc, struct sock *sk, u32 tag, kuid_t uid,
	     enum qt_dir dir, enum qt_proto proto, unsigned int bytes, unsigned int packets);
void qt_stats_delete(struct qt_net *qn, kuid_t uid, bool all_tags, u32 tag);
int qt_counter_set_change(struct qt_net *qn, kuid_t uid, int set);
int qt_counter_set_of(struct qt_net *qn, kuid_t uid);

/* ---- socket tags (tags.c) ---- */
struct qt_tag {
	struct rhash_head node;
	struct sock *sk;		/* key; holds a reference */
	struct list_head list;		/* qt_tags_list, under qt_tags_mutex */
	u64 id;				/* opaque id shown as sock= */
	u64 tag;			/* (u64)acct_tag << 32 | __kuid_val(uid) */
	struct pid *pid;		/* thread group that tagged */
	struct rcu_head rcu;
};

static inline u32 qt_tag_acct(u64 tag)
{
	return tag >> 32;
}

static inline kuid_t qt_tag_uid(u64 tag)
{
	return KUIDT_INIT((u32)tag);
}

extern struct list_head qt_tags_list;
extern struct mutex qt_tags_mutex;

int qt_tags_init(void);
void qt_tags_exit(void);
struct qt_tag *qt_tag_lookup(const struct sock *sk);	/* under RCU */
int qt_tag_socket(struct sock *sk, u32 acct_tag, kuid_t uid);
int qt_untag_socket(struct sock *sk);
void qt_tags_delete(const struct net *net, kuid_t uid, bool all_tags, u32 tag);
bool qt_sock_dead(const struct sock *sk);

/* ---- the socket of an incoming packet (lookup.c) ---- */
int qt_lookup_init(void);
void qt_lookup_exit(void);
struct sock *qt_rx_sock(struct net *net, struct sk_buff *skb, const struct net_device *dev,
			u8 pf, bool *put);
extern int (*qt_defrag6_enable)(struct net *net);
extern void (*qt_defrag6_disable)(struct net *net);

/* ---- netfilter hooks (hooks.c) ---- */
int qt_hooks_init(void);
void qt_hooks_exit(void);

/* ---- ctrl (ctrl.c) ---- */
extern const struct seq_operations qt_ctrl_seq_ops;
struct qt_ctrl_iter;
size_t qt_ctrl_iter_size(void);
int qt_ctrl_write(struct file *file, char *buf, size_t size);

/* ---- /dev/xt_qtaguid (dev.c) ---- */
int qt_dev_init(void);
void qt_dev_exit(void);

#endif
