// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * holdtags: keep many tagged sockets (and their stats entries) alive, for the
 * benchmarks that measure qtag at scale and its kernel memory.
 *
 *   holdtags SOCKETS UIDS FIRST_UID
 *
 * Opens SOCKETS UDP sockets and prints "opened". Then follows commands on stdin,
 * answering each with a line when done:
 *   tag [N]  socket i (the first N, default all) gets tag i / UIDS + 1 billed to
 *         uid FIRST_UID + i % UIDS (needs CAP_NET_ADMIN), so every (tag, uid) pair is
 *         distinct                                               -> "tagged"
 *   send  each socket sends one byte to 127.0.0.1:9, creating one stats entry per
 *         socket and one per uid                                  -> "sent"
 * A sink socket with the smallest receive buffer listens on 127.0.0.1:9, so the bytes
 * are dropped there instead of drawing ICMP errors (which would be billed too).
 * Socket i is bound to its own loopback address 127.1.0.0 + i (any port): more sockets
 * than there are ephemeral ports can then all send, and 127.0.0.1's ports stay free.
 * End of input closes everything (the module's reaper then drops the tags).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9) };
	unsigned long n, uids, first_uid, i;
	char line[64], cmd[96];
	struct rlimit rl;
	int *fds, ctrl, sink, one = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: holdtags SOCKETS UIDS FIRST_UID\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 0);
	uids = strtoul(argv[2], NULL, 0);
	first_uid = strtoul(argv[3], NULL, 0);
	if (!uids)
		uids = 1;
	rl.rlim_cur = rl.rlim_max = n + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit");
	fds = calloc(n, sizeof(*fds));
	if (!fds)
		die("calloc");
	for (i = 0; i < n; i++) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl((127u << 24 | 1u << 16) + i);
		if ((fds[i] = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
			die("socket");
		if (bind(fds[i], (struct sockaddr *)&src, sizeof(src)))
			die("bind");
	}
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sink = socket(AF_INET, SOCK_DGRAM, 0);
	if (sink < 0 || setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) ||
	    bind(sink, (struct sockaddr *)&dst, sizeof(dst)))
		die("sink");
	printf("opened\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "tag", 3) && (line[3] == '\n' || line[3] == ' ')) {
			unsigned long count = line[3] == ' ' ? strtoul(line + 4, NULL, 10) : n;

			ctrl = open("/proc/net/xt_qtaguid/ctrl", O_WRONLY);
			if (ctrl < 0)
				die("open ctrl");
			for (i = 0; i < n && i < count; i++) {
				int len = snprintf(cmd, sizeof(cmd), "t %d %llu %lu", fds[i],
						   (unsigned long long)(i / uids + 1) << 32,
						   first_uid + i % uids);

				if (write(ctrl, cmd, len) != len)
					die("tag");
			}
			close(ctrl);
			printf("tagged\n");
		} else if (!strcmp(line, "send\n")) {
			for (i = 0; i < n; i++)
				if (sendto(fds[i], "x", 1, 0, (struct sockaddr *)&dst, sizeof(dst)) != 1)
					die("sendto");
			printf("sent\n");
		} else {
			fprintf(stderr, "holdtags: unknown command %s", line);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
