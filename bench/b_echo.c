/* SPDX-License-Identifier: MIT */
/*
 * b_echo.c - a thread-per-connection TCP server on loopback, and its load
 * generator, for bench/server.sh (issue 12's own-server figure).
 *
 *   b_echo server PORTFILE      listens on 127.0.0.1 (a free port, written
 *                               to PORTFILE), one thread per connection:
 *                               read a 64-byte request, burn about WORK_US
 *                               of CPU, write 64 bytes back; runs until
 *                               SIGTERM or 120 s
 *   b_echo client PORT CONNS SECS
 *                               CONNS threads, each one connection sending
 *                               requests back to back for SECS; prints
 *                               "rps N p50_us N p99_us N"
 *
 * The server is the program under test (run plain or under LD_PRELOAD); the
 * client is never preloaded. Blocking sockets, as a thread-per-connection
 * server has them: each request is one blocking read and one write.
 */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ 64
#define WORK_US 20
#define MAXCONN 64
#define MAXSAMPLES (1 << 22) /* latencies kept, MAXSAMPLES / MAXCONN per connection */

static uint64_t loops_per_us = 100;
static volatile uint64_t sink;

static void work(uint64_t n)
{
	uint64_t x = sink;
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink = x;
}

static void calibrate(void)
{
	int64_t best = -1;
	for (int r = 0; r < 5; r++) { /* the fastest of five: least disturbed */
		int64_t t0 = bench_now();
		work(1000000);
		int64_t dt = bench_now() - t0;
		if (dt > 0 && (best < 0 || dt < best))
			best = dt;
	}
	if (best > 0)
		loops_per_us = 1000000ULL * 1000 / (uint64_t)best;
	if (loops_per_us < 1)
		loops_per_us = 1;
}

static int full_io(int fd, char *buf, size_t n, int rd)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = rd ? read(fd, buf + done, n - done) : write(fd, buf + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[REQ];
	while (full_io(fd, buf, REQ, 1) == 0) {
		work(loops_per_us * WORK_US);
		if (full_io(fd, buf, REQ, 0) != 0)
			break;
	}
	close(fd);
	return NULL;
}

static int server(const char *portfile)
{
	calibrate();
	alarm(120);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 128) ||
	    getsockname(ls, (struct sockaddr *)&sa, &len)) {
		perror("b_echo server");
		return 1;
	}
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", ntohs(sa.sin_port)) < 0 || fclose(f) || rename(tmp, portfile)) {
		perror("b_echo portfile");
		return 1;
	}
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, serve, (void *)(intptr_t)c))
			close(c);
		pthread_attr_destroy(&at);
	}
}

struct cl {
	pthread_t th;
	int fd;
	int64_t end;
	uint64_t reqs;	/* requests answered */
	uint32_t n;	/* latencies kept */
	uint32_t *lat;	/* microseconds */
	int err;
};

static void *client_thread(void *arg)
{
	struct cl *c = arg;
	char buf[REQ];
	memset(buf, 'x', sizeof buf);
	for (;;) {
		int64_t t0 = bench_now();
		if (t0 >= c->end)
			break;
		if (full_io(c->fd, buf, REQ, 0) || full_io(c->fd, buf, REQ, 1)) {
			c->err = 1;
			break;
		}
		int64_t us = (bench_now() - t0) / 1000;
		c->reqs++;
		if (c->n < MAXSAMPLES / MAXCONN)
			c->lat[c->n++] = (uint32_t)(us > 0xffffffffLL ? 0xffffffffLL : us);
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int client(int port, int conns, double secs)
{
	static struct cl cs[MAXCONN];
	static uint32_t all[MAXSAMPLES];
	if (conns < 1 || conns > MAXCONN)
		return 2;
	alarm((unsigned)secs + 30);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	for (int i = 0; i < conns; i++) {
		cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&sa, sizeof sa)) {
			perror("b_echo client: connect");
			return 1;
		}
		setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		cs[i].lat = all + (size_t)i * (MAXSAMPLES / MAXCONN);
	}
	int64_t t0 = bench_now(), end = t0 + (int64_t)(secs * 1e9);
	for (int i = 0; i < conns; i++) {
		cs[i].end = end;
		pthread_create(&cs[i].th, NULL, client_thread, &cs[i]);
	}
	size_t n = 0;
	uint64_t reqs = 0;
	int err = 0;
	for (int i = 0; i < conns; i++) {
		pthread_join(cs[i].th, NULL);
		err |= cs[i].err;
	}
	int64_t wall = bench_now() - t0;
	for (int i = 0; i < conns; i++) {
		memmove(all + n, cs[i].lat, cs[i].n * sizeof *all);
		n += cs[i].n;
		reqs += cs[i].reqs;
		close(cs[i].fd);
	}
	if (err || n == 0) {
		fprintf(stderr, "b_echo client: a connection failed\n");
		return 1;
	}
	qsort(all, n, sizeof *all, cmp_u32);
	printf("rps %.0f p50_us %u p99_us %u\n", (double)reqs * 1e9 / (double)wall, all[n / 2],
	       all[n * 99 / 100]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: b_echo server PORTFILE | client PORT CONNS SECS\n");
	return 2;
}
