// SPDX-License-Identifier: GPL-2.0
/*
 * Stats entries: one per (interface, acct_tag, uid) in a network namespace, with
 * per-CPU counters for each (counter set, protocol) that has seen traffic. The
 * packet path finds an entry with a lock-free rhashtable lookup and adds to this
 * CPU's counters; only the first packet of an entry, or of a set or protocol in
 * it, allocates, without waiting and charged to the memory cgroup of the packet's
 * socket.
 *
 * A uid's total rows (tag 0) are always created: one per interface it uses.
 * Tagged entries are bounded per billed uid over every namespace
 * (max_uid_stats_entries) and per namespace (max_stats_entries), so a uid that
 * uses up its budget loses only its own new tag rows (counted as
 * stats_packets_lost), never another uid's rows or its own total.
 *
 * A counter slot holds per-CPU counters, or, tagged with QT_SHARED, shared atomic
 * ones: atomic per-CPU allocations fail when a burst of new entries drains the
 * per-CPU allocator's populated reserve, and those entries must still count every
 * packet (slab memory is still there then).
 * Entries are also indexed by a cyclic id so the stats file lists them in a
 * stable order and can resume a read where it stopped.
 */
#include <linux/jhash.h>
#include <linux/slab.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <net/sock.h>
#include "qtaguid.h"

/* Both inline, unlike rhashtable's generic jhash and memcmp of the key: they run
 * for every packet. */
static u32 qt_stat_hash(const void *data, u32 len, u32 seed)
{
	const struct qt_stat_key *k = data;

	return jhash_3words(k->iface, k->tag, k->uid, seed);
}

static int qt_stat_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct qt_stat_key *a = arg->key, *b = &((const struct qt_stat *)obj)->key;

	return a->iface != b->iface || a->tag != b->tag || a->uid != b->uid;
}

static const struct rhashtable_params qt_stat_params = {
	.key_len = sizeof(struct qt_stat_key),
	.key_offset = offsetof(struct qt_stat, key),
	.head_offset = offsetof(struct qt_stat, node),
	.hashfn = qt_stat_hash,
	.obj_cmpfn = qt_stat_cmp,
	.automatic_shrinking = true,
};

static struct kmem_cache *qt_stat_cache;

/* What a packet allocates: never waits, never dips into reserves, is charged. */
#define QT_GFP (GFP_NOWAIT | __GFP_NOWARN | __GFP_ACCOUNT)

/* The memory cgroup that pays for what a packet of sk allocates. */
static struct mem_cgroup *qt_memcg_of(const struct sock *sk)
{
#ifdef CONFIG_MEMCG
	return sk ? sk->sk_memcg : NULL;
#else
	return NULL;
#endif
}

/* Tagged entries per billed uid (__kuid_val), over every namespace. */
static DEFINE_XARRAY_FLAGS(qt_uid_entries, XA_FLAGS_LOCK_BH | XA_FLAGS_ACCOUNT);

static unsigned long qt_uid_entries_get(u32 uid)
{
	void *v = xa_load(&qt_uid_entries, uid);

	return v ? xa_to_value(v) : 0;
}

static bool qt_uid_entry_take(u32 uid)
{
	unsigned long n;
	bool ok = false;

	xa_lock_bh(&qt_uid_entries);
	n = qt_uid_entries_get(uid);
	if (n < READ_ONCE(qt_max_uid_stats_entries))
		ok = !xa_is_err(__xa_store(&qt_uid_entries, uid, xa_mk_value(n + 1), QT_GFP));
	xa_unlock_bh(&qt_uid_entries);
	return ok;
}

static void qt_uid_entry_give(u32 uid)
{
	unsigned long n;

	xa_lock_bh(&qt_uid_entries);
	n = qt_uid_entries_get(uid);
	WARN_ON_ONCE(!n);
	if (n > 1)	/* replaces a value: allocates nothing, cannot fail */
		__xa_store(&qt_uid_entries, uid, xa_mk_value(n - 1), QT_GFP);
	else
		__xa_erase(&qt_uid_entries, uid);
	xa_unlock_bh(&qt_uid_entries);
}

