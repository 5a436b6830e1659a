package dev.r1flink.tensor;

import java.lang.management.ManagementFactory;
import java.util.Random;

/**
 * One weight product on each backend, side by side in one JVM: {@code [rows][cols]} weights of one type times
 * {@code B} activation rows, single thread, best of N calls in thread CPU time (so other load on the machine
 * inflates the figures less), with the bytes allocated per call once compiled. Not a test.
 *
 * <pre>
 * mvn -q -o test-compile
 * java --add-modules jdk.incubator.vector -XX:ObjectAlignmentInBytes=64 -Diters=30 \
 *     -cp target/classes:target/test-classes dev.r1flink.tensor.BackendKernelBench Q4_K 8960 1536 1,16,128
 * </pre>
 *
 * {@code -Dcopies=N} cycles through N copies of the weights (past the L3 they stream from memory, as in decode).
 */
public final class BackendKernelBench {

    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private BackendKernelBench() {
    }

    public static void main(String[] a) {
        GgmlType t = GgmlType.valueOf(a[0]);
        int rows = Integer.parseInt(a[1]), cols = Integer.parseInt(a[2]);
        Random rnd = new Random(1);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        byte[] q = Quantizer.quantize(t, w, rows, cols);
        /* -Dcopies=N: cycle through N copies of the weights, so that N x their size past the L3 measures them
         * streamed from memory, as a decode step reads a model */
        FloatTensor[] fts = new FloatTensor[Integer.getInteger("copies", 1)];
        for (int i = 0; i < fts.length; i++) {
            fts[i] = FloatTensor.of(t, rows, cols, q.clone(), 0);
        }
        FloatTensor ft = fts[0];
        for (String bs : a[3].split(",")) {
            int batch = Integer.parseInt(bs);
            float[] x = new float[batch * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] out = new float[batch * rows];
            for (Backend be : Backend.values()) {
                if (be == Backend.NATIVE && !NativeKernels.available()) {
                    continue;
                }
                MatmulInput in = new MatmulInput(be);
                int iters = Integer.getInteger("iters", batch > 64 ? 4 : 20);
                long best = Long.MAX_VALUE, total = 0;
                long a0 = MX.getCurrentThreadAllocatedBytes();
                for (int it = 0; it < iters; it++) {
                    if (it == iters / 2) {
                        a0 = MX.getCurrentThreadAllocatedBytes();
                    }
                    long t0 = MX.getCurrentThreadCpuTime();
                    FloatTensor f = fts[it % fts.length];
                    in.prepare(x, batch, cols, f, null, null);
                    in.multiply(f, out, rows, 0, rows);
                    long dt = MX.getCurrentThreadCpuTime() - t0;
                    best = Math.min(best, dt);
                    if (it >= iters / 2) {
                        total += dt;
                    }
                }
                long alloc = MX.getCurrentThreadAllocatedBytes() - a0;
                System.out.printf("%s [%d][%d] B=%d %s: %.2f ms (mean of the second half %.2f), %.1f GMAC/s, %.1f GB/s of weights, %.0f bytes/call%n",
                        t, rows, cols, batch, be.describe(), best / 1e6, total / 1e6 / (iters - iters / 2), (double) rows * cols * batch / best,
                        (double) ft.data().length / best, (double) alloc / (iters - iters / 2));
            }
        }
    }
}
