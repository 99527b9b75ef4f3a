// SPDX-License-Identifier: GPL-2.0
/*
 * Interfaces of a network namespace, learnt from the netdevice notifier, and
 * their files: iface_stat_all, iface_stat_fmt, iface_stat/<name>/<counter>.
 *
 * An interface entry lives as long as its namespace, keyed by name, so counters
 * survive a device going away and coming back (as on Android). The packet path
 * finds the entry of a device by ifindex in an xarray, without locks.
 */
#include <linux/slab.h>
#include <linux/proc_fs.h>
#include <linux/rtnetlink.h>
#include "qtaguid.h"

static void qt_link_stats_add(struct rtnl_link_stats64 *acc, const struct rtnl_link_stats64 *now,
			      const struct rtnl_link_stats64 *start)
{
	acc->rx_bytes += now->rx_bytes - start->rx_bytes;
	acc->rx_packets += now->rx_packets - start->rx_packets;
	acc->tx_bytes += now->tx_bytes - start->tx_bytes;
	acc->tx_packets += now->tx_packets - start->tx_packets;
}

/* The device's counters since it took this name; zero if no device has it. */
static void qt_iface_dev_now(const struct qt_iface *ifc, struct rtnl_link_stats64 *out)
{
	struct rtnl_link_stats64 now;
	struct net_device *dev;

	memset(out, 0, sizeof(*out));
	if (!ifc->ifindex)
		return;
	dev = dev_get_by_index(ifc->net, ifc->ifindex);
	if (!dev)
		return;
	dev_get_stats(dev, &now);
	dev_put(dev);
	qt_link_stats_add(out, &now, &ifc->dev_start);
}

/* ---- iface_stat/<name>/<counter> ---- */

enum { QT_F_RX_BYTES, QT_F_RX_PACKETS, QT_F_TX_BYTES, QT_F_TX_PACKETS, QT_F_ACTIVE };
static const char *const qt_iface_file_names[] = {
	"rx_bytes", "rx_packets", "tx_bytes", "tx_packets", "active",
};

static int qt_iface_file_show(struct seq_file *m, void *v)
{
	struct qt_iface *ifc = proc_get_parent_data(file_inode(m->file));
	struct qt_net *qn = qt_net(ifc->net);
	struct rtnl_link_stats64 tot;
	u64 val;

	mutex_lock(&qn->iface_mutex);
	qt_iface_dev_now(ifc, &tot);
	qt_link_stats_add(&tot, &ifc->dev_past, &(struct rtnl_link_stats64){});
	switch ((long)m->private) {
	case QT_F_RX_BYTES: val = tot.rx_bytes; break;
	case QT_F_RX_PACKETS: val = tot.rx_packets; break;
	case QT_F_TX_BYTES: val = tot.tx_bytes; break;
	case QT_F_TX_PACKETS: val = tot.tx_packets; break;
	default: val = ifc->up; break;
	}
	mutex_unlock(&qn->iface_mutex);
	seq_printf(m, "%llu\n", val);
	return 0;
}

static void qt_iface_proc_add(struct qt_net *qn, struct qt_iface *ifc)
{
	long f;

	ifc->proc = proc_mkdir_data(ifc->name, 0555, qn->iface_dir, ifc);
	if (!ifc->proc)
		return;
	for (f = 0; f < ARRAY_SIZE(qt_iface_file_names); f++)
		proc_create_single_data(qt_iface_file_names[f], qt_iface_mode, ifc->proc,
					qt_iface_file_show, (void *)f);
}

/* ---- notifier ---- */

static struct qt_iface *qt_iface_get(struct qt_net *qn, const char *name)
{
	struct qt_iface *ifc;

	list_for_each_entry(ifc, &qn->ifaces, list)
		if (!strcmp(ifc->name, name))
			return ifc;
	/* Charged to whoever creates the device (an entry outlives its device). */
	ifc = kzalloc(sizeof(*ifc), GFP_KERNEL_ACCOUNT);
	if (!ifc)
		return NULL;
	ifc->skb = alloc_percpu_gfp(struct qt_counters, GFP_KERNEL_ACCOUNT);
	if (!ifc->skb) {
		kfree(ifc);
		return NULL;
	}
	ifc->net = qn->net;
	ifc->id = qn->next_iface_id++;
	strscpy(ifc->name, name, sizeof(ifc->name));
	qt_iface_proc_add(qn, ifc);
	list_add_tail_rcu(&ifc->list, &qn->ifaces);
	return ifc;
}

/* Point ifindex at ifc (NULL: at nothing); under iface_mutex. */
static int qt_iface_map(struct qt_net *qn, int ifindex, struct qt_iface *ifc)
{
	if ((unsigned int)ifindex < QT_SMALL_IFINDEX)
		rcu_assign_pointer(qn->iface_small[ifindex], ifc);
	if (!ifc) {
		xa_erase(&qn->iface_by_index, ifindex);
		return 0;
	}
	return xa_err(xa_store(&qn->iface_by_index, ifindex, ifc, GFP_KERNEL_ACCOUNT));
}

static void qt_iface_attach(struct qt_net *qn, struct net_device *dev, bool renamed)
{
	struct qt_iface *ifc = qt_iface_get(qn, dev->name);

	if (!ifc)
		return;		/* the device will not be accounted; nothing breaks */
	ifc->ifindex = dev->ifindex;
	ifc->up = dev->flags & IFF_UP;
	memset(&ifc->dev_start, 0, sizeof(ifc->dev_start));
	if (renamed)	/* what the device counted so far belongs to its old name */
		dev_get_stats(dev, &ifc->dev_start);
	if (qt_iface_map(qn, dev->ifindex, ifc)) {
		qt_iface_map(qn, dev->ifindex, NULL);
		ifc->ifindex = 0;
	}
}

