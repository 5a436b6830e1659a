package dev.r1flink.tensor;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tests of the native backend need the library: CI builds it (gcc is there), so under {@code CI=true} a missing
 * library is a failure; elsewhere (a machine without gcc) those tests are skipped with the reason.
 */
public final class NativeTestSupport {

    private NativeTestSupport() {
    }

    public static void requireNative() {
        if (NativeKernels.available() && NativeKernels.bestIsa() >= NativeKernels.AVX2) {
            return;
        }
        String why = NativeKernels.available() ? "this CPU has no AVX2" : NativeKernels.unavailableReason();
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("native kernels unavailable on CI: " + why);
        }
        assumeTrue(false, "native kernels unavailable (" + why + "); skipping");
    }

    /** The backends to run a backend-parametrized test on: Java always, native where it loads (CI: must). */
    public static java.util.stream.Stream<Backend> backends() {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        boolean nativeOk = NativeKernels.available() && NativeKernels.bestIsa() >= NativeKernels.AVX2;
        if (!nativeOk && ci) {
            fail("native kernels unavailable on CI: " + NativeKernels.unavailableReason());
        }
        return nativeOk ? java.util.stream.Stream.of(Backend.JAVA, Backend.NATIVE)
                : java.util.stream.Stream.of(Backend.JAVA);
    }
}
