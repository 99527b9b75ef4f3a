// SPDX-License-Identifier: GPL-2.0
/*
 * android_client: behaves like an Android process using libcutils' qtaguid calls and the
 * framework's stats parser, against /proc/net/xt_qtaguid. Written for qtag from the
 * documented facts of that interface (kmod/README.md), not from Android's sources:
 *
 *  - /dev/xt_qtaguid is opened once per process and kept open;
 *  - every command opens ctrl, writes one command with exactly these formats, closes it:
 *      "t %d %" PRIu64 " %d"   tag socket   (tag << 32, uid printed with %d: -1 stays -1)
 *      "u %d"                  untag socket
 *      "s %d %d"               set counter set of uid
 *      "d %" PRIu64 " %d"      delete tag data of uid
 *    and a failure is returned as -errno;
 *  - stats parsing rules: the exact header line, exactly 21 fields per row, idx
 *    consecutive from 2, acct_tag_hex written 0x<tag << 32>.
 *
 * Usage (prints key=value lines; exit 0 only if its own checks pass):
 *   android_client send TAG COUNT SIZE [4|6] [SET]  tag a UDP socket, send COUNT datagrams
 *                                                   of SIZE bytes over loopback, check the
 *                                                   tagged stats row (SET: set counter set
 *                                                   of the caller first)
 *   android_client delete TAG [UID]                 deleteTagData, then count rows left
 *   android_client untag                            tag, untag, untag again
 *   android_client errors                           libcutils-visible error codes
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define CTRL_PATH "/proc/net/xt_qtaguid/ctrl"
#define STATS_PATH "/proc/net/xt_qtaguid/stats"
#define DEV_PATH "/dev/xt_qtaguid"

static const char STATS_HEADER[] =
	"idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets tx_bytes tx_packets "
	"rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes rx_other_packets "
	"tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets tx_other_bytes tx_other_packets";

static bool failed;

#define CHECK(cond, ...)                                    \
	do {                                                \
		if (!(cond)) {                              \
			printf("check_failed=");            \
			printf(__VA_ARGS__);                \
			printf("\n");                       \
			failed = true;                      \
		}                                           \
	} while (0)

/* ---- the libcutils-style calls ---- */

static int write_ctrl(const char *cmd)
{
	int fd = open(CTRL_PATH, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int res = 0;

	if (fd < 0)
		return -errno;
	do {
		n = write(fd, cmd, strlen(cmd));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		res = -errno;
	close(fd);
	return res;
}

static int qt_tag_socket(int sockfd, int tag, uid_t uid)
{
	char buf[128];
	uint64_t ktag = (uint64_t)(uint32_t)tag << 32;

	snprintf(buf, sizeof(buf), "t %d %" PRIu64 " %d", sockfd, ktag, (int)uid);
	return write_ctrl(buf);
}

static int qt_untag_socket(int sockfd)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "u %d", sockfd);
	return write_ctrl(buf);
}

static int qt_set_counter_set(int set, uid_t uid)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "s %d %d", set, (int)uid);
	return write_ctrl(buf);
}

static int qt_delete_tag_data(int tag, uid_t uid)
{
	char buf[128];
	uint64_t ktag = (uint64_t)(uint32_t)tag << 32;

	snprintf(buf, sizeof(buf), "d %" PRIu64 " %d", ktag, (int)uid);
	return write_ctrl(buf);
}

/* ---- the stats parser ---- */

struct row {
	char iface[32];
	uint32_t tag;
	uint32_t uid;
	int set;
	uint64_t c[16]; /* rx_bytes rx_packets tx_bytes tx_packets, then per protocol */
};

static bool parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*out = strtoull(s, &end, base);
	return !errno && !*end;
}

