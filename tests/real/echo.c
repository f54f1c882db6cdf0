/* SPDX-License-Identifier: MIT */
/*
 * echo.c - a threaded TCP echo server and its clients on loopback, in one
 * process, for tests/real/echo.sh. Prints only what the exchange computes
 * (never timings or ports), so a run under libgosys must print exactly what a
 * plain run prints. Exits 1 on any failed call or wrong echo. Loopback only.
 *
 * echo CLIENTS ROUNDS: CLIENTS client threads each send ROUNDS messages of
 * varying size and check every echo; the server runs one thread per
 * connection. Even clients use send/recv and poll before reading, odd ones
 * write/read; even handlers use recv/send, odd ones readv/writev.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define MAX_MSG 9000

static int listen_fd;
static struct sockaddr_in server_addr;
static int nclients, nrounds;

struct client {
	int id;
	int failed;
	uint64_t sum;	/* FNV-1a over every echoed byte */
	uint64_t bytes;
};

static void fail(const char *what, int id)
{
	fprintf(stderr, "echo: %s (thread %d): %s\n", what, id, strerror(errno));
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- server: one thread per connection ---------------------------------- */

static void *handler(void *arg)
{
	int fd = (int)(intptr_t)arg;
	int vec = fd & 1;
	char buf[4096];
	for (;;) {
		ssize_t n;
		if (vec) {
			struct iovec iv[2] = {{buf, 1000}, {buf + 1000, sizeof buf - 1000}};
			n = readv(fd, iv, 2);
		} else {
			n = recv(fd, buf, sizeof buf, 0);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w;
			if (vec) {
				struct iovec iv = {buf + off, (size_t)(n - off)};
				w = writev(fd, &iv, 1);
			} else {
				w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				fail("server write", fd);
				close(fd);
				return (void *)1;
			}
			off += w;
		}
	}
	close(fd);
	return NULL;
}

static void *acceptor(void *arg)
{
	pthread_t th[MAX_CLIENTS];
	int n = 0;
	(void)arg;
	while (n < nclients) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fail("accept", -1);
			return (void *)1;
		}
		int one = 1; /* no Nagle: each echo goes out at once */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
			fail("setsockopt", fd);
			return (void *)1;
		}
		if (pthread_create(&th[n], NULL, handler, (void *)(intptr_t)fd) != 0) {
			fail("pthread_create", -1);
			return (void *)1;
		}
		n++;
	}
	intptr_t bad = 0;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad |= (intptr_t)r;
	}
	return (void *)bad;
}

/* ---- clients ------------------------------------------------------------- */

static size_t msg_len(int id, int round)
{
	return 1 + (size_t)((id * 7919 + round * 104729) % MAX_MSG);
}

static int read_full(struct client *c, int fd, unsigned char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r;
		if (c->id % 2 == 0) {
			struct pollfd pfd = {fd, POLLIN, 0};
			int pr = poll(&pfd, 1, 60000);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr != 1) {
				fail(pr == 0 ? "poll timed out" : "poll", c->id);
				return -1;
			}
			r = recv(fd, p + got, n - got, 0);
		} else {
			r = read(fd, p + got, n - got);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail(r == 0 ? "early EOF" : "read", c->id);
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static void *client(void *arg)
{
	struct client *c = arg;
	static __thread unsigned char out[MAX_MSG], in[MAX_MSG];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	c->sum = 0xcbf29ce484222325ULL;
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
	    connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0) {
		fail("client socket/connect", c->id);
		c->failed = 1;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (int r = 0; r < nrounds && !c->failed; r++) {
		size_t n = msg_len(c->id, r);
		for (size_t i = 0; i < n; i++)
			out[i] = (unsigned char)(c->id * 31 + r * 17 + i);
		for (size_t off = 0; off < n;) {
			ssize_t w = c->id % 2 ? write(fd, out + off, n - off)
					      : send(fd, out + off, n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				fail("client write", c->id);
				c->failed = 1;
				break;
			}
			off += (size_t)w;
		}
		if (c->failed || read_full(c, fd, in, n) != 0) {
			c->failed = 1;
			break;
		}
		if (memcmp(in, out, n) != 0) {
			fprintf(stderr, "echo: client %d round %d: wrong bytes back\n", c->id, r);
			c->failed = 1;
			break;
		}
		c->sum = fnv(c->sum, in, n);
		c->bytes += n;
	}
	/* Half-close, then the server's EOF. */
	if (!c->failed) {
		char b;
		ssize_t r;
		shutdown(fd, SHUT_WR);
		while ((r = read(fd, &b, 1)) < 0 && errno == EINTR)
			;
		if (r != 0) {
			fail("no EOF after shutdown", c->id);
			c->failed = 1;
		}
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct client cl[MAX_CLIENTS];
	pthread_t th[MAX_CLIENTS], acc;
	socklen_t len = sizeof server_addr;
	int bad = 0;
	void *accres;

	nclients = argc > 1 ? atoi(argv[1]) : 8;
	nrounds = argc > 2 ? atoi(argv[2]) : 400;
	if (nclients < 1 || nclients > MAX_CLIENTS || nrounds < 1) {
		fprintf(stderr, "usage: echo [CLIENTS 1..%d] [ROUNDS]\n", MAX_CLIENTS);
		return 2;
	}
	memset(&server_addr, 0, sizeof server_addr);
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&server_addr, len) != 0 ||
	    listen(listen_fd, MAX_CLIENTS) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&server_addr, &len) != 0) {
		fail("listen", -1);
		return 1;
	}
	if (pthread_create(&acc, NULL, acceptor, NULL) != 0)
		return 1;
	for (int i = 0; i < nclients; i++) {
		memset(&cl[i], 0, sizeof cl[i]);
		cl[i].id = i;
		if (pthread_create(&th[i], NULL, client, &cl[i]) != 0) {
			fail("pthread_create", i);
			return 1;
		}
	}
	uint64_t total = 0, all = 0xcbf29ce484222325ULL;
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		bad |= cl[i].failed;
		total += cl[i].bytes;
		all = fnv(all, (const unsigned char *)&cl[i].sum, sizeof cl[i].sum);
		printf("client %d: %llu bytes, sum %016llx%s\n", i, (unsigned long long)cl[i].bytes,
		       (unsigned long long)cl[i].sum, cl[i].failed ? " FAILED" : "");
	}
	pthread_join(acc, &accres);
	bad |= accres != NULL;
	close(listen_fd);
	printf("clients %d rounds %d bytes %llu sum %016llx\n", nclients, nrounds,
	       (unsigned long long)total, (unsigned long long)all);
	return bad ? 1 : 0;
}
