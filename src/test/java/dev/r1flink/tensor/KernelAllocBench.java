package dev.r1flink.tensor;

import java.lang.management.ManagementFactory;
import java.util.Random;

/**
 * Bytes allocated and time per call of each Vector API kernel after warm-up (best of 5 windows of 2000 calls, one
 * thread, ThreadMXBean). A kernel that allocates here boxes its vectors (a C2 intrinsic not applied, or a vector
 * crossing a call C2 did not inline): see docs/benchmarks.md. Not a test: timings need a quiet machine, and which
 * kernels run first changes what C2 inlines, so pass a name to measure one kernel alone.
 *
 * <pre>
 * mvn -q -o test-compile
 * java --add-modules jdk.incubator.vector -XX:ObjectAlignmentInBytes=64 -cp target/classes:target/test-classes \
 *     dev.r1flink.tensor.KernelAllocBench [dot|dotF16|axpyF16|axpy|siluMul|softmax|add|rmsnorm|max|mm|F32|Q8_0|...]
 * </pre>
 */
public final class KernelAllocBench {

    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final long ME = Thread.currentThread().getId();
    static float sink;

    private KernelAllocBench() {
    }

    private static void measure(String name, Runnable r) {
        for (int i = 0; i < 20000; i++) {
            r.run();
        }
        long bytes = Long.MAX_VALUE;
        long nanos = Long.MAX_VALUE;
        for (int w = 0; w < 5; w++) {
            long b0 = MX.getThreadAllocatedBytes(ME);
            long t0 = System.nanoTime();
            for (int i = 0; i < 2000; i++) {
                r.run();
            }
            nanos = Math.min(nanos, System.nanoTime() - t0);
            bytes = Math.min(bytes, MX.getThreadAllocatedBytes(ME) - b0);
        }
        System.out.printf("%-12s %10.1f bytes/call %9.0f ns/call%n", name, bytes / 2000.0, nanos / 2000.0);
    }

    public static void main(String[] args) {
        String only = args.length > 0 ? args[0] : "";
        int n = 512;
        float[] x = new float[n], y = new float[n], z = new float[n];
        short[] h = new short[n];
        Random r = new Random(1);
        for (int i = 0; i < n; i++) {
            x[i] = r.nextFloat() - .5f;
            y[i] = r.nextFloat();
            h[i] = Float16.floatToHalf(r.nextFloat());
        }
        if (only.isEmpty() || only.equals("dot")) {
            measure("dot", () -> sink += VectorOps.dot(x, 0, y, 0, n));
        }
        if (only.isEmpty() || only.equals("dotF16")) {
            measure("dotF16", () -> sink += VectorOps.dotF16(h, 0, y, 0, 64));
        }
        if (only.isEmpty() || only.equals("axpyF16")) {
            measure("axpyF16", () -> VectorOps.axpyF16(0.5f, h, 0, z, 0, 64));
        }
        if (only.isEmpty() || only.equals("axpy")) {
            measure("axpy", () -> VectorOps.axpy(0.5f, x, 0, z, 0, n));
        }
        if (only.isEmpty() || only.equals("siluMul")) {
            measure("siluMul", () -> {
                System.arraycopy(x, 0, z, 0, n);
                VectorOps.siluMul(z, 0, y, 0, n);
            });
        }
        if (only.isEmpty() || only.equals("softmax")) {
            measure("softmax", () -> {
                System.arraycopy(x, 0, z, 0, n);
                sink += VectorOps.softmaxExp(z, 0, z, 0, n);
            });
        }
        if (only.isEmpty() || only.equals("add")) {
            measure("add", () -> VectorOps.add(z, 0, x, 0, n));
        }
        if (only.isEmpty() || only.equals("rmsnorm")) {
            measure("rmsnorm", () -> VectorOps.rmsnorm(z, 0, x, 0, y, n, 1e-6f));
        }
        if (only.isEmpty() || only.equals("max")) {
            measure("max", () -> sink += VectorOps.max(x, 0, n));
        }
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K}) {
            if (!(only.isEmpty() || only.equals(t.name()) || only.equals("mm"))) {
                continue;
            }
            int rows = 256, cols = 512; // [rows][cols] weights, batches of 1, 3 and 8 vectors
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                w[i] = r.nextFloat() - .5f;
            }
            FloatTensor ft = FloatTensor.of(t, rows, cols, Quantizer.quantize(t, w, rows, cols), 0);
            float[] xs = new float[8 * cols];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = r.nextFloat();
            }
            float[] out = new float[8 * rows];
            for (int b : new int[] {1, 3, 8}) {
                measure(t + " B=" + b, () -> ft.matmul(xs, cols, b, out, rows, 0, rows));
            }
            measure(t + " dot", () -> sink += ft.dot(3, xs, 0));
        }
    }
}