struct qt_shared_counters {
	atomic64_t bytes[QT_DIRS];
	atomic64_t packets[QT_DIRS];
};

#define QT_SHARED 1UL

static inline struct qt_proto_counters __percpu *qt_slot_percpu(unsigned long slot)
{
	return (struct qt_proto_counters __percpu __force *)slot;
}

static inline struct qt_shared_counters *qt_slot_shared(unsigned long slot)
{
	return (struct qt_shared_counters *)(slot & ~QT_SHARED);
}

static unsigned long qt_slot_alloc(void)
{
	struct qt_proto_counters __percpu *pc;
	struct qt_shared_counters *sc;

	pc = __alloc_percpu_gfp(sizeof(*pc), __alignof__(*pc), QT_GFP);
	if (pc)
		return (unsigned long __force)pc;
	sc = kzalloc(sizeof(*sc), QT_GFP);
	return sc ? (unsigned long)sc | QT_SHARED : 0;
}

static void qt_slot_free(unsigned long slot)
{
	if (slot & QT_SHARED)
		kfree(qt_slot_shared(slot));
	else
		free_percpu(qt_slot_percpu(slot));
}

static void qt_stat_free(struct qt_stat *st)
{
	int set, proto;

	for (set = 0; set < QT_SETS; set++)
		for (proto = 0; proto < QT_PROTOS; proto++)
			if (st->c[set][proto])
				qt_slot_free(st->c[set][proto]);
	kmem_cache_free(qt_stat_cache, st);
}

/* An entry no packet or reader can see any more: give back its budget, free it. */
static void qt_stat_drop(struct qt_stat *st)
{
	if (st->key.tag)
		qt_uid_entry_give(st->key.uid);
	qt_stat_free(st);
}

/*
 * Is there room for the entry? Checked before allocating, so a uid over its budget
 * costs each of its packets a lookup, not an allocation and a lock;
 * qt_uid_entry_take() decides under its lock.
 */
static bool qt_stat_room(struct qt_net *qn, const struct qt_stat_key *key)
{
	return !key->tag ||
	       (READ_ONCE(qn->tag_entries) < READ_ONCE(qt_max_stats_entries) &&
		qt_uid_entries_get(key->uid) < READ_ONCE(qt_max_uid_stats_entries));
}

static struct qt_stat *qt_stat_insert(struct qt_net *qn, struct qt_stat *st)
{
	const struct qt_stat_key *key = &st->key;
	struct qt_stat *old;

	spin_lock_bh(&qn->stats_lock);
	old = rhashtable_lookup_fast(&qn->stats, key, qt_stat_params);
	if (old || !qt_stat_room(qn, key))
		goto lost;
	if (key->tag && !qt_uid_entry_take(key->uid))
		goto lost;
	if (xa_alloc_cyclic(&qn->stats_by_id, &st->id, st, xa_limit_32b,
			    &qn->stats_next_id, QT_GFP) < 0)
		goto give;
	if (rhashtable_insert_fast(&qn->stats, &st->node, qt_stat_params)) {
		xa_erase(&qn->stats_by_id, st->id);
		goto give;
	}
	if (key->tag)
		WRITE_ONCE(qn->tag_entries, qn->tag_entries + 1);
	spin_unlock_bh(&qn->stats_lock);
	return st;

give:
	if (key->tag)
		qt_uid_entry_give(key->uid);
lost:	/* someone else created it, or there is no room */
	spin_unlock_bh(&qn->stats_lock);
	qt_stat_free(st);
	return old;
}

