// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state and its /proc/net/xt_qtaguid directory, and the
 * stats file.
 *
 * stats lists entries in id order; the seq_file position encodes (id, counter
 * set), so a read resumes in O(log n) where the last one stopped. idx is counted
 * per reader over the rows it has been given, so it stays consecutive from 2
 * whatever the reader may see and whatever changes between its reads (Android's
 * parser rejects gaps).
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include "qtaguid.h"

unsigned int qt_net_id;

struct qt_stats_iter {
	struct seq_net_private p;	/* must be first */
	bool privileged;
	kuid_t me;
	struct qt_stat *st;		/* the row being shown: st, set */
	int set;
	u64 rows;			/* rows the reader has been given */
};

#define QT_POS(id, set) (1 + (loff_t)(id) * QT_SETS + (set))

static bool qt_stat_visible(struct qt_stats_iter *it, const struct qt_stat *st)
{
	return it->privileged || st->key.uid == __kuid_val(it->me);
}

/*
 * seq_file moves on from a record only once it is in the reader's buffer; a record
 * that did not fit is shown again by the next read, or, if it is gone by then,
 * the next row is shown in its place. So a row's idx is the number of rows moved
 * past, plus 2.
 */
static void qt_stats_passed(struct qt_stats_iter *it, void *v)
{
	if (v != SEQ_START_TOKEN)
		it->rows++;
}

/* The first row at or after position pos, or NULL. */
static void *qt_stats_seek(struct seq_file *m, loff_t pos)
{
	struct qt_stats_iter *it = m->private;
	struct qt_net *qn = qt_net(seq_file_net(m));
	unsigned long id = (pos - 1) / QT_SETS;
	int set = (pos - 1) % QT_SETS;
	struct qt_stat *st;

	for (st = xa_find(&qn->stats_by_id, &id, ULONG_MAX, XA_PRESENT); st;
	     st = xa_find_after(&qn->stats_by_id, &id, ULONG_MAX, XA_PRESENT)) {
		if (!qt_stat_visible(it, st))
			continue;
		if (id != (pos - 1) / QT_SETS)
			set = 0;
		it->st = st;
		it->set = set;
		return it;
	}
	return NULL;
}

static void *qt_stats_start(struct seq_file *m, loff_t *pos)
{
	struct qt_stats_iter *it = m->private;
	struct net *net = seq_file_net(m);

	it->privileged = qt_stats_privileged(m->file, net);
	it->me = current_fsuid();
	rcu_read_lock();
	if (*pos == 0) {
		it->rows = 0;
		return SEQ_START_TOKEN;
	}
	if (!qt_stats_seek(m, *pos))
		return NULL;
	*pos = QT_POS(it->st->id, it->set);
	return it;
}

static void *qt_stats_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct qt_stats_iter *it = m->private;
	loff_t next;

	qt_stats_passed(it, v);
	if (v == SEQ_START_TOKEN)
		next = 1;
	else if (it->set + 1 < QT_SETS)
		next = QT_POS(it->st->id, it->set + 1);
	else
		next = QT_POS((u64)it->st->id + 1, 0);
	if (!qt_stats_seek(m, next)) {
		*pos = next;
		return NULL;
	}
	*pos = QT_POS(it->st->id, it->set);
	return it;
}

static void qt_stats_stop(struct seq_file *m, void *v)
{
	rcu_read_unlock();
}

static int qt_stats_show(struct seq_file *m, void *v)
{
	struct qt_stats_iter *it = m->private;
	struct user_namespace *ns = seq_user_ns(m);
	struct qt_counters c;
	struct qt_stat *st;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets"
			    " tx_bytes tx_packets " QT_PROTO_COUNTER_NAMES "\n");
		return 0;
	}
	st = it->st;
	qt_stat_sum(st, it->set, &c);
	seq_printf(m, "%llu %s 0x%llx %u %d", it->rows + 2, st->iface->name, (u64)st->key.tag << 32,
		   from_kuid_munged(ns, KUIDT_INIT(st->key.uid)), it->set);
	qt_counters_show(m, &c);
	return 0;
}

static const struct seq_operations qt_stats_seq_ops = {
	.start = qt_stats_start,
	.next = qt_stats_next,
	.stop = qt_stats_stop,
	.show = qt_stats_show,
};

static int __net_init qt_net_init(struct net *net)
{
	struct qt_net *qn = qt_net(net);
	int err;

	qn->net = net;
	err = qt_stats_net_init(qn);
	if (err)
		return err;
	qn->dir = proc_net_mkdir(net, "xt_qtaguid", net->proc_net);
	if (!qn->dir) {
		err = -ENOMEM;
		goto stats;
	}
	err = qt_iface_net_init(qn);
	if (err)
		goto proc;
	if (!proc_create_net_data_write("ctrl", qt_ctrl_mode, qn->dir, &qt_ctrl_seq_ops,
					qt_ctrl_write, qt_ctrl_iter_size(), NULL) ||
	    !proc_create_net("stats", qt_stats_mode, qn->dir, &qt_stats_seq_ops,
			     sizeof(struct qt_stats_iter))) {
		err = -ENOMEM;
		goto iface;
	}
	return 0;

iface:
	remove_proc_subtree("xt_qtaguid", net->proc_net);
	qt_iface_net_exit(qn);
	goto stats;
proc:
	remove_proc_subtree("xt_qtaguid", net->proc_net);
stats:
	qt_stats_net_exit(qn);
	return err;
}

static void __net_exit qt_net_exit(struct net *net)
{
	struct qt_net *qn = qt_net(net);

	remove_proc_subtree("xt_qtaguid", net->proc_net);	/* waits for readers */
	qt_iface_net_exit(qn);
	qt_stats_net_exit(qn);
}

static struct pernet_operations qt_net_ops = {
	.init = qt_net_init,
	.exit = qt_net_exit,
	.id = &qt_net_id,
	.size = sizeof(struct qt_net),
};

int qt_proc_init(void)
{
	return register_pernet_subsys(&qt_net_ops);
}

void qt_proc_exit(void)
{
	unregister_pernet_subsys(&qt_net_ops);
}
