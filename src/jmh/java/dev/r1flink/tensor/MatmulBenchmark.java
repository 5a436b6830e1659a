package dev.r1flink.tensor;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One FFN up-projection of R1-Distill-Qwen-1.5B, {@code [8960 x 1536]}, times {@code batch} activation vectors,
 * split over {@code threads} worker threads with {@link Parallel} as the forward pass does. The benchmark cycles
 * through {@link #COPIES} copies of the weights (~80 MB in Q8_0, more than the L3 cache), so weights come from DRAM
 * as in real decoding. Weight GB/s = bytes of one tensor / time per op; implied tokens/s for the whole 1.5B model
 * = GB/s / (GB of weights read per token) x batch (see docs/benchmarks.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:ObjectAlignmentInBytes=64",
        "-Xmx4g"})
public class MatmulBenchmark {

    static final int ROWS = 8960;
    static final int COLS = 1536;
    static final int COPIES = 6;

    @Param({"Q8_0", "Q4_0"})
    public String type;

    @Param({"1", "4", "16"})
    public int batch;

    @Param({"2"})
    public int threads;

    /**
     * Kernel variant, for A/B runs in the same conditions: {@code auto} (the default dispatch), {@code tiled} (no
     * fused kernels, {@code -Dr1.tensor.fusedBelow=0}), {@code adjacent} (tiled, 4 adjacent rows per tile instead of
     * 4 rows a quarter of the range apart), {@code scalar} (scalar twins, {@code -Dr1.tensor.scalar}).
     * Each parameter combination runs in its own forked JVM, so setting the property before the tensor classes load
     * takes effect.
     */
    @Param({"auto"})
    public String kernel;

    private FloatTensor[] weights;
    private float[] x;
    private float[] out;
    private Parallel parallel;
    private int next;

    @Setup(Level.Trial)
    public void setup() {
        switch (kernel) {
            case "auto" -> { }
            case "tiled" -> System.setProperty("r1.tensor.fusedBelow", "0");
            case "adjacent" -> {
                System.setProperty("r1.tensor.fusedBelow", "0");
                System.setProperty("r1.tensor.adjacentRows", "true");
            }
            case "scalar" -> System.setProperty("r1.tensor.scalar", "true");
            default -> throw new IllegalArgumentException("kernel " + kernel);
        }
        GgmlType t = GgmlType.valueOf(type);
        Random rnd = new Random(1);
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        byte[] q = Quantizer.quantize(t, w, ROWS, COLS);
        weights = new FloatTensor[COPIES];
        for (int i = 0; i < COPIES; i++) {
            weights[i] = FloatTensor.of(t, ROWS, COLS, q.clone(), 0);
        }
        x = new float[batch * xStride()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        out = new float[batch * ROWS];
        parallel = new Parallel(threads);
    }

    /** Activation rows padded by 16 floats, as the notes recommend against cache-line straddling. */
    static int xStride() {
        return COLS + 16;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        parallel.close();
    }

    @Benchmark
    public float[] matmul() {
        FloatTensor w = weights[next];
        next = (next + 1) % COPIES;
        int b = batch;
        parallel.forRange(ROWS, 16, (from, to) -> w.matmul(x, xStride(), b, out, ROWS, from, to));
        return out;
    }
}
