/* SPDX-License-Identifier: MIT */
/*
 * rowsup.c - the test library behind tests/preload/rows.sh: the fixture,
 * the helpers the table's test expressions call, and the runner that calls
 * every row one way (directly, from a second thread, from a signal handler,
 * from this library's constructor before main) and prints "name result
 * errno". Built as a shared library so that its constructor runs before the
 * program's main, in whatever order the loader picks against the preload.
 */
#include "rowsup.h"
#include <dlfcn.h>

struct tfix T;

static char tpbuf[4][256];
static unsigned tpnext;

const char *tp(const char *name)
{
	char *b = tpbuf[tpnext++ % 4];
	snprintf(b, sizeof tpbuf[0], "%s/%s", T.dir, name);
	return b;
}

long tclose(int fd)
{
	if (fd < 0)
		return -1;
	return close(fd) == 0 ? 1 : -2;
}

long tmap(void *p)
{
	if (p == MAP_FAILED)
		return -1;
	munmap(p, 4096);
	return 0;
}

pid_t tgettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

long tselect(int k)
{
	fd_set r;
	FD_ZERO(&r);
	FD_SET(T.rfd, &r);
	struct timeval tv0 = {0, 0}, tv1 = {1, 0};
	int n;
	if (k == 0)
		n = select(T.rfd + 1, &r, NULL, NULL, &tv0);
	else if (k == 1)
		n = __select(T.rfd + 1, &r, NULL, NULL, &tv1);
	else
		n = pselect(T.rfd + 1, &r, NULL, NULL, NULL, NULL);
	return n * 10L + FD_ISSET(T.rfd, &r);
}

static long reap(pid_t p)
{
	int st = 0;
	if (p < 0)
		return -1;
	if (waitpid(p, &st, 0) != p)
		return -2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -3;
}

long tfork(int k)
{
	pid_t p = k ? __fork() : fork();
	if (p == 0)
		_exit(7);
	return reap(p);
}

long tvfork(int k)
{
	pid_t p = k ? __vfork() : vfork();
	if (p == 0)
		_exit(9);
	return reap(p);
}

extern char **environ;

long tspawn(int k)
{
	char *av[] = {"sh", "-c", "exit 4", NULL};
	pid_t pid;
	int r = k ? posix_spawnp(&pid, "sh", NULL, NULL, av, environ)
		  : posix_spawn(&pid, "/bin/sh", NULL, NULL, av, environ);
	if (r)
		return r * 100L;
	return reap(pid);
}

long tsystem(void)
{
	int s = system("exit 5");
	return WIFEXITED(s) ? WEXITSTATUS(s) : -1;
}

static volatile sig_atomic_t hits;
static void hcount(int s)
{
	(void)s;
	hits++;
}
static void hnop(int s)
{
	(void)s;
}

long tsigaction(int k)
{
	int (*sa)(int, const struct sigaction *, struct sigaction *) = k ? __sigaction : sigaction;
	struct sigaction a, old, cur;
	memset(&a, 0, sizeof a);
	a.sa_handler = hcount;
	sigemptyset(&a.sa_mask);
	long r = 0;
	hits = 0;
	r += sa(SIGURG, &a, &old);
	r += sa(SIGURG, NULL, &cur);
	r += 10 * (cur.sa_handler == hcount);
	raise(SIGURG);
	r += 100 * hits;
	r += sa(SIGURG, &old, NULL);
	hits = 0;
	r += sa(SIGUSR2, &a, &old);
	raise(SIGUSR2);
	r += 1000 * hits;
	r += sa(SIGUSR2, &old, NULL);
	r += 10000 * sa(-1, &a, NULL);
	return r;
}

long tsignal(int k)
{
	sighandler_t (*f)(int, sighandler_t) = k == 0 ? signal : k == 1 ? bsd_signal
					       : k == 2 ? sysv_signal : sigset;
	hits = 0;
	sighandler_t old = f(SIGURG, hcount);
	raise(SIGURG);
	raise(SIGURG);
	sighandler_t back = f(SIGURG, old);
	long r = hits * 10 + (old == SIG_DFL) + 100 * (back == (k == 2 ? SIG_DFL : hcount));
	return r + 1000 * (f(-1, hcount) == SIG_ERR);
}

static void handle(int sig, void (*h)(int))
{
	struct sigaction a;
	memset(&a, 0, sizeof a);
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	sigaction(sig, &a, NULL);
}

long tpause(int k)
{
	long r;
	if (k == 0) {
		struct itimerval it = {{0, 0}, {0, 5000}};
		handle(SIGALRM, hnop);
		setitimer(ITIMER_REAL, &it, NULL);
		r = pause();
	} else {
		sigset_t b, old;
		sigemptyset(&b);
		sigaddset(&b, SIGUSR2);
		handle(SIGUSR2, hnop);
		sigprocmask(SIG_BLOCK, &b, &old);
		kill(getpid(), SIGUSR2);
		sigset_t w = old;
		sigdelset(&w, SIGUSR2);
		r = sigsuspend(&w);
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = e;
	}
	return r;
}

