package dev.r1flink.engine.sampling;

/**
 * A counter-based random generator: the draw for (seed, step) is a pure hash of the pair (SplitMix64 finalizer
 * applied twice), not the next state of a stream. A request's draws therefore depend only on its own seed and its
 * own token index, never on timing, batch neighbours, or preemption and recompute.
 */
public final class CounterRng {
    private CounterRng() {
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** 64 random bits for (seed, step). */
    public static long bits(long seed, long step) {
        return mix(mix(seed + 0x9E3779B97F4A7C15L) ^ (step * 0xD1B54A32D192ED03L + 0x632BE59BD9B4E019L));
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public static double uniform(long seed, long step) {
        return (bits(seed, step) >>> 11) * 0x1.0p-53;
    }
}