/* Read and parse all of stats; returns the number of rows or -1 (and prints why). */
static int read_stats(struct row **rows_out)
{
	FILE *f = fopen(STATS_PATH, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct row *rows = NULL;
	int n = 0, alloc = 0, lineno = 0;

	if (!f) {
		printf("stats_error=open %s\n", strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		char *tok[22], *save = NULL, *p;
		int nt = 0;
		uint64_t v;

		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (lineno++ == 0) {
			if (strcmp(line, STATS_HEADER)) {
				printf("stats_error=bad header: %s\n", line);
				goto bad;
			}
			continue;
		}
		for (p = strtok_r(line, " ", &save); p && nt < 22; p = strtok_r(NULL, " ", &save))
			tok[nt++] = p;
		if (nt != 21) {
			printf("stats_error=line %d has %d fields\n", lineno, nt);
			goto bad;
		}
		if (!parse_u64(tok[0], 10, &v) || v != (uint64_t)n + 2) {
			printf("stats_error=idx %s where %d expected\n", tok[0], n + 2);
			goto bad;
		}
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 256;
			rows = realloc(rows, alloc * sizeof(*rows));
			if (!rows) {
				printf("stats_error=out of memory\n");
				goto bad;
			}
		}
		snprintf(rows[n].iface, sizeof(rows[n].iface), "%s", tok[1]);
		if (strncmp(tok[2], "0x", 2) || !parse_u64(tok[2] + 2, 16, &v) ||
		    (v & 0xffffffffu)) {
			printf("stats_error=bad acct_tag_hex %s\n", tok[2]);
			goto bad;
		}
		rows[n].tag = v >> 32;
		if (!parse_u64(tok[3], 10, &v) || v > UINT32_MAX) {
			printf("stats_error=bad uid %s\n", tok[3]);
			goto bad;
		}
		rows[n].uid = v;
		if (!parse_u64(tok[4], 10, &v) || v > 1) {
			printf("stats_error=bad cnt_set %s\n", tok[4]);
			goto bad;
		}
		rows[n].set = v;
		for (int i = 0; i < 16; i++) {
			if (!parse_u64(tok[5 + i], 10, &rows[n].c[i])) {
				printf("stats_error=bad counter %s\n", tok[5 + i]);
				goto bad;
			}
		}
		n++;
	}
	if (lineno == 0) {
		printf("stats_error=empty file\n");
		goto bad;
	}
	free(line);
	fclose(f);
	*rows_out = rows;
	return n;
bad:
	free(line);
	free(rows);
	fclose(f);
	return -1;
}

static const struct row *find_row(const struct row *rows, int n, const char *iface,
				  uint32_t tag, uint32_t uid, int set)
{
	const struct row *found = NULL;

	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		if (strcmp(r->iface, iface) || r->tag != tag || r->uid != uid || r->set != set)
			continue;
		CHECK(!found, "duplicate row %s 0x%x %u %d", iface, tag, uid, set);
		found = r;
	}
	return found;
}

/* ---- commands ---- */

static int cmd_send(int tag, int count, int size, int family, int set)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int rx, tx, rc;
	uid_t uid = getuid();
	char *buf = calloc(1, size > 0 ? size : 1);
	struct row *rows = NULL;
	int nrows;
	uint64_t hdr = family == AF_INET6 ? 48 : 28; /* IP + UDP headers */

	if (set >= 0) {
		rc = qt_set_counter_set(set, uid);
		printf("set_counter_set=%d\n", rc);
		CHECK(rc == 0, "setCounterSet(%d, %u) = %d", set, uid, rc);
	}
	rx = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	tx = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0 || tx < 0) {
		perror("socket");
		return 2;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	}
	if (bind(rx, (struct sockaddr *)&ss, sl) || getsockname(rx, (struct sockaddr *)&ss, &sl)) {
		perror("bind");
		return 2;
	}
	/* TrafficStats' default thread uid is -1: "the caller". */
	rc = qt_tag_socket(tx, tag, (uid_t)-1);
	printf("tag_socket=%d\n", rc);
	CHECK(rc == 0, "tagSocket = %d", rc);
	for (int i = 0; i < count; i++) {
		if (sendto(tx, buf, size, 0, (struct sockaddr *)&ss, sl) != size) {
			perror("sendto");
			return 2;
		}
		if (recv(rx, buf, size, 0) != size) {
			perror("recv");
			return 2;
		}
	}
	nrows = read_stats(&rows);
	printf("rows=%d\n", nrows);
	if (nrows < 0)
		return 1;
	for (int s = 0; s < 2; s++) {
		const struct row *r = find_row(rows, nrows, "lo", tag, uid, s);

		if (!r) {
			printf("row_set%d=missing\n", s);
			CHECK(false, "no row for lo 0x%x uid %u set %d", tag, uid, s);
			continue;
		}
		printf("row_set%d=rx_bytes:%" PRIu64 " rx_packets:%" PRIu64 " tx_bytes:%" PRIu64
		       " tx_packets:%" PRIu64 " tx_udp_bytes:%" PRIu64 " tx_udp_packets:%" PRIu64 "\n",
		       s, r->c[0], r->c[1], r->c[2], r->c[3], r->c[12], r->c[13]);
		if (s == (set < 0 ? 0 : set)) {
			uint64_t want = (uint64_t)count * (size + hdr);

			CHECK(r->c[2] == want, "tx_bytes %" PRIu64 " != %" PRIu64, r->c[2], want);
			CHECK(r->c[3] == (uint64_t)count, "tx_packets %" PRIu64 " != %d", r->c[3],
			      count);
			CHECK(r->c[12] == want && r->c[13] == (uint64_t)count, "tx_udp counters");
			CHECK(r->c[0] == 0 && r->c[1] == 0, "rx on the sending socket's row");
		} else {
			CHECK(r->c[2] == 0 && r->c[3] == 0, "tx in the inactive counter set");
		}
	}
	/* The uid total (tag 0) includes the tagged traffic. */
	{
		const struct row *t = find_row(rows, nrows, "lo", 0, uid, set < 0 ? 0 : set);
		uint64_t want = (uint64_t)count * (size + hdr);

		CHECK(t && t->c[2] >= want && t->c[3] >= (uint64_t)count,
		      "uid total row lacks the tagged traffic");
	}
	rc = qt_untag_socket(tx);
	printf("untag_socket=%d\n", rc);
	CHECK(rc == 0, "untagSocket = %d", rc);
	if (set > 0) {
		rc = qt_set_counter_set(0, uid);
		CHECK(rc == 0, "setCounterSet(0) = %d", rc);
	}
	free(rows);
	free(buf);
	close(rx);
	close(tx);
	return failed ? 1 : 0;
}