long tsigwait(int k)
{
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	long r;
	if (k == 0) {
		int sig = 0;
		kill(getpid(), SIGUSR2);
		r = sigwait(&s, &sig) * 100L + sig;
	} else if (k == 1) {
		kill(getpid(), SIGUSR2);
		r = sigwaitinfo(&s, &T.si) * 100L + (T.si.si_code == SI_USER);
	} else {
		r = sigtimedwait(&s, &T.si, &T.zero) * 1000L;
		kill(getpid(), SIGUSR2);
		r += sigtimedwait(&s, NULL, &T.sec);
	}
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return r;
}

static void *tret(void *a)
{
	return a;
}

static void *tblock(void *a)
{
	for (;;)
		pause();
	return a;
}

static struct timespec future(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec += 30;
	return ts;
}

long tthread(int k)
{
	pthread_t t;
	void *v = NULL;
	int r;
	if (k == 1) {
		if (pthread_create(&t, NULL, tblock, NULL))
			return -1;
		r = pthread_cancel(t);
		pthread_join(t, &v);
		return r * 100L + (v == PTHREAD_CANCELED);
	}
	if (pthread_create(&t, NULL, tret, (void *)(long)(5 + k)))
		return -1;
	if (k == 0 || k == 2) {
		r = pthread_join(t, &v);
	} else if (k == 3) {
		struct timespec f = future(CLOCK_REALTIME);
		r = pthread_timedjoin_np(t, &v, &f);
	} else {
		struct timespec f = future(CLOCK_MONOTONIC);
		r = pthread_clockjoin_np(t, &v, CLOCK_MONOTONIC, &f);
	}
	return r * 100L + (long)v;
}

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cc = PTHREAD_COND_INITIALIZER;
static int cflag;

static void *tsignaler(void *a)
{
	pthread_mutex_lock(&cm);
	cflag = 1;
	pthread_cond_signal(&cc);
	pthread_mutex_unlock(&cm);
	return a;
}

long tcond(int k)
{
	int r = 0;
	pthread_mutex_lock(&cm);
	if (k == 0) {
		pthread_t t;
		cflag = 0;
		if (pthread_create(&t, NULL, tsignaler, NULL)) {
			pthread_mutex_unlock(&cm);
			return -1;
		}
		while (!cflag && r == 0)
			r = pthread_cond_wait(&cc, &cm);
		pthread_mutex_unlock(&cm);
		pthread_join(t, NULL);
		return r * 10L + cflag;
	}
	if (k == 1)
		r = pthread_cond_timedwait(&cc, &cm, &T.past);
	else
		r = pthread_cond_clockwait(&cc, &cm, CLOCK_MONOTONIC, &T.past);
	pthread_mutex_unlock(&cm);
	return r;
}

/* ---- the fixture ------------------------------------------------------------ */

static void die(const char *what)
{
	fprintf(stderr, "rows: setup: %s: %s\n", what, strerror(errno));
	exit(99);
}

