// SPDX-License-Identifier: GPL-2.0
/*
 * The socket -> tag table.
 *
 * Each entry holds a reference on its socket, so the socket's address cannot be
 * reused while the entry exists. An out-of-tree module gets no call when a socket
 * is closed, so a reaper drops entries whose socket has died (SOCK_DEAD or
 * orphaned) a few times a second. Readers (the packet path) use RCU; writers
 * (ctrl commands, the reaper) hold qt_tags_mutex.
 */
#include <linux/module.h>
#include <linux/hash.h>
#include <linux/slab.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include "qtaguid.h"

#define QT_REAP_INTERVAL (HZ / 4)

/* Socket addresses are not chosen by users: a multiplicative hash spreads them. */
static u32 qt_tag_hash(const void *key, u32 len, u32 seed)
{
	return hash_64((unsigned long)*(const struct sock *const *)key ^ seed, 32);
}

static const struct rhashtable_params qt_tag_params = {
	.key_len = sizeof(struct sock *),
	.hashfn = qt_tag_hash,
	.key_offset = offsetof(struct qt_tag, sk),
	.head_offset = offsetof(struct qt_tag, node),
	.automatic_shrinking = true,
};

static struct rhashtable qt_tags;
LIST_HEAD(qt_tags_list);
DEFINE_MUTEX(qt_tags_mutex);
static struct xarray qt_quota;		/* kuid -> xa_mk_value(tagged sockets) */
static u64 qt_next_tag_id;
static struct kmem_cache *qt_tag_cache;

static void qt_reap(struct work_struct *work);
static DECLARE_DELAYED_WORK(qt_reaper, qt_reap);

struct qt_tag *qt_tag_lookup(const struct sock *sk)
{
	return rhashtable_lookup(&qt_tags, &sk, qt_tag_params);
}

bool qt_sock_dead(const struct sock *sk)
{
	return sock_flag(sk, SOCK_DEAD) || !READ_ONCE(sk->sk_socket);
}

static unsigned long qt_quota_get(kuid_t uid)
{
	void *v = xa_load(&qt_quota, __kuid_val(uid));

	return v ? xa_to_value(v) : 0;
}

/* Store a new count; called under qt_tags_mutex. */
static int qt_quota_set(kuid_t uid, unsigned long n)
{
	if (!n) {
		xa_erase(&qt_quota, __kuid_val(uid));
		return 0;
	}
	return xa_err(xa_store(&qt_quota, __kuid_val(uid), xa_mk_value(n), GFP_KERNEL));
}

static void qt_reap_locked(void);

static int qt_quota_take(kuid_t uid)
{
	unsigned long n = qt_quota_get(uid);

	if (n >= READ_ONCE(qt_max_sock_tags)) {
		/* Closed sockets the reaper has not seen yet do not count. */
		qt_reap_locked();
		n = qt_quota_get(uid);
		if (n >= READ_ONCE(qt_max_sock_tags))
			return -EMFILE;
	}
	return qt_quota_set(uid, n + 1);
}

static void qt_quota_give(kuid_t uid)
{
	unsigned long n = qt_quota_get(uid);

	/* Lowering a count needs no allocation; it cannot fail. */
	WARN_ON_ONCE(!n);
	if (n)
		qt_quota_set(uid, n - 1);
}

static void qt_tag_free_rcu(struct rcu_head *head)
{
	struct qt_tag *t = container_of(head, struct qt_tag, rcu);

	sock_put(t->sk);
	put_pid(t->pid);
	kmem_cache_free(qt_tag_cache, t);
}

/* Called under qt_tags_mutex. */
static void qt_tag_remove(struct qt_tag *t)
{
	rhashtable_remove_fast(&qt_tags, &t->node, qt_tag_params);
	list_del(&t->list);
	qt_quota_give(qt_tag_uid(t->tag));
	call_rcu(&t->rcu, qt_tag_free_rcu);
}

