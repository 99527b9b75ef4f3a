// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * netload: push traffic through loopback for a fixed time and print what arrived.
 *
 *   netload udp|tcp SECONDS [TAG]
 *
 * udp: 64-byte datagrams from one connected socket to another, as fast as one
 *      sender can go; the figure is datagrams received per second.
 * udp-rr: the same two sockets, one thread: send a datagram, receive it, repeat; the
 *      figure is round trips per second (no queue overflows, no second CPU: the
 *      steadiest measure of what a datagram costs).
 * tcp: one connection, 128 KiB writes; the figure is bytes received per second.
 * With TAG (decimal, != 0) the sending socket is tagged through
 * /proc/net/xt_qtaguid/ctrl before it connects, so every packet is billed to it.
 * Prints one JSON object: {"mode", "seconds", "packets", "bytes", "per_second"}.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UDP_PAYLOAD 64
#define TCP_CHUNK (128 * 1024)

static atomic_int stop;
static uint64_t rx_packets, rx_bytes;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tag_fd(int fd, unsigned long tag)
{
	char cmd[64];
	int ctrl = open("/proc/net/xt_qtaguid/ctrl", O_WRONLY);
	int n = snprintf(cmd, sizeof(cmd), "t %d %llu", fd, (unsigned long long)tag << 32);

	if (ctrl < 0)
		die("open ctrl");
	if (write(ctrl, cmd, n) != n)
		die("tag");
	close(ctrl);
}

static int bound_socket(int type, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, type, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)addr, len) || getsockname(fd, (struct sockaddr *)addr, &len))
		die("bind");
	return fd;
}

static void *receive(void *arg)
{
	static char buf[TCP_CHUNK];
	int fd = *(int *)arg;
	struct timeval tv = { .tv_usec = 100000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!atomic_load(&stop)) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n > 0) {
			rx_packets++;
			rx_bytes += n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			break;
		}
	}
	return NULL;
}

static int round_trips(int tx, int rx, double seconds)
{
	char buf[UDP_PAYLOAD] = { 0 };
	double t0 = now(), end = t0 + seconds, elapsed;
	uint64_t n = 0;

	for (;;) {
		if (!(n & 63) && now() >= end)
			break;
		if (send(tx, buf, sizeof(buf), 0) != sizeof(buf))
			die("send");
		if (recv(rx, buf, sizeof(buf), 0) != sizeof(buf))
			die("recv");
		n++;
	}
	elapsed = now() - t0;
	printf("{\"mode\": \"udp-rr\", \"seconds\": %.4f, \"packets\": %llu, \"bytes\": %llu, "
	       "\"per_second\": %.1f}\n", elapsed, (unsigned long long)n,
	       (unsigned long long)n * UDP_PAYLOAD, n / elapsed);
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[TCP_CHUNK];
	struct sockaddr_in addr;
	int tcp, rr, rx, tx, lfd = -1;
	unsigned long tag;
	double seconds, t0, end, elapsed;
	pthread_t thread;
	uint64_t n = 0;

	if (argc < 3 || (strcmp(argv[1], "udp") && strcmp(argv[1], "udp-rr") && strcmp(argv[1], "tcp"))) {
		fprintf(stderr, "usage: netload udp|udp-rr|tcp SECONDS [TAG]\n");
		return 2;
	}
	tcp = !strcmp(argv[1], "tcp");
	rr = !strcmp(argv[1], "udp-rr");
	seconds = atof(argv[2]);
	tag = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;

	if (tcp) {
		lfd = bound_socket(SOCK_STREAM, &addr);
		if (listen(lfd, 1))
			die("listen");
	} else {
		rx = bound_socket(SOCK_DGRAM, &addr);
	}
	tx = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (tx < 0)
		die("socket");
	if (tag)
		tag_fd(tx, tag);
	if (connect(tx, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect");
	if (tcp && (rx = accept(lfd, NULL, NULL)) < 0)
		die("accept");
	if (rr)
		return round_trips(tx, rx, seconds);
	if (pthread_create(&thread, NULL, receive, &rx))
		die("pthread_create");

	t0 = now();
	end = t0 + seconds;
	for (;;) {
		/* The clock is read every 64 sends: cheap next to a send, fine-grained enough. */
		if (!(n++ & 63) && now() >= end)
			break;
		if (send(tx, buf, tcp ? TCP_CHUNK : UDP_PAYLOAD, 0) < 0 && errno != ENOBUFS &&
		    errno != ECONNREFUSED)
			die("send");
	}
	elapsed = now() - t0;
	atomic_store(&stop, 1);
	if (tcp)
		shutdown(tx, SHUT_WR);
	pthread_join(thread, NULL);
	printf("{\"mode\": \"%s\", \"seconds\": %.4f, \"packets\": %llu, \"bytes\": %llu, "
	       "\"per_second\": %.1f}\n", argv[1], elapsed, (unsigned long long)rx_packets,
	       (unsigned long long)rx_bytes, (tcp ? rx_bytes : rx_packets) / elapsed);
	return 0;
}
