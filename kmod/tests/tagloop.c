/*
 * tagloop: drive /proc/net/xt_qtaguid/ctrl hard from C, for the lifecycle and stress tests.
 *
 *   tagloop hold N TAG          make N UDP sockets, tag each with TAG (uid omitted = own),
 *                               print "ready N", then sleep until killed
 *   tagloop cycle N TAG         N times: socket(), "t fd TAG", close(), through one ctrl fd
 *                               kept open; print "done N emfile E seconds S"
 *   tagloop churn SECONDS TAG   until SECONDS pass: socket (UDP/TCP, v4/v6), tag, maybe
 *                               untag / re-tag, close; survives the module going away and
 *                               coming back (ENOENT on open, EIO on a stale fd); prints
 *                               "churn ops O tagged T absent A stale S emfile E";
 *                               SIGTERM ends it early (tallies printed, status 0)
 *
 * TAG is the 32-bit tag; it goes on the wire shifted left by 32, as libcutils writes it.
 * Exit status 0 on success; 2 with a message on stderr on any errno the mode does not
 * expect.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CTRL "/proc/net/xt_qtaguid/ctrl"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "tagloop: %s: %s (errno %d)\n", what, strerror(err), err);
	exit(2);
}

/* One command on fd; 0 or the errno. */
static int cmd(int ctrl, const char *fmt, int fd, uint64_t tag)
{
	char buf[96];
	int len = snprintf(buf, sizeof(buf), fmt, fd, tag);
	ssize_t n = write(ctrl, buf, len);

	if (n < 0)
		return errno;
	if (n != len)
		die("short write to ctrl", EIO);
	return 0;
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit", errno);
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit NOFILE", errno);
}

static void __attribute__((noreturn)) hold(long n, uint64_t tag)
{
	int ctrl = open(CTRL, O_WRONLY | O_CLOEXEC);

	if (ctrl < 0)
		die("open ctrl", errno);
	raise_nofile(n + 64);
	for (long i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		int err;

		if (s < 0)
			die("socket", errno);
		err = cmd(ctrl, "t %d %" PRIu64, s, tag);
		if (err)
			die("tag", err);
	}
	printf("ready %ld\n", n);
	fflush(stdout);
	for (;;)
		pause();
}

static int cycle(long n, uint64_t tag)
{
	int ctrl = open(CTRL, O_WRONLY | O_CLOEXEC);
	long emfile = 0;
	double t0 = now();

	if (ctrl < 0)
		die("open ctrl", errno);
	for (long i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		int err;

		if (s < 0)
			die("socket", errno);
		while ((err = cmd(ctrl, "t %d %" PRIu64, s, tag)) == EMFILE) {
			/* Tags of closed sockets not reaped yet still count; let the reaper run. */
			emfile++;
			usleep(1000);
		}
		if (err)
			die("tag", err);
		close(s);
	}
	printf("done %ld emfile %ld seconds %.3f\n", n, emfile, now() - t0);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int churn(double seconds, uint64_t tag)
{
	static const int kinds[4][2] = {
		{ AF_INET, SOCK_DGRAM }, { AF_INET, SOCK_STREAM },
		{ AF_INET6, SOCK_DGRAM }, { AF_INET6, SOCK_STREAM },
	};
	long ops = 0, tagged = 0, absent = 0, stale = 0, emfile = 0;
	double end = now() + seconds;
	int ctrl = -1;
	unsigned int r = (unsigned int)getpid();

	signal(SIGTERM, on_term);
	while (now() < end && !stop) {
		int s, err;

		if (ctrl < 0) {
			ctrl = open(CTRL, O_WRONLY | O_CLOEXEC);
			if (ctrl < 0) {
				if (errno != ENOENT)
					die("open ctrl", errno);
				absent++;
				usleep(2000);
				continue;
			}
		}
		r = r * 1103515245u + 12345u;
		s = socket(kinds[(r >> 16) & 3][0], kinds[(r >> 16) & 3][1], 0);
		if (s < 0)
			die("socket", errno);
		ops++;
		err = cmd(ctrl, "t %d %" PRIu64, s, tag + ((uint64_t)((r >> 20) & 3) << 32));
		if (!err && (r >> 24) % 3 == 0) {
			err = cmd(ctrl, "u %d", s, 0);
			if (err == EINVAL)	/* the module was reloaded in between */
				err = 0;
			if (!err)
				err = cmd(ctrl, "t %d %" PRIu64, s, tag + (4ull << 32));
		} else if (!err && (r >> 24) % 3 == 1) {
			/* re-tag in place */
			err = cmd(ctrl, "t %d %" PRIu64, s, tag + (5ull << 32));
		}
		if (!err) {
			tagged++;
		} else if (err == EMFILE) {
			emfile++;
		} else if (err == EIO || err == ENODEV || err == ENOENT) {
			/* The module went away under this fd; open a fresh one later. */
			stale++;
			close(ctrl);
			ctrl = -1;
		} else {
			die("ctrl command", err);
		}
		close(s);
	}
	printf("churn ops %ld tagged %ld absent %ld stale %ld emfile %ld\n",
	       ops, tagged, absent, stale, emfile);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "hold"))
		hold(atol(argv[2]), strtoull(argv[3], NULL, 0) << 32);
	if (argc == 4 && !strcmp(argv[1], "cycle"))
		return cycle(atol(argv[2]), strtoull(argv[3], NULL, 0) << 32);
	if (argc == 4 && !strcmp(argv[1], "churn"))
		return churn(atof(argv[2]), strtoull(argv[3], NULL, 0) << 32);
	fprintf(stderr, "usage: tagloop hold N TAG | cycle N TAG | churn SECONDS TAG\n");
	return 2;
}