static int cmd_delete(int tag, uid_t uid)
{
	struct row *rows = NULL;
	int rc = qt_delete_tag_data(tag, uid);
	int n, left = 0;
	uint32_t who = uid == (uid_t)-1 ? getuid() : uid;

	printf("delete_tag_data=%d\n", rc);
	n = read_stats(&rows);
	printf("rows=%d\n", n);
	if (n < 0)
		return 1;
	for (int i = 0; i < n; i++)
		if (rows[i].uid == who && (tag == 0 || rows[i].tag == (uint32_t)tag))
			left++;
	printf("rows_left=%d\n", left);
	free(rows);
	return rc == 0 && left == 0 ? 0 : 1;
}

static int cmd_untag(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	printf("tag=%d\n", qt_tag_socket(s, 0x7a, (uid_t)-1));
	printf("untag=%d\n", qt_untag_socket(s));
	printf("untag_again=%d\n", qt_untag_socket(s));
	close(s);
	return 0;
}

static int cmd_errors(void)
{
	int p[2];
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (pipe(p))
		return 2;
	printf("tag_bad_fd=%d\n", qt_tag_socket(987, 1, (uid_t)-1));
	printf("tag_pipe=%d\n", qt_tag_socket(p[0], 1, (uid_t)-1));
	printf("untag_pipe=%d\n", qt_untag_socket(p[0]));
	printf("untag_untagged=%d\n", qt_untag_socket(s));
	printf("set_counter_set_2=%d\n", qt_set_counter_set(2, getuid()));
	printf("tag_other_uid=%d\n", qt_tag_socket(s, 1, getuid() + 1));
	printf("set_counter_set_1=%d\n", qt_set_counter_set(1, getuid()));
	qt_set_counter_set(0, getuid());
	qt_untag_socket(s);
	close(p[0]);
	close(p[1]);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	/* Android opens the misc device once per process and keeps it. */
	int dev = open(DEV_PATH, O_RDONLY | O_CLOEXEC);
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("dev_open=%d\n", dev < 0 ? -errno : 0);
	CHECK(dev >= 0, "open %s", DEV_PATH);
	if (argc >= 5 && !strcmp(argv[1], "send")) {
		int fam = argc >= 6 && !strcmp(argv[5], "6") ? AF_INET6 : AF_INET;
		int set = argc >= 7 ? atoi(argv[6]) : -1;

		rc = cmd_send((int)strtoul(argv[2], NULL, 0), atoi(argv[3]), atoi(argv[4]), fam,
			      set);
	} else if (argc >= 3 && !strcmp(argv[1], "delete")) {
		rc = cmd_delete((int)strtoul(argv[2], NULL, 0),
				argc >= 4 ? (uid_t)atoi(argv[3]) : (uid_t)-1);
	} else if (argc >= 2 && !strcmp(argv[1], "untag")) {
		rc = cmd_untag();
	} else if (argc >= 2 && !strcmp(argv[1], "errors")) {
		rc = cmd_errors();
	} else {
		fprintf(stderr, "usage: %s send TAG COUNT SIZE [4|6] [SET] | delete TAG [UID] | "
			"untag | errors\n", argv[0]);
		return 2;
	}
	if (failed && !rc)
		rc = 1;
	printf("result=%s\n", rc ? "fail" : "ok");
	if (dev >= 0)
		close(dev);
	return rc;
}