static void qt_iface_detach(struct qt_net *qn, struct net_device *dev)
{
	struct qt_iface *ifc = xa_load(&qn->iface_by_index, dev->ifindex);
	struct rtnl_link_stats64 now;

	if (!ifc)
		return;
	dev_get_stats(dev, &now);
	qt_link_stats_add(&ifc->dev_past, &now, &ifc->dev_start);
	memset(&ifc->dev_start, 0, sizeof(ifc->dev_start));
	ifc->ifindex = 0;
	ifc->up = false;
	qt_iface_map(qn, dev->ifindex, NULL);
}

static int qt_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct qt_net *qn = qt_net(dev_net(dev));
	struct qt_iface *ifc;

	switch (event) {
	case NETDEV_REGISTER:
	case NETDEV_UNREGISTER:
	case NETDEV_CHANGENAME:
	case NETDEV_UP:
	case NETDEV_DOWN:
		break;
	default:
		return NOTIFY_DONE;
	}
	qt_event(QT_EV_IFACE_EVENTS);
	mutex_lock(&qn->iface_mutex);
	switch (event) {
	case NETDEV_REGISTER:
		qt_iface_attach(qn, dev, false);
		break;
	case NETDEV_UNREGISTER:
		qt_iface_detach(qn, dev);
		break;
	case NETDEV_CHANGENAME:
		qt_iface_detach(qn, dev);
		qt_iface_attach(qn, dev, true);
		break;
	default:
		ifc = xa_load(&qn->iface_by_index, dev->ifindex);
		if (ifc)
			ifc->up = event == NETDEV_UP;
	}
	mutex_unlock(&qn->iface_mutex);
	return NOTIFY_DONE;
}

static struct notifier_block qt_netdev_nb = {
	.notifier_call = qt_netdev_event,
};

/* ---- iface_stat_all and iface_stat_fmt ---- */

static void *qt_ifaces_start(struct seq_file *m, loff_t *pos)
{
	struct qt_net *qn = qt_net(seq_file_net(m));

	mutex_lock(&qn->iface_mutex);
	return seq_list_start_head(&qn->ifaces, *pos);
}

static void *qt_ifaces_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next(v, &qt_net(seq_file_net(m))->ifaces, pos);
}

static void qt_ifaces_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&qt_net(seq_file_net(m))->iface_mutex);
}

static int qt_iface_stat_all_show(struct seq_file *m, void *v)
{
	struct qt_net *qn = qt_net(seq_file_net(m));
	struct qt_iface *ifc;
	struct rtnl_link_stats64 now;

	if (v == &qn->ifaces)
		return 0;	/* no header in this file */
	ifc = list_entry(v, struct qt_iface, list);
	qt_iface_dev_now(ifc, &now);
	seq_printf(m, "%s %d %llu %llu %llu %llu %llu %llu %llu %llu\n", ifc->name, ifc->up,
		   ifc->dev_past.rx_bytes, ifc->dev_past.rx_packets,
		   ifc->dev_past.tx_bytes, ifc->dev_past.tx_packets,
		   now.rx_bytes, now.rx_packets, now.tx_bytes, now.tx_packets);
	return 0;
}

static int qt_iface_stat_fmt_show(struct seq_file *m, void *v)
{
	struct qt_net *qn = qt_net(seq_file_net(m));
	struct qt_counters c;
	struct qt_iface *ifc;

	if (v == &qn->ifaces) {
		seq_puts(m, "ifname total_skb_rx_bytes total_skb_rx_packets total_skb_tx_bytes"
			    " total_skb_tx_packets " QT_PROTO_COUNTER_NAMES "\n");
		return 0;
	}
	ifc = list_entry(v, struct qt_iface, list);
	qt_counters_sum(ifc->skb, &c);
	seq_puts(m, ifc->name);
	qt_counters_show(m, &c);
	return 0;
}

static const struct seq_operations qt_iface_stat_all_ops = {
	.start = qt_ifaces_start,
	.next = qt_ifaces_next,
	.stop = qt_ifaces_stop,
	.show = qt_iface_stat_all_show,
};

static const struct seq_operations qt_iface_stat_fmt_ops = {
	.start = qt_ifaces_start,
	.next = qt_ifaces_next,
	.stop = qt_ifaces_stop,
	.show = qt_iface_stat_fmt_show,
};

int qt_iface_net_init(struct qt_net *qn)
{
	mutex_init(&qn->iface_mutex);
	INIT_LIST_HEAD(&qn->ifaces);
	xa_init(&qn->iface_by_index);
	qn->iface_dir = proc_mkdir("iface_stat", qn->dir);
	if (!qn->iface_dir ||
	    !proc_create_net("iface_stat_all", qt_iface_mode, qn->dir, &qt_iface_stat_all_ops,
			     sizeof(struct seq_net_private)) ||
	    !proc_create_net("iface_stat_fmt", qt_iface_mode, qn->dir, &qt_iface_stat_fmt_ops,
			     sizeof(struct seq_net_private)))
		return -ENOMEM;
	return 0;
}

/* The proc files are gone and no packet can reach the entries. */
void qt_iface_net_exit(struct qt_net *qn)
{
	struct qt_iface *ifc, *tmp;

	xa_destroy(&qn->iface_by_index);
	list_for_each_entry_safe(ifc, tmp, &qn->ifaces, list) {
		free_percpu(ifc->skb);
		kfree(ifc);
	}
}

int qt_iface_init(void)
{
	return register_netdevice_notifier(&qt_netdev_nb);
}

void qt_iface_exit(void)
{
	unregister_netdevice_notifier(&qt_netdev_nb);
}