int qt_tag_socket(struct sock *sk, u32 acct_tag, kuid_t uid)
{
	u64 tag = (u64)acct_tag << 32 | __kuid_val(uid);
	struct qt_tag *t;
	int err = 0;

	mutex_lock(&qt_tags_mutex);
	t = rhashtable_lookup_fast(&qt_tags, &sk, qt_tag_params);
	if (t) {
		kuid_t old = qt_tag_uid(t->tag);

		if (!uid_eq(old, uid)) {
			err = qt_quota_take(uid);
			if (err)
				goto out;
			qt_quota_give(old);
		}
		WRITE_ONCE(t->tag, tag);
		put_pid(t->pid);
		t->pid = get_pid(task_tgid(current));
		goto out;
	}

	err = qt_quota_take(uid);
	if (err)
		goto out;
	t = kmem_cache_zalloc(qt_tag_cache, GFP_KERNEL);
	if (!t) {
		err = -ENOMEM;
		goto give;
	}
	t->sk = sk;
	t->tag = tag;
	t->id = ++qt_next_tag_id;
	t->pid = get_pid(task_tgid(current));
	sock_hold(sk);
	err = rhashtable_insert_fast(&qt_tags, &t->node, qt_tag_params);
	if (err) {
		sock_put(sk);
		put_pid(t->pid);
		kmem_cache_free(qt_tag_cache, t);
		goto give;
	}
	list_add_tail(&t->list, &qt_tags_list);
	schedule_delayed_work(&qt_reaper, QT_REAP_INTERVAL);	/* no-op if pending */
	goto out;
give:
	qt_quota_give(uid);
out:
	mutex_unlock(&qt_tags_mutex);
	return err;
}

int qt_untag_socket(struct sock *sk)
{
	struct qt_tag *t;
	int err = 0;

	mutex_lock(&qt_tags_mutex);
	t = rhashtable_lookup_fast(&qt_tags, &sk, qt_tag_params);
	if (t)
		qt_tag_remove(t);
	else
		err = -EINVAL;
	mutex_unlock(&qt_tags_mutex);
	return err;
}

void qt_tags_delete(const struct net *net, kuid_t uid, bool all_tags, u32 acct_tag)
{
	struct qt_tag *t, *tmp;

	mutex_lock(&qt_tags_mutex);
	list_for_each_entry_safe(t, tmp, &qt_tags_list, list) {
		if (!net_eq(sock_net(t->sk), net) || !uid_eq(qt_tag_uid(t->tag), uid))
			continue;
		if (all_tags || qt_tag_acct(t->tag) == acct_tag)
			qt_tag_remove(t);
	}
	mutex_unlock(&qt_tags_mutex);
}

/* Drop the tags of dead sockets; called under qt_tags_mutex. */
static void qt_reap_locked(void)
{
	struct qt_tag *t, *tmp;
	unsigned int n = 0;

	list_for_each_entry_safe(t, tmp, &qt_tags_list, list) {
		if (qt_sock_dead(t->sk))
			qt_tag_remove(t);
		if (++n % 1024 == 0)
			cond_resched();
	}
}

static void qt_reap(struct work_struct *work)
{
	mutex_lock(&qt_tags_mutex);
	qt_reap_locked();
	if (!list_empty(&qt_tags_list))
		schedule_delayed_work(&qt_reaper, QT_REAP_INTERVAL);
	mutex_unlock(&qt_tags_mutex);
}

int qt_tags_init(void)
{
	int err;

	/* Charged to the memory cgroup of the process that tags. */
	qt_tag_cache = KMEM_CACHE(qt_tag, SLAB_ACCOUNT);
	if (!qt_tag_cache)
		return -ENOMEM;
	xa_init_flags(&qt_quota, XA_FLAGS_ACCOUNT);
	err = rhashtable_init(&qt_tags, &qt_tag_params);
	if (err)
		kmem_cache_destroy(qt_tag_cache);
	return err;
}

void qt_tags_exit(void)
{
	struct qt_tag *t, *tmp;

	cancel_delayed_work_sync(&qt_reaper);
	mutex_lock(&qt_tags_mutex);
	list_for_each_entry_safe(t, tmp, &qt_tags_list, list)
		qt_tag_remove(t);
	mutex_unlock(&qt_tags_mutex);
	rcu_barrier();
	rhashtable_destroy(&qt_tags);
	xa_destroy(&qt_quota);
	kmem_cache_destroy(qt_tag_cache);
}
