package dev.r1flink.tensor;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The ceiling of every float kernel: 16 independent chains of {@code FloatVector.fma} on registers only (no memory
 * traffic, no decode), so the score is the most float multiply-adds the Vector API gets out of one core.
 * Score unit: FLOP/s (one FMA lane = 2 FLOP). Run with {@code -t 2} for both cores of the 2-core machine.
 * Compared with llama.cpp's prefill rate in model FLOP/s (docs/benchmarks.md, "Ceilings") it bounds what any
 * float-FMA prefill kernel in Java can reach against llama.cpp's int8 dot products.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class FmaPeakBenchmark {

    static final int ITERS = 1 << 20;
    static final int CHAINS = 16;

    private final float[] seed = {0.999f, 1.0001f};

    @Benchmark
    @OperationsPerInvocation(ITERS * CHAINS * 2 * 16) // FLOP with 16-lane (512-bit) vectors; scale by L/16 elsewhere
    public float fma16() {
        var sp = Simd.F;
        FloatVector x = FloatVector.broadcast(sp, seed[0]);
        FloatVector y = FloatVector.broadcast(sp, seed[1]);
        FloatVector c0 = x, c1 = y, c2 = x, c3 = y, c4 = x, c5 = y, c6 = x, c7 = y;
        FloatVector c8 = x, c9 = y, c10 = x, c11 = y, c12 = x, c13 = y, c14 = x, c15 = y;
        for (int i = 0; i < ITERS; i++) {
            c0 = c0.fma(x, y); c1 = c1.fma(x, y); c2 = c2.fma(x, y); c3 = c3.fma(x, y);
            c4 = c4.fma(x, y); c5 = c5.fma(x, y); c6 = c6.fma(x, y); c7 = c7.fma(x, y);
            c8 = c8.fma(x, y); c9 = c9.fma(x, y); c10 = c10.fma(x, y); c11 = c11.fma(x, y);
            c12 = c12.fma(x, y); c13 = c13.fma(x, y); c14 = c14.fma(x, y); c15 = c15.fma(x, y);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .add(c12).add(c13).add(c14).add(c15).reduceLanes(VectorOperators.ADD);
    }
}
