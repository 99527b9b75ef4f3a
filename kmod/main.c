// SPDX-License-Identifier: GPL-2.0
/* Module parameters, privilege checks, event counters, init and exit. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/percpu.h>
#include "qtaguid.h"

unsigned int qt_acct_gid = (unsigned int)-1;
module_param_named(acct_gid, qt_acct_gid, uint, 0644);
MODULE_PARM_DESC(acct_gid, "group with accounting privilege (default: none)");

unsigned int qt_stats_gid = (unsigned int)-1;
module_param_named(stats_gid, qt_stats_gid, uint, 0644);
MODULE_PARM_DESC(stats_gid, "group with stats privilege (default: none)");

unsigned int qt_max_sock_tags = 1024;
module_param_named(max_sock_tags, qt_max_sock_tags, uint, 0644);
MODULE_PARM_DESC(max_sock_tags, "tagged sockets billed to one uid at a time");

unsigned int qt_max_stats_entries = 65536;
module_param_named(max_stats_entries, qt_max_stats_entries, uint, 0644);
MODULE_PARM_DESC(max_stats_entries, "tagged stats entries per network namespace");

unsigned int qt_max_uid_stats_entries = 4096;
module_param_named(max_uid_stats_entries, qt_max_uid_stats_entries, uint, 0644);
MODULE_PARM_DESC(max_uid_stats_entries, "tagged stats entries billed to one uid, over every network namespace");

unsigned short qt_ctrl_mode = 0666, qt_stats_mode = 0444, qt_iface_mode = 0444, qt_dev_mode = 0644;
module_param_named(ctrl_mode, qt_ctrl_mode, ushort, 0444);
module_param_named(stats_mode, qt_stats_mode, ushort, 0444);
module_param_named(iface_mode, qt_iface_mode, ushort, 0444);
module_param_named(dev_mode, qt_dev_mode, ushort, 0444);
MODULE_PARM_DESC(ctrl_mode, "mode of /proc/net/xt_qtaguid/ctrl");
MODULE_PARM_DESC(stats_mode, "mode of /proc/net/xt_qtaguid/stats");
MODULE_PARM_DESC(iface_mode, "mode of the iface_stat files");
MODULE_PARM_DESC(dev_mode, "mode of /dev/xt_qtaguid");

struct qt_events __percpu *qt_events;

static const char *const qt_event_names[QT_EV_COUNT] = {
	"sockets_tagged", "sockets_untagged", "counter_set_changes", "delete_cmds",
	"iface_events", "match_calls", "match_calls_prepost", "match_found_sk",
	"match_found_sk_in_ct", "match_found_no_sk_in_ct", "match_no_sk",
	"match_no_sk_gid", "stats_packets_lost",
};

void qt_events_show(struct seq_file *m)
{
	int e, cpu;

	seq_puts(m, "events:");
	for (e = 0; e < QT_EV_COUNT; e++) {
		u64 n = 0;

		for_each_possible_cpu(cpu)
			n += per_cpu_ptr(qt_events, cpu)->n[e];
		seq_printf(m, " %s=%llu", qt_event_names[e], n);
	}
	seq_putc(m, '\n');
}

void qt_counters_sum(const struct qt_counters __percpu *pc, struct qt_counters *sum)
{
	int cpu, d, p;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct qt_counters *c = per_cpu_ptr(pc, cpu);

		for (d = 0; d < QT_DIRS; d++)
			for (p = 0; p < QT_PROTOS; p++) {
				sum->bytes[d][p] += READ_ONCE(c->bytes[d][p]);
				sum->packets[d][p] += READ_ONCE(c->packets[d][p]);
			}
	}
}

/* rx/tx totals, then per protocol: the sixteen counters of a row, each after a space. */
void qt_counters_show(struct seq_file *m, const struct qt_counters *c)
{
	int d, p;

	seq_printf(m, " %llu %llu %llu %llu",
		   qt_dir_bytes(c, QT_RX), qt_dir_packets(c, QT_RX),
		   qt_dir_bytes(c, QT_TX), qt_dir_packets(c, QT_TX));
	for (d = 0; d < QT_DIRS; d++)
		for (p = 0; p < QT_PROTOS; p++)
			seq_printf(m, " %llu %llu", c->bytes[d][p], c->packets[d][p]);
	seq_putc(m, '\n');
}

static bool qt_cred_in_group(const struct cred *cred, kgid_t gid)
{
	const struct group_info *gi = cred->group_info;
	int i;

	if (gid_eq(cred->fsgid, gid) || gid_eq(cred->egid, gid))
		return true;
	for (i = 0; i < gi->ngroups; i++)
		if (gid_eq(gi->gid[i], gid))
			return true;
	return false;
}

/*
 * Privilege must be held both by whoever opened the file and by whoever uses it
 * now: a privileged process writing through an fd an unprivileged one opened gets
 * none, and a privileged fd that leaks to an unprivileged process lends none.
 */
static bool qt_privileged(const struct file *file, const struct net *net, unsigned int gid_param)
{
	kgid_t gid = make_kgid(&init_user_ns, gid_param);
	bool opener, user;

	opener = file_ns_capable(file, net->user_ns, CAP_NET_ADMIN) ||
		 (gid_valid(gid) && qt_cred_in_group(file->f_cred, gid));
	if (!opener)
		return false;
	user = ns_capable_noaudit(net->user_ns, CAP_NET_ADMIN) ||
	       (gid_valid(gid) && qt_cred_in_group(current_cred(), gid));
	return user;
}

bool qt_acct_privileged(const struct file *file, const struct net *net)
{
	return qt_privileged(file, net, READ_ONCE(qt_acct_gid));
}

bool qt_stats_privileged(const struct file *file, const struct net *net)
{
	return qt_privileged(file, net, READ_ONCE(qt_stats_gid));
}

static int __init qt_init(void)
{
	int err;

	qt_events = alloc_percpu(struct qt_events);
	if (!qt_events)
		return -ENOMEM;
	err = qt_stats_init();
	if (err)
		goto free_events;
	err = qt_tags_init();
	if (err)
		goto stats;
	err = qt_proc_init();		/* per-netns state and /proc files */
	if (err)
		goto tags;
	err = qt_iface_init();		/* learn the existing devices */
	if (err)
		goto proc;
	err = qt_hooks_init();		/* only now start counting */
	if (err)
		goto iface;
	err = qt_dev_init();
	if (err)
		goto hooks;
	pr_info("xt_qtaguid: loaded\n");
	return 0;

hooks:
	qt_hooks_exit();
iface:
	qt_iface_exit();
proc:
	qt_proc_exit();
tags:
	qt_tags_exit();
stats:
	rcu_barrier();
	qt_stats_exit();
free_events:
	free_percpu(qt_events);
	return err;
}

static void __exit qt_exit(void)
{
	qt_dev_exit();
	qt_hooks_exit();
	qt_iface_exit();
	qt_proc_exit();
	qt_tags_exit();
	rcu_barrier();	/* RCU callbacks of this module have run */
	qt_stats_exit();
	free_percpu(qt_events);
	pr_info("xt_qtaguid: unloaded\n");
}

module_init(qt_init);
module_exit(qt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("qtag: per-socket traffic tagging and accounting (Android qtaguid interface)");
MODULE_ALIAS("ipt_qtaguid");
MODULE_ALIAS("ip6t_qtaguid");
