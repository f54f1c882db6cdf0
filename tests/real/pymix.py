# SPDX-License-Identifier: MIT
# pymix.py PART: python3 workloads for tests/real/python.sh. Each part prints
# lines that depend only on what the program computes, never on timing or
# thread interleaving, so a run under libgosys must print exactly what a plain
# run prints. Any failed expectation raises, which changes the exit status.
import hashlib
import os
import queue
import select
import selectors
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time


def digest(items):
    h = hashlib.sha256()
    for it in items:
        h.update(repr(it).encode())
    return h.hexdigest()[:16]


def part_threads():
    # A work queue drained by 8 threads; hashing large buffers drops the GIL.
    tasks = queue.Queue()
    results = {}
    rlock = threading.Lock()
    for i in range(400):
        tasks.put(i)

    def worker():
        while True:
            try:
                i = tasks.get_nowait()
            except queue.Empty:
                return
            data = bytes((i * 7 + j) & 0xFF for j in range(256)) * (64 + i % 64)
            d = hashlib.sha256(data).hexdigest()
            with rlock:
                results[i] = d
            tasks.task_done()

    ts = [threading.Thread(target=worker) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("queue", len(results), digest(sorted(results.items())))

    # A counter under a lock, a barrier, a condition variable handing a token.
    count = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(4)
    passed = []

    def bump():
        barrier.wait()
        for _ in range(20000):
            with lock:
                count[0] += 1
        passed.append(barrier.wait() >= 0)

    ts = [threading.Thread(target=bump) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("counter", count[0], "barrier", all(passed), len(passed))

    cond = threading.Condition()
    turn = [0]
    order = []

    def player(me, n):
        for _ in range(50):
            with cond:
                while turn[0] % n != me:
                    cond.wait()
                order.append(me)
                turn[0] += 1
                cond.notify_all()

    ts = [threading.Thread(target=player, args=(k, 3)) for k in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("condition turns", len(order), order[:7] == [0, 1, 2, 0, 1, 2, 0])

    # Event and timed waits: one that times out, one that is set.
    ev = threading.Event()
    print("event timeout", ev.wait(0.05))
    threading.Timer(0.05, ev.set).start()
    print("event set", ev.wait(30))


def part_subprocess():
    r = subprocess.run(["sort", "-r"], input=b"b\na\nc\n", capture_output=True, check=True)
    print("sort", r.stdout)
    print("exit", subprocess.run(["sh", "-c", "exit 3"]).returncode)
    print("signal", subprocess.run(["sh", "-c", "kill -TERM $$"]).returncode)
    p1 = subprocess.Popen(["printf", "x%sy\\n", "1", "2", "3"], stdout=subprocess.PIPE)
    p2 = subprocess.Popen(["tr", "a-z", "A-Z"], stdin=p1.stdout, stdout=subprocess.PIPE)
    p1.stdout.close()
    out = p2.communicate()[0]
    print("pipeline", out, p1.wait(), p2.returncode)
    big = bytes(range(256)) * 40000
    out = subprocess.check_output(["md5sum"], input=big)
    print("md5sum", out.split()[0].decode(), hashlib.md5(big).hexdigest())
    try:
        subprocess.run(["sleep", "30"], timeout=0.2)
        print("timeout: not raised")
    except subprocess.TimeoutExpired:
        print("timeout: raised")
    # Children started from several threads at once.
    outs = {}

    def spawn(n):
        outs[n] = subprocess.check_output(["sh", "-c", 'echo "child $0"; exit 0', str(n)])

    ts = [threading.Thread(target=spawn, args=(n,)) for n in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("threads' children", sorted(outs.items()))
    # fork and waitpid by hand.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, b"from the child")
        os._exit(7)
    os.close(w)
    data = os.read(r, 100)
    os.close(r)
    _, st = os.waitpid(pid, 0)
    print("fork", data, os.waitstatus_to_exitcode(st))


class Upper(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def part_sockets():
    srv = Server(("127.0.0.1", 0), Upper)
    port = srv.server_address[1]
    st = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    st.start()
    sums = {}

    def client(c):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            f = s.makefile("rwb")
            h = hashlib.sha256()
            for i in range(300):
                msg = b"client %d line %d %s\n" % (c, i, b"x" * (i % 97))
                f.write(msg)
                f.flush()
                back = f.readline()
                if back != msg.upper():
                    raise RuntimeError("bad echo %r" % back)
                h.update(back)
            sums[c] = h.hexdigest()[:12]

    ts = [threading.Thread(target=client, args=(c,)) for c in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    srv.shutdown()
    st.join()
    srv.server_close()
    print("tcp clients", sorted(sums.items()))

    # A non-blocking echo loop on a selector, fed by one blocking client.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen()
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    done = threading.Event()

    def loop():
        while not done.is_set():
            for key, _ in sel.select(timeout=0.05):
                if key.fileobj is ls:
                    c, _ = ls.accept()
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ)
                else:
                    data = key.fileobj.recv(65536)
                    if data:
                        key.fileobj.sendall(data)
                    else:
                        sel.unregister(key.fileobj)
                        key.fileobj.close()

    lt = threading.Thread(target=loop)
    lt.start()
    with socket.create_connection(ls.getsockname(), timeout=30) as s:
        payload = bytes(range(251)) * 2000
        got = bytearray()
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    done.set()
    lt.join()
    ls.close()
    print("selector echo", len(got), got == payload)

    # UDP on loopback, and a descriptor passed over a socketpair.
    u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u1.bind(("127.0.0.1", 0))
    u2.settimeout(30)
    u1.settimeout(30)
    for i in range(20):
        u2.sendto(b"dgram %d" % i, u1.getsockname())
    print("udp", [u1.recvfrom(100)[0] for _ in range(20)][-1])
    u1.close()
    u2.close()
    a, b = socket.socketpair()
    r, w = os.pipe()
    socket.send_fds(a, [b"fd"], [w])
    msg, fds, _, _ = socket.recv_fds(b, 10, 1)
    os.write(fds[0], b"through a passed fd")
    os.close(fds[0])
    os.close(w)
    print("scm_rights", msg, os.read(r, 100))
    for x in (a, b):
        x.close()
    os.close(r)


class Interrupted(Exception):
    pass


def urg_handler_installed():
    """What sigaction(2) says the process's SIGURG action is: not SIG_DFL."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    old = ctypes.create_string_buffer(256)  # more than a struct sigaction
    if libc.sigaction(signal.SIGURG, None, old) != 0:
        raise OSError(ctypes.get_errno(), "sigaction")
    return int.from_bytes(old.raw[:8], "little") != 0


def part_signals():
    # A periodic timer: count 20 ticks while the main thread sleeps.
    ticks = [0]

    def tick(sig, frame):
        ticks[0] += 1
        if ticks[0] == 20:
            signal.setitimer(signal.ITIMER_REAL, 0)

    signal.signal(signal.SIGALRM, tick)
    signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
    deadline = time.monotonic() + 30
    while ticks[0] < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    print("itimer ticks", ticks[0])

    # An alarm whose handler raises, out of a blocking select().
    def boom(sig, frame):
        raise Interrupted()

    signal.signal(signal.SIGALRM, boom)
    r, w = os.pipe()
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        select.select([r], [], [], 30)
        print("select: not interrupted")
    except Interrupted:
        print("select: interrupted by the handler")

    # SA_RESTART. A read on an empty pipe; SIGALRM at 0.2 s; a writer thread
    # (with SIGALRM blocked, so the signal hits the reader) writes at 0.7 s.
    # siginterrupt(True): read fails with EINTR, the handler runs at once, and
    # the write has not happened yet. siginterrupt(False): the kernel restarts
    # the read, and the handler runs only after the data arrived.
    for interrupt in (True, False):
        r, w = os.pipe()
        wrote = [False]
        seen = []

        def note(sig, frame):
            seen.append(wrote[0])

        def writer():
            time.sleep(0.7)
            wrote[0] = True
            os.write(w, b"x")

        signal.signal(signal.SIGALRM, note)
        signal.siginterrupt(signal.SIGALRM, interrupt)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        wt = threading.Thread(target=writer)
        wt.start()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        data = os.read(r, 1)
        wt.join()
        os.close(r)
        os.close(w)
        print("siginterrupt", interrupt, "read", data, "handler saw the write:", seen)

    # sigwait in a thread that blocks the signal, woken by pthread_kill.
    got = []
    ready = threading.Event()

    def waiter():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        ready.set()
        got.append(signal.sigwait({signal.SIGUSR1}))

    wt = threading.Thread(target=waiter)
    wt.start()
    ready.wait(30)
    signal.pthread_kill(wt.ident, signal.SIGUSR1)
    wt.join()
    print("sigwait", [signal.Signals(s).name for s in got])

    # A signal to ourselves, handled.
    hits = []
    signal.signal(signal.SIGUSR2, lambda s, f: hits.append(s))
    os.kill(os.getpid(), signal.SIGUSR2)
    time.sleep(0)
    print("self signal", [signal.Signals(s).name for s in hits])

    # SIGURG, the library's preemption signal: ignored by default, and a
    # program's own handler still gets the ones it sends, by kill() to the
    # process and by pthread_kill() to its own thread.
    os.kill(os.getpid(), signal.SIGURG)
    time.sleep(0)
    print("default SIGURG ignored")
    urg = []
    signal.signal(signal.SIGURG, lambda s, f: urg.append(s))
    os.kill(os.getpid(), signal.SIGURG)
    time.sleep(0)
    signal.pthread_kill(threading.main_thread().ident, signal.SIGURG)
    time.sleep(0)
    print("own SIGURG handler calls", len(urg))
    print("sigaction reports a SIGURG handler:", urg_handler_installed())
    signal.signal(signal.SIGURG, signal.SIG_DFL)
    print("sigaction reports SIGURG back to default:", not urg_handler_installed())

    # SIGCHLD with a handler while waiting for a child.
    chld = []
    signal.signal(signal.SIGCHLD, lambda s, f: chld.append(s))
    p = subprocess.Popen(["sh", "-c", "exit 5"])
    print("child with SIGCHLD handler", p.wait(), len(chld) >= 1)


if __name__ == "__main__":
    {"threads": part_threads, "subprocess": part_subprocess, "sockets": part_sockets,
     "signals": part_signals}[sys.argv[1]]()
    sys.stdout.flush()
