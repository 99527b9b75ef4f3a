// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/xt_qtaguid/ctrl: one command per write, and the listing of tagged
 * sockets when read.
 *
 *   t <fd> [<acct_tag> [<uid>]]   tag a socket of the writer
 *   u <fd>                        untag it
 *   s <set> <uid>                 make set the active counter set of uid
 *   d <acct_tag> [<uid>]          delete tag data of uid (acct_tag 0: all of it)
 *
 * acct_tag is (u64)tag << 32 in decimal; uid -1 or absent means the writer.
 * Input is checked fully before anything changes.
 */
#include <linux/kernel.h>
#include <linux/net.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/pid_namespace.h>
#include <net/sock.h>
#include "qtaguid.h"

#define QT_CMD_MAX 255	/* longer writes are rejected */
#define QT_ARGS_MAX 4

static int qt_split(char *buf, char **argv)
{
	int argc = 0;
	char *tok;

	while ((tok = strsep(&buf, " \t")) != NULL) {
		if (!*tok)
			continue;	/* runs of blanks */
		if (argc == QT_ARGS_MAX)
			return -EINVAL;
		argv[argc++] = tok;
	}
	return argc;
}

static int qt_parse_fd(const char *s, int *fd)
{
	return kstrtoint(s, 10, fd) ? -EINVAL : 0;
}

/* acct_tag on the wire is the tag in the high 32 bits; the low 32 must be zero. */
static int qt_parse_acct_tag(const char *s, u32 *tag)
{
	u64 v;

	if (kstrtou64(s, 10, &v) || (u32)v)
		return -EINVAL;
	*tag = v >> 32;
	return 0;
}

static int qt_parse_uid(const char *s, kuid_t *uid)
{
	s64 v;

	if (!s) {
		*uid = current_fsuid();
		return 0;
	}
	if (kstrtos64(s, 10, &v))
		return -EINVAL;
	if (v == -1) {
		*uid = current_fsuid();
		return 0;
	}
	if (v < 0 || v >= U32_MAX)
		return -EINVAL;
	*uid = make_kuid(current_user_ns(), v);
	return uid_valid(*uid) ? 0 : -EINVAL;
}

/*
 * May the writer act for uid in net (bill it, change or delete its data)? Its own
 * uid needs nothing. Another uid needs accounting privilege over net and must be
 * mapped in the user namespace that owns net: whoever owns a namespace (any user,
 * after unshare -Urn) may only name the uids it maps.
 */
static int qt_may_act_for(struct file *file, const struct net *net, kuid_t uid)
{
	if (uid_eq(uid, current_fsuid()))
		return 0;
	if (!kuid_has_mapping(net->user_ns, uid) || !qt_acct_privileged(file, net))
		return -EPERM;
	return 0;
}

/* Only IPv4 and IPv6 sockets: their release always orphans them (SOCK_DEAD, no
 * sk_socket), which is what lets the reaper and the listing look at a tagged socket
 * safely. Other families (AF_ALG, for one) may leave sk_socket dangling. */
static bool qt_taggable(const struct sock *sk)
{
	return sk->sk_family == AF_INET || sk->sk_family == AF_INET6;
}

static int qt_cmd_tag(struct file *file, struct net *net, int argc, char **argv)
{
	struct socket *sock;
	struct sock *sk;
	u32 tag = 0;
	kuid_t uid;
	int fd, err;

	if (argc < 2 || qt_parse_fd(argv[1], &fd) ||
	    (argc > 2 && qt_parse_acct_tag(argv[2], &tag)) ||
	    qt_parse_uid(argc > 3 ? argv[3] : NULL, &uid))
		return -EINVAL;
	err = qt_may_act_for(file, net, uid);
	if (err)
		return err;
	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return err;
	sk = sock->sk;
	if (!sk)
		err = -ENOTSOCK;
	else if (!qt_taggable(sk))
		err = -EAFNOSUPPORT;
	else if (!net_eq(sock_net(sk), net))	/* the socket's namespace is billed */
		err = qt_may_act_for(file, sock_net(sk), uid);
	if (!err)
		err = qt_tag_socket(sk, tag, uid);
	sockfd_put(sock);
	if (!err)
		qt_event(QT_EV_SOCKETS_TAGGED);
	return err;
}

static int qt_cmd_untag(int argc, char **argv)
{
	struct socket *sock;
	int fd, err;

	if (argc != 2 || qt_parse_fd(argv[1], &fd))
		return -EINVAL;
	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return err;
	err = sock->sk ? qt_untag_socket(sock->sk) : -EINVAL;
	sockfd_put(sock);
	if (!err)
		qt_event(QT_EV_SOCKETS_UNTAGGED);
	return err;
}

static int qt_cmd_counter_set(struct file *file, struct net *net, int argc, char **argv)
{
	kuid_t uid;
	int set, err;

	if (argc != 3 || kstrtoint(argv[1], 10, &set) || set < 0 || set >= QT_SETS ||
	    qt_parse_uid(argv[2], &uid))
		return -EINVAL;
	if (!kuid_has_mapping(net->user_ns, uid) || !qt_acct_privileged(file, net))
		return -EPERM;
	err = qt_counter_set_change(qt_net(net), uid, set);
	if (!err)
		qt_event(QT_EV_COUNTER_SET_CHANGES);
	return err;
}