static noinline struct qt_stat *qt_stat_create(struct qt_net *qn, struct qt_iface *ifc,
					       const struct qt_stat_key *key, struct sock *sk)
{
	struct mem_cgroup *memcg;
	struct qt_stat *st = NULL;

	if (!qt_stat_room(qn, key))
		return NULL;
	memcg = set_active_memcg(qt_memcg_of(sk));
	st = kmem_cache_zalloc(qt_stat_cache, QT_GFP);
	if (st) {
		st->key = *key;
		st->iface = ifc;
		st = qt_stat_insert(qn, st);
	}
	set_active_memcg(memcg);
	return st;
}

/* The counter slot of (set, proto) in st, allocated by the first packet that needs it. */
static noinline unsigned long qt_stat_slot(struct qt_stat *st, int set, enum qt_proto proto,
					   struct sock *sk)
{
	struct mem_cgroup *memcg = set_active_memcg(qt_memcg_of(sk));
	unsigned long slot = qt_slot_alloc(), old;

	set_active_memcg(memcg);
	if (!slot)
		return 0;
	old = cmpxchg(&st->c[set][proto], 0, slot);
	if (old) {	/* another CPU was first */
		qt_slot_free(slot);
		return old;
	}
	return slot;
}

static __always_inline void qt_stat_add(struct qt_net *qn, struct qt_iface *ifc,
					struct sock *sk, u32 tag, kuid_t uid, int set,
					enum qt_dir dir, enum qt_proto proto,
					unsigned int bytes, unsigned int packets)
{
	struct qt_stat_key key = { .iface = ifc->id, .tag = tag, .uid = __kuid_val(uid) };
	struct qt_stat *st;
	unsigned long slot;

	st = rhashtable_lookup(&qn->stats, &key, qt_stat_params);
	if (unlikely(!st)) {
		st = qt_stat_create(qn, ifc, &key, sk);
		if (!st)
			goto lost;
	}
	slot = READ_ONCE(st->c[set][proto]);
	if (unlikely(!slot)) {
		slot = qt_stat_slot(st, set, proto, sk);
		if (!slot)
			goto lost;
	}
	if (likely(!(slot & QT_SHARED))) {
		this_cpu_add(qt_slot_percpu(slot)->bytes[dir], bytes);
		this_cpu_add(qt_slot_percpu(slot)->packets[dir], packets);
	} else {
		atomic64_add(bytes, &qt_slot_shared(slot)->bytes[dir]);
		atomic64_add(packets, &qt_slot_shared(slot)->packets[dir]);
	}
	return;
lost:
	qt_event_add(QT_EV_STATS_PACKETS_LOST, packets);
}

/* The counters of one row (st, set), summed over CPUs, in the layout rows are shown in. */
void qt_stat_sum(const struct qt_stat *st, int set, struct qt_counters *sum)
{
	int cpu, d, p;

	memset(sum, 0, sizeof(*sum));
	for (p = 0; p < QT_PROTOS; p++) {
		unsigned long slot = READ_ONCE(st->c[set][p]);

		if (!slot)
			continue;
		if (slot & QT_SHARED) {
			for (d = 0; d < QT_DIRS; d++) {
				sum->bytes[d][p] = atomic64_read(&qt_slot_shared(slot)->bytes[d]);
				sum->packets[d][p] = atomic64_read(&qt_slot_shared(slot)->packets[d]);
			}
			continue;
		}
		for_each_possible_cpu(cpu) {
			const struct qt_proto_counters *c = per_cpu_ptr(qt_slot_percpu(slot), cpu);

			for (d = 0; d < QT_DIRS; d++) {
				sum->bytes[d][p] += READ_ONCE(c->bytes[d]);
				sum->packets[d][p] += READ_ONCE(c->packets[d]);
			}
		}
	}
}

int qt_counter_set_of(struct qt_net *qn, kuid_t uid)
{
	void *v;

	if (xa_empty(&qn->counter_sets))	/* nobody uses set 1: skip the walk */
		return 0;
	v = xa_load(&qn->counter_sets, __kuid_val(uid));
	return v ? xa_to_value(v) : 0;
}

/*
 * Bill a packet of sk (NULL: no local socket) to its tag and to the uid's total
 * (tag 0), in the uid's active set.
 */
