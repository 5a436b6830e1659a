package dev.r1flink.tensor;

import java.util.concurrent.Phaser;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fixed set of worker threads that split a range of rows between them. Each index is handled by exactly one
 * thread, from start to end, so results never depend on the thread count (needed for batch invariance).
 *
 * <pre>{@code
 * try (Parallel p = new Parallel(2)) {
 *     p.forRange(rows, (from, to) -> tensor.matmul(x, cols, batch, out, rows, from, to));
 * }
 * }</pre>
 */
public final class Parallel implements AutoCloseable {

    /** Work on the half-open range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private final int threads;
    private final Thread[] workers;
    private final Phaser start = new Phaser(1);
    private final Phaser done = new Phaser(1);
    private volatile RangeTask task;
    private volatile int n;
    private volatile int granularity;
    private volatile boolean closed;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            final int id = i + 1;
            start.register();
            done.register();
            workers[i] = new Thread(() -> workerLoop(id), "r1-worker-" + id);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code task} over {@code [0, n)} split into one contiguous chunk per thread (multiples of {@code granularity}). */
    public void forRange(int n, int granularity, RangeTask task) {
        if (threads == 1 || n <= granularity) {
            task.run(0, n);
            return;
        }
        this.task = task;
        this.n = n;
        this.granularity = granularity;
        start.arriveAndAwaitAdvance();
        runChunk(0);
        done.arriveAndAwaitAdvance();
        this.task = null;
        Throwable t = failure.getAndSet(null);
        if (t != null) {
            throw t instanceof RuntimeException re ? re : new RuntimeException(t);
        }
    }

    public void forRange(int n, RangeTask task) {
        forRange(n, 1, task);
    }

    private void runChunk(int id) {
        int units = (n + granularity - 1) / granularity;
        int per = units / threads;
        int extra = units % threads;
        int fromUnit = id * per + Math.min(id, extra);
        int toUnit = fromUnit + per + (id < extra ? 1 : 0);
        int from = Math.min(n, fromUnit * granularity);
        int to = Math.min(n, toUnit * granularity);
        if (from < to) {
            try {
                task.run(from, to);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }
    }

    private void workerLoop(int id) {
        while (true) {
            start.arriveAndAwaitAdvance();
            if (closed) {
                return;
            }
            runChunk(id);
            done.arriveAndAwaitAdvance();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (workers.length > 0) {
            start.arriveAndDeregister();
        }
    }
}
