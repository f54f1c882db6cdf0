// SPDX-License-Identifier: MIT
// Stw.java - a small multi-threaded Java program for jvm.sh: compute threads,
// allocating threads, threads in Thread.sleep, a producer/consumer pair on a
// blocking queue and contended monitors, with a few forced collections.
// Run with JFR on, the JVM's thread sampler stops Java threads by signal
// (SIGUSR2, waiting in sigsuspend in the handler) every few milliseconds;
// every other stop is a safepoint. Prints only what does not depend on
// timing, so runs under the library must print what the plain run prints.
//
//   java Stw THREADS ROUNDS        (THREADS a multiple of 8)
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

public class Stw {
    static final Object lock = new Object();
    static long shared;

    static long mix(long x) {
        x ^= x >>> 33;
        x *= 0xff51afd7ed558ccdL;
        x ^= x >>> 33;
        return x;
    }

    static long compute(int id, int rounds) {
        long x = id;
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < 200000; i++)
                x = mix(x + i);
        return x;
    }

    static long allocate(int id, int rounds) {
        List<long[]> kept = new ArrayList<>();
        long sum = 0;
        for (int r = 0; r < rounds; r++) {
            long[] a = new long[2048];
            for (int i = 0; i < a.length; i++)
                a[i] = mix(id * 1000003L + r * 211L + i);
            for (long v : a)
                sum += v;
            if (r % 8 == 0)
                kept.add(a);
            synchronized (lock) {
                shared += a[r % a.length] & 0xff;
            }
        }
        for (long[] a : kept)
            sum ^= a[0];
        return sum;
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        if (n % 8 != 0)
            throw new IllegalArgumentException("THREADS must be a multiple of 8 (queue pairs)");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        long[] results = new long[n];
        Thread[] ts = new Thread[n];
        // One small queue per producer/consumer pair (threads 8k+3 and 8k+7).
        @SuppressWarnings("unchecked")
        BlockingQueue<Long>[] qs = new BlockingQueue[(n + 7) / 8];
        for (int i = 0; i < qs.length; i++)
            qs[i] = new ArrayBlockingQueue<>(4);
        for (int i = 0; i < n; i++) {
            final int id = i;
            ts[i] = new Thread(() -> {
                try {
                    switch (id % 4) {
                    case 0:
                        results[id] = compute(id, rounds * 2);
                        break;
                    case 1:
                        results[id] = allocate(id, rounds * 4);
                        break;
                    case 2: { // sleeps between small pieces of work
                        long x = id;
                        for (int r = 0; r < rounds / 8; r++) {
                            Thread.sleep(1);
                            x = mix(x + r);
                        }
                        results[id] = x;
                        break;
                    }
                    default: { // a producer and its consumer on a small queue
                        long x = 0;
                        BlockingQueue<Long> q = qs[id / 8];
                        if (id % 8 == 3) {
                            for (long r = 0; r < rounds * 4L; r++)
                                q.put(r);
                            q.put(-1L);
                        } else {
                            for (long v; (v = q.take()) >= 0;)
                                x = mix(x + v);
                        }
                        results[id] = x;
                    }
                    }
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, "worker-" + i);
            ts[i].start();
        }
        for (int g = 0; g < 4; g++) {
            Thread.sleep(20);
            System.gc();
        }
        for (Thread t : ts)
            t.join();
        for (int i = 0; i < n; i++)
            System.out.printf("thread %d: %016x%n", i, results[i]);
        System.out.printf("shared %d%n", shared);
        System.out.println("ok");
    }
}
