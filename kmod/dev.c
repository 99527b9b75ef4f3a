// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xt_qtaguid. Android clients open it once per process; a second open by
 * the same process gets EBUSY. Tags need no help from it: they go away with
 * their sockets.
 */
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/fs.h>
#include "qtaguid.h"

struct qt_dev_user {
	struct list_head list;
	struct pid *tgid;
};

static LIST_HEAD(qt_dev_users);
static DEFINE_MUTEX(qt_dev_mutex);

static int qt_dev_open(struct inode *inode, struct file *file)
{
	struct pid *tgid = task_tgid(current);
	struct qt_dev_user *u;
	int err = 0;

	mutex_lock(&qt_dev_mutex);
	list_for_each_entry(u, &qt_dev_users, list)
		if (u->tgid == tgid) {
			err = -EBUSY;
			goto out;
		}
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u) {
		err = -ENOMEM;
		goto out;
	}
	u->tgid = get_pid(tgid);
	list_add(&u->list, &qt_dev_users);
	file->private_data = u;
out:
	mutex_unlock(&qt_dev_mutex);
	return err;
}

static int qt_dev_release(struct inode *inode, struct file *file)
{
	struct qt_dev_user *u = file->private_data;

	mutex_lock(&qt_dev_mutex);
	list_del(&u->list);
	mutex_unlock(&qt_dev_mutex);
	put_pid(u->tgid);
	kfree(u);
	return 0;
}

static const struct file_operations qt_dev_fops = {
	.owner = THIS_MODULE,
	.open = qt_dev_open,
	.release = qt_dev_release,
	.llseek = noop_llseek,
};

static struct miscdevice qt_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "xt_qtaguid",
	.fops = &qt_dev_fops,
};

int qt_dev_init(void)
{
	qt_misc.mode = qt_dev_mode;
	return misc_register(&qt_misc);
}

void qt_dev_exit(void)
{
	misc_deregister(&qt_misc);
}
