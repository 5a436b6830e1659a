package dev.r1flink.tensor;

import java.util.Locale;

/**
 * Which kernels run the weight products: the native int8 kernels ({@link NativeKernels}) or the Java Vector API
 * kernels of {@link FloatTensor} (the portable backend, and the reference the native one is tested against).
 *
 * <pre>{@code
 * Backend b = Backend.resolve("auto");      // native where the library loads and the CPU has AVX2, else Java
 * State s = model.newState(64, b);
 * System.out.println(b.describe());         // "native (avx512-vnni)"
 * }</pre>
 *
 * <p>Settings: {@code auto} (default), {@code native} (fails with the reason when it cannot load), {@code java}.
 * The process default comes from {@code -Dr1.tensor.backend}; engines take theirs from their options (which
 * default to the process default). F32, F16 and BF16 weights always run on the Java kernels.
 */
public enum Backend {
    JAVA,
    NATIVE;

    /** The system property giving the process default. */
    public static final String PROPERTY = "r1.tensor.backend";

    private static volatile Backend processDefault;

    /** {@code auto}, {@code native} or {@code java} (case-insensitive). */
    public static Backend resolve(String setting) {
        String s = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "auto", "" -> nativeUsable() ? NATIVE : JAVA;
            case "java" -> JAVA;
            case "native" -> {
                if (!NativeKernels.available()) {
                    throw new IllegalStateException("backend 'native' requested, but the native kernels did not load: "
                            + NativeKernels.unavailableReason() + " (use 'auto' or 'java')");
                }
                if (NativeKernels.bestIsa() < NativeKernels.AVX2) {
                    throw new IllegalStateException("backend 'native' requested, but this CPU lacks AVX2/FMA/F16C"
                            + " (use 'auto' or 'java')");
                }
                yield NATIVE;
            }
            default -> throw new IllegalArgumentException("backend must be auto, native or java, got '" + setting + "'");
        };
    }

    /** The backend of {@code -Dr1.tensor.backend} (default {@code auto}), resolved once per class loader. */
    public static Backend processDefault() {
        Backend b = processDefault;
        if (b == null) {
            b = resolve(System.getProperty(PROPERTY, "auto"));
            processDefault = b;
        }
        return b;
    }

    /** Native needs a SIMD variant: the scalar C reference is for tests, slower than the Java kernels. */
    private static boolean nativeUsable() {
        return NativeKernels.available() && NativeKernels.bestIsa() >= NativeKernels.AVX2;
    }

    /** The kernel variant this backend runs, e.g. {@code native (avx512-vnni)} or {@code java (Vector API, 16 floats)}. */
    public String describe() {
        return this == NATIVE
                ? "native (" + NativeKernels.isaName(NativeKernels.bestIsa()) + ")"
                : Simd.ENABLED ? "java (Vector API, " + Simd.L + " floats)" : "java (scalar)";
    }
}