static int qt_cmd_delete(struct file *file, struct net *net, int argc, char **argv)
{
	struct qt_net *qn = qt_net(net);
	kuid_t uid;
	u32 tag;

	if (argc < 2 || argc > 3 || qt_parse_acct_tag(argv[1], &tag) ||
	    qt_parse_uid(argc > 2 ? argv[2] : NULL, &uid))
		return -EINVAL;
	if (qt_may_act_for(file, net, uid))
		return -EPERM;
	qt_tags_delete(net, uid, !tag, tag);
	qt_stats_delete(qn, uid, !tag, tag);
	if (!tag)
		qt_counter_set_change(qn, uid, 0);
	qt_event(QT_EV_DELETE_CMDS);
	return 0;
}

/* buf holds size bytes and a NUL (proc_simple_write copied it). */
int qt_ctrl_write(struct file *file, char *buf, size_t size)
{
	struct net *net = seq_file_net(file->private_data);
	char *argv[QT_ARGS_MAX];
	int argc;

	if (size >= QT_CMD_MAX || strlen(buf) != size)
		return -EINVAL;
	if (size && buf[size - 1] == '\n')
		buf[--size] = '\0';
	if (strchr(buf, '\n'))	/* one command per write; kstrto*() would accept "5\n" */
		return -EINVAL;
	argc = qt_split(buf, argv);
	if (argc <= 0 || argv[0][1])
		return -EINVAL;
	switch (argv[0][0]) {
	case 't':
		return qt_cmd_tag(file, net, argc, argv);
	case 'u':
		return qt_cmd_untag(argc, argv);
	case 's':
		return qt_cmd_counter_set(file, net, argc, argv);
	case 'd':
		return qt_cmd_delete(file, net, argc, argv);
	}
	return -EINVAL;
}

/* ---- the listing ---- */

struct qt_ctrl_iter {
	struct seq_net_private p;	/* must be first */
	bool privileged;
	kuid_t me;
};

size_t qt_ctrl_iter_size(void)
{
	return sizeof(struct qt_ctrl_iter);
}

/*
 * A row's position is its tag's id (ids grow in list order), and the events line
 * sits at a fixed position after every id. A read that resumes after the list
 * changed then neither repeats nor skips a socket, and nothing follows the events
 * line.
 */
static char qt_events_token;
#define QT_EVENTS_POS ((loff_t)1 << 62)

static void *qt_ctrl_from(struct qt_tag *t, loff_t *pos)
{
	if (&t->list == &qt_tags_list) {
		*pos = QT_EVENTS_POS;
		return &qt_events_token;
	}
	*pos = t->id;
	return t;
}

static void *qt_ctrl_start(struct seq_file *m, loff_t *pos)
{
	struct qt_ctrl_iter *it = m->private;
	struct qt_tag *t;

	it->privileged = qt_stats_privileged(m->file, seq_file_net(m));
	it->me = current_fsuid();
	mutex_lock(&qt_tags_mutex);
	if (*pos > QT_EVENTS_POS)
		return NULL;
	if (*pos == QT_EVENTS_POS)
		return &qt_events_token;
	list_for_each_entry(t, &qt_tags_list, list)
		if (t->id >= *pos)
			break;
	return qt_ctrl_from(t, pos);
}

static void *qt_ctrl_next(struct seq_file *m, void *v, loff_t *pos)
{
	if (v == &qt_events_token) {
		*pos = QT_EVENTS_POS + 1;
		return NULL;
	}
	return qt_ctrl_from(list_next_entry((struct qt_tag *)v, list), pos);
}

static void qt_ctrl_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&qt_tags_mutex);
}

/*
 * sock_orphan() marks an inet socket dead and clears sk_socket under
 * sk_callback_lock before its struct socket and file go away, so under that lock a
 * live socket's file can be looked at.
 */
static unsigned long qt_sock_file_count(struct sock *sk)
{
	unsigned long n = 0;

	read_lock_bh(&sk->sk_callback_lock);
	if (!sock_flag(sk, SOCK_DEAD) && sk->sk_socket && sk->sk_socket->file)
		n = file_count(sk->sk_socket->file);
	read_unlock_bh(&sk->sk_callback_lock);
	return n;
}

static int qt_ctrl_show(struct seq_file *m, void *v)
{
	struct qt_ctrl_iter *it = m->private;
	struct qt_tag *t = v;
	kuid_t uid;

	if (v == &qt_events_token) {
		qt_events_show(m);
		return 0;
	}
	uid = qt_tag_uid(t->tag);
	if (!net_eq(sock_net(t->sk), seq_file_net(m)) || qt_sock_dead(t->sk) ||
	    (!it->privileged && !uid_eq(uid, it->me)))
		return SEQ_SKIP;
	seq_printf(m, "sock=%llx tag=0x%llx (uid=%u) pid=%u f_count=%lu\n", t->id,
		   (u64)qt_tag_acct(t->tag) << 32 | from_kuid_munged(seq_user_ns(m), uid),
		   from_kuid_munged(seq_user_ns(m), uid),
		   pid_nr_ns(t->pid, task_active_pid_ns(current)),
		   qt_sock_file_count(t->sk));
	return 0;
}

const struct seq_operations qt_ctrl_seq_ops = {
	.start = qt_ctrl_start,
	.next = qt_ctrl_next,
	.stop = qt_ctrl_stop,
	.show = qt_ctrl_show,
};
