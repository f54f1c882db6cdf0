/* SPDX-License-Identifier: MIT */
/*
 * gcstop.c - the Boehm GC stopping the world by signal, with many threads:
 * every collection sends SIGPWR to each registered thread, whose handler
 * acknowledges and waits in sigsuspend until SIGXCPU restarts it. Half the
 * threads are made by GC_pthread_create, half by plain pthread_create and
 * registered with GC_register_my_thread (GC_allow_register_threads). They
 * allocate lists, keep some, drop the rest, and force collections; others
 * sit in nanosleep, in a read on a pipe, or compute for longer than the
 * library's slice, so the stop signals find threads in every state.
 *
 *   gcstop THREADS ROUNDS
 *
 * Prints per-thread checksums of the lists they kept and the number of
 * nodes alive at the end; nothing that depends on timing, so a run under
 * the library must print exactly what the plain run prints.
 */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS /* GC_pthread_create by name, plain pthread_create too */
#include <gc.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct node {
	struct node *next;
	uint64_t val;
	char pad[40];
};

static int rounds;
static int pfd[2];
static int stop; /* atomic */
static volatile uint64_t sink;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* An allocating worker: builds lists, keeps every eighth, collects now and then. */
static uint64_t allocate(int id)
{
	struct node *kept = NULL;
	uint64_t sum = 0;
	for (int r = 0; r < rounds; r++) {
		struct node *head = NULL;
		for (int i = 0; i < 200; i++) {
			struct node *n = GC_MALLOC(sizeof *n);
			if (!n)
				abort();
			n->val = mix((uint64_t)id * 1000003 + (uint64_t)r * 211 + (uint64_t)i);
			n->next = head;
			head = n;
		}
		uint64_t s = 0;
		for (struct node *n = head; n; n = n->next)
			s += n->val;
		sum += s;
		if (r % 8 == 0) { /* keep this list: chain it onto the kept ones */
			struct node *tail = head;
			while (tail->next)
				tail = tail->next;
			tail->next = kept;
			kept = head;
		}
		if (r % 16 == id % 16)
			GC_gcollect();
	}
	uint64_t ks = 0;
	for (struct node *n = kept; n; n = n->next)
		ks += n->val;
	return sum ^ (ks << 1);
}

static void nap_us(long us)
{
	struct timespec ts = {0, us * 1000};
	nanosleep(&ts, NULL);
}

enum { W_ALLOC, W_SLEEP, W_READ, W_COMPUTE };

struct worker {
	int id, kind, registered;
	uint64_t result;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct GC_stack_base sb;
	if (w->registered) {
		if (GC_get_stack_base(&sb) != GC_SUCCESS || GC_register_my_thread(&sb) != GC_SUCCESS)
			abort();
	}
	char c;
	switch (w->kind) {
	case W_ALLOC:
		w->result = allocate(w->id);
		break;
	case W_SLEEP:
		while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			nap_us(200);
		break;
	case W_READ:
		while (read(pfd[0], &c, 1) == 1)
			;
		break;
	case W_COMPUTE:
		while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
			uint64_t x = sink;
			for (int i = 0; i < 20000000; i++) /* tens of ms, no call */
				x = x * 6364136223846793005ULL + 1;
			sink = x;
		}
		break;
	}
	if (w->registered)
		GC_unregister_my_thread();
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 8;
	rounds = argc > 2 ? atoi(argv[2]) : 200;
	if (nthreads < 4 || nthreads > 256 || rounds < 1) {
		fprintf(stderr, "usage: gcstop THREADS(4..256) ROUNDS\n");
		return 2;
	}
	GC_INIT();
	GC_allow_register_threads();
	if (pipe(pfd))
		return 1;
	struct worker *ws = calloc((size_t)nthreads, sizeof *ws);
	pthread_t *th = calloc((size_t)nthreads, sizeof *th);
	if (!ws || !th)
		return 1;
	for (int i = 0; i < nthreads; i++) {
		ws[i].id = i;
		ws[i].kind = i == 1 ? W_SLEEP : i == 2 ? W_READ : i == 3 ? W_COMPUTE : W_ALLOC;
		ws[i].registered = i % 2;
		int e = ws[i].registered
				? pthread_create(&th[i], NULL, work, &ws[i])
				: GC_pthread_create(&th[i], NULL, work, &ws[i]);
		if (e) {
			fprintf(stderr, "gcstop: thread %d: %s\n", i, strerror(e));
			return 1;
		}
	}
	/* The main thread allocates and collects too, and feeds the reader. */
	uint64_t mine = allocate(nthreads);
	for (int i = 0; i < 50; i++) {
		if (write(pfd[1], "x", 1) != 1)
			return 1;
		GC_gcollect();
	}
	close(pfd[1]);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nthreads; i++) {
		if (ws[i].registered)
			pthread_join(th[i], NULL);
		else
			GC_pthread_join(th[i], NULL);
	}
	for (int i = 0; i < nthreads; i++)
		if (ws[i].kind == W_ALLOC)
			printf("thread %d: %016llx\n", i, (unsigned long long)ws[i].result);
	printf("main: %016llx\n", (unsigned long long)mine);
	printf("ok: %d threads, %d rounds\n", nthreads, rounds);
	return 0;
}
