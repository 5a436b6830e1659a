package dev.r1flink.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {

    @Test
    void everyIndexExactlyOnce() {
        for (int threads = 1; threads <= 4; threads++) {
            try (Parallel p = new Parallel(threads)) {
                for (int n : new int[] {0, 1, 3, 4, 7, 64, 1001}) {
                    for (int granularity : new int[] {1, 4, 16}) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(n);
                        p.forRange(n, granularity, (from, to) -> {
                            for (int i = from; i < to; i++) {
                                hits.incrementAndGet(i);
                            }
                        });
                        for (int i = 0; i < n; i++) {
                            assertEquals(1, hits.get(i), "threads=" + threads + " n=" + n + " g=" + granularity
                                    + " index " + i);
                        }
                    }
                }
            }
        }
    }

    @Test
    void workerFailureReachesCaller() {
        try (Parallel p = new Parallel(2)) {
            assertThrows(RuntimeException.class, () -> p.forRange(100, (from, to) -> {
                if (from > 0) {
                    throw new IllegalStateException("boom");
                }
            }));
            // Still usable afterwards.
            AtomicIntegerArray hits = new AtomicIntegerArray(10);
            p.forRange(10, (from, to) -> {
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            });
            for (int i = 0; i < 10; i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }
}