void qt_bill(struct qt_net *qn, struct qt_iface *ifc, struct sock *sk, u32 tag, kuid_t uid,
	     enum qt_dir dir, enum qt_proto proto, unsigned int bytes, unsigned int packets)
{
	int set = qt_counter_set_of(qn, uid);

	this_cpu_add(ifc->skb->bytes[dir][proto], bytes);
	this_cpu_add(ifc->skb->packets[dir][proto], packets);
	qt_stat_add(qn, ifc, sk, 0, uid, set, dir, proto, bytes, packets);
	if (tag)
		qt_stat_add(qn, ifc, sk, tag, uid, set, dir, proto, bytes, packets);
}

int qt_counter_set_change(struct qt_net *qn, kuid_t uid, int set)
{
	if (!set) {
		xa_erase(&qn->counter_sets, __kuid_val(uid));
		return 0;
	}
	return xa_err(xa_store(&qn->counter_sets, __kuid_val(uid), xa_mk_value(set),
			       GFP_KERNEL_ACCOUNT));
}

#define QT_DELETE_BATCH 512

/*
 * Delete the rows of uid: all of them, or those of one acct_tag. Entries carry no
 * rcu_head (16 bytes each, kept small): they are unpublished in batches and freed
 * after one grace period per batch. Process context.
 */
void qt_stats_delete(struct qt_net *qn, kuid_t uid, bool all_tags, u32 tag)
{
	struct qt_stat *small[16], **batch, *st;
	int n, i, size = QT_DELETE_BATCH;
	unsigned long id;

	batch = kmalloc_array(size, sizeof(*batch), GFP_KERNEL | __GFP_NOWARN);
	if (!batch) {	/* smaller batches, more grace periods: still all deleted */
		batch = small;
		size = ARRAY_SIZE(small);
	}
	do {
		n = 0;
		spin_lock_bh(&qn->stats_lock);
		xa_for_each(&qn->stats_by_id, id, st) {
			if (st->key.uid != __kuid_val(uid) || (!all_tags && st->key.tag != tag))
				continue;
			rhashtable_remove_fast(&qn->stats, &st->node, qt_stat_params);
			xa_erase(&qn->stats_by_id, id);
			if (st->key.tag)
				WRITE_ONCE(qn->tag_entries, qn->tag_entries - 1);
			batch[n++] = st;
			if (n == size)
				break;
		}
		spin_unlock_bh(&qn->stats_lock);
		if (!n)
			break;
		synchronize_rcu();	/* no packet or reader sees them any more */
		for (i = 0; i < n; i++)
			qt_stat_drop(batch[i]);
	} while (n == size);
	if (batch != small)
		kfree(batch);
}

int qt_stats_init(void)
{
	qt_stat_cache = KMEM_CACHE(qt_stat, SLAB_ACCOUNT);
	return qt_stat_cache ? 0 : -ENOMEM;
}

/* Every entry has been freed (namespaces exited, deletes are synchronous). */
void qt_stats_exit(void)
{
	WARN_ON_ONCE(!xa_empty(&qt_uid_entries));
	xa_destroy(&qt_uid_entries);
	kmem_cache_destroy(qt_stat_cache);
}

int qt_stats_net_init(struct qt_net *qn)
{
	spin_lock_init(&qn->stats_lock);
	xa_init_flags(&qn->stats_by_id, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	xa_init_flags(&qn->counter_sets, XA_FLAGS_ACCOUNT);
	return rhashtable_init(&qn->stats, &qt_stat_params);
}

static void qt_stat_drop_cb(void *ptr, void *arg)
{
	qt_stat_drop(ptr);
}

/* No packet or reader can reach the namespace's entries any more. */
void qt_stats_net_exit(struct qt_net *qn)
{
	xa_destroy(&qn->stats_by_id);
	rhashtable_free_and_destroy(&qn->stats, qt_stat_drop_cb, NULL);
	xa_destroy(&qn->counter_sets);
}