static void setup(void)
{
	const char *base = getenv("TROWS_TMP");
	snprintf(T.dir, sizeof T.dir, "%s/rowsXXXXXX", base ? base : "/tmp");
	if (!mkdtemp(T.dir))
		die("mkdtemp");
	if ((T.dirfd = open(T.dir, O_RDONLY | O_DIRECTORY)) < 0)
		die("dir");
	if ((T.fd = open(tp("f"), O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    write(T.fd, "0123456789abcdef", 16) != 16 || lseek(T.fd, 0, SEEK_SET) != 0)
		die("f");
	if (symlink("f", tp("l")) != 0)
		die("symlink");
	if ((T.wfd = open(tp("w"), O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0)
		die("w");
	int p[2];
	if (pipe(p) != 0 || write(p[1], "12345678", 8) != 8)
		die("pipe");
	T.rfd = p[0];
	T.rfd_w = p[1];
	if (pipe(p) != 0)
		die("pipe2");
	T.pr = p[0];
	T.pw = p[1];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) != 0)
		die("socketpair");
	T.sa = p[0];
	T.sb = p[1];
	T.un.sun_family = AF_UNIX;
	snprintf(T.un.sun_path, sizeof T.un.sun_path, "%s/sock", T.dir);
	if ((T.lsn = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(T.lsn, (struct sockaddr *)&T.un, sizeof T.un) != 0 || listen(T.lsn, 1) != 0)
		die("listener");
	if ((T.ep = epoll_create1(0)) < 0)
		die("epoll");
	T.ev.events = EPOLLIN;
	T.mq = msgget(IPC_PRIVATE, 0600);
	T.sysv_sem = semget(IPC_PRIVATE, 1, 0600);
	if (T.mq < 0 || T.sysv_sem < 0)
		die("System V IPC");
	struct mq_attr qa = {0};
	qa.mq_maxmsg = 4;
	qa.mq_msgsize = 64;
	char qn[64];
	snprintf(qn, sizeof qn, "/gosys-rows-%d", (int)getpid());
	T.pmq = mq_open(qn, O_RDWR | O_CREAT | O_EXCL, 0600, &qa);
	if (T.pmq == (mqd_t)-1)
		die("mq_open");
	mq_unlink(qn);
	T.pid = getpid();
	T.ppid = getppid();
	T.iov[0].iov_base = T.buf;
	T.iov[0].iov_len = 3;
	T.iov[1].iov_base = T.buf + 100;
	T.iov[1].iov_len = 5;
	T.msg.msg_iov = T.iov;
	T.msg.msg_iovlen = 2;
	T.mmsg.msg_hdr = T.msg;
	T.lk.l_type = F_WRLCK;
	T.lk.l_whence = SEEK_SET;
	T.lk.l_start = 0;
	T.lk.l_len = 1;
	T.olk = T.lk;
	T.olk.l_start = 100;
	T.pfd[0].fd = T.rfd;
	T.pfd[0].events = POLLIN;
	T.pfd[1].fd = T.wfd;
	T.pfd[1].events = POLLOUT;
	T.ms.tv_nsec = 1000000;
	T.bad.tv_nsec = 2000000000;
	T.sec.tv_sec = 1;
	T.past.tv_sec = 1;
	sigemptyset(&T.mask);
	T.mb.mtype = 1;
	memcpy(T.mb.mtext, "msg!", 4);
	T.sop_up.sem_op = 1;
	T.sop_down.sem_op = -1;
	T.sop_down_nw.sem_op = -1;
	T.sop_down_nw.sem_flg = IPC_NOWAIT;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&T.emu, &ma);
	pthread_mutex_init(&T.mu, NULL);
	pthread_mutex_init(&T.mu2, NULL);
	pthread_rwlock_init(&T.rw, NULL);
	pthread_barrier_init(&T.bar, NULL, 1);
	sem_init(&T.sem, 0, 0);
	T.map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T.map2 = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (T.map == MAP_FAILED || T.map2 == MAP_FAILED)
		die("mmap");
	T.argv[0] = "x";
}

static void teardown(void)
{
	static const char *const names[] = {"f", "l", "l2", "hl", "w", "n", "n2", "c", "sock", "u", "d"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(tp(names[i]));
	rmdir(T.dir);
	msgctl(T.mq, IPC_RMID, NULL);
	semctl(T.sysv_sem, 0, IPC_RMID);
}

/* ---- the runner ------------------------------------------------------------- */

#define MAXROWS 512
static long res[MAXROWS];
static int err[MAXROWS];
static char ran[MAXROWS];

static void run_rows(int insig)
{
	for (int i = 0; trows[i].name && i < MAXROWS; i++) {
		if (insig && trows[i].nosig)
			continue;
		errno = 4242;
		res[i] = trows[i].fn();
		err[i] = errno;
		ran[i] = 1;
	}
}

static void on_usr1(int s)
{
	(void)s;
	int e = errno;
	run_rows(1);
	errno = e;
}

static void *row_thread(void *a)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	run_rows(0);
	return a;
}

static void where(void)
{
	for (int i = 0; trows[i].name; i++) {
		Dl_info di;
		void *p = dlsym(RTLD_DEFAULT, trows[i].name);
		const char *obj = p && dladdr(p, &di) && di.dli_fname ? di.dli_fname : "none";
		printf("%s %s\n", trows[i].name, strstr(obj, "libgosys") ? "gosys" : "other");
	}
}

int trows_main(const char *way)
{
	if (!strcmp(way, "where")) {
		where();
		return 0;
	}
	setup();
	if (!strcmp(way, "direct") || !strcmp(way, "ctor")) {
		run_rows(0);
	} else if (!strcmp(way, "cancel")) {
		/* Once pthread_cancel has been called, cancellation points take libc's path. */
		tthread(1);
		run_rows(0);
	} else if (!strcmp(way, "thread")) {
		sigset_t s, old;
		sigemptyset(&s);
		sigaddset(&s, SIGALRM);
		sigaddset(&s, SIGUSR2);
		pthread_sigmask(SIG_BLOCK, &s, &old);
		pthread_t t;
		if (pthread_create(&t, NULL, row_thread, NULL) != 0 || pthread_join(t, NULL) != 0)
			die("thread");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	} else if (!strcmp(way, "signal")) {
		handle(SIGUSR1, on_usr1);
		raise(SIGUSR1);
	} else {
		fprintf(stderr, "rows: unknown way %s\n", way);
		return 2;
	}
	for (int i = 0; trows[i].name && i < MAXROWS; i++) {
		if (ran[i])
			printf("%s %ld %d\n", trows[i].name, res[i], err[i]);
		else
			printf("%s skip\n", trows[i].name);
	}
	fflush(stdout);
	teardown();
	return 0;
}

int trows_ctor_ran;

static void __attribute__((constructor)) rows_ctor(void)
{
	const char *w = getenv("TROWS_WAY");
	if (w && !strcmp(w, "ctor")) {
		trows_main("ctor");
		trows_ctor_ran = 1;
	}
}
