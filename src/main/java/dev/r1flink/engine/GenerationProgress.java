package dev.r1flink.engine;

import dev.r1flink.engine.sampling.SamplingParams;

import java.util.Arrays;
import java.util.List;

/**
 * How far a generation got, enough to continue it exactly: the tokens it sampled, in order (end-of-sequence
 * included when it ended so; tokens the engine injected, such as the thinking budget's {@code </think>}, are not
 * listed: they follow from the sampled ones), the seed its sampler drew with, and a fingerprint of everything that
 * decides its tokens (prompt tokens, sampling settings, limits, stop strings).
 *
 * <pre>{@code
 * GenerationProgress p = generation.progress();                 // any time, from any thread
 * // ... the process dies; p was saved ...
 * engine.submit(GenerationRequest.builder(id, prompt).seed(7L).resumeFrom(p).build(), listener);
 * }</pre>
 *
 * <p>A continued request replays these tokens through the same bookkeeping as sampled ones (text, reasoning split,
 * thinking budget, stop strings, the sampler's penalty window and step), prefills prompt plus generated tokens like
 * any prompt (in chunks, reusing cached prefix blocks), and samples on from step {@link #step()}. Decoding is seeded
 * by (seed, step) and batch-invariant, so the result equals the uninterrupted run's bit for bit, and the listener
 * sees the same calls (the replayed text is streamed again). A progress whose fingerprint does not match the
 * request, or that is not a possible history of it, is ignored: the request then runs from its first token.
 *
 * @param fingerprint identity of the request as the engine resolved it ({@link #fingerprint(int[], SamplingParams,
 *                    int, Integer, List, boolean)})
 * @param seed        the sampler's seed (the request's, or the one the engine drew when it set none)
 * @param tokens      sampled tokens so far; {@code tokens.length} is the sampling step to continue at
 */
public record GenerationProgress(long fingerprint, long seed, int[] tokens) {

    public GenerationProgress {
        tokens = tokens.clone();
    }

    /** The sampler's step at which a continuation goes on: the number of tokens sampled so far. */
    public int step() {
        return tokens.length;
    }

    /** The first {@code k} tokens of this progress (an earlier point of the same generation). */
    public GenerationProgress truncate(int k) {
        if (k < 0 || k > tokens.length) {
            throw new IllegalArgumentException("k must be in [0, " + tokens.length + "], got " + k);
        }
        return new GenerationProgress(fingerprint, seed, Arrays.copyOf(tokens, k));
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    int token(int i) {
        return tokens[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationProgress p && p.fingerprint == fingerprint && p.seed == seed
                && Arrays.equals(p.tokens, tokens);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(fingerprint) * 31 + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "GenerationProgress[step " + tokens.length + ", fingerprint " + Long.toHexString(fingerprint) + "]";
    }

    /**
     * A 64-bit hash of what decides a request's tokens. Spelled out field by field (not {@code Objects.hash} or a
     * record's hashCode, whose algorithm may change between JDKs) so a progress saved by one JVM is recognised by
     * another.
     */
    static long fingerprint(int[] prompt, SamplingParams p, int maxTokens, Integer maxReasoningTokens,
                            List<String> stop, boolean thinkPrefix) {
        long h = 0x5DEECE66DL;
        h = mix(h, prompt.length);
        for (int t : prompt) h = mix(h, t);
        h = mix(h, Float.floatToIntBits(p.temperature()));
        h = mix(h, p.topK());
        h = mix(h, Float.floatToIntBits(p.topP()));
        h = mix(h, Float.floatToIntBits(p.minP()));
        h = mix(h, Float.floatToIntBits(p.repetitionPenalty()));
        h = mix(h, Float.floatToIntBits(p.frequencyPenalty()));
        h = mix(h, Float.floatToIntBits(p.presencePenalty()));
        h = mix(h, p.penaltyLastN());
        h = mix(h, p.seed());
        h = mix(h, maxTokens);
        h = mix(h, maxReasoningTokens == null ? -1 : maxReasoningTokens);
        h = mix(h, stop.size());
        for (String s : stop) {
            h = mix(h, s.length());
            for (int i = 0; i < s.length(); i++) h = mix(h, s.charAt(i));
        }
        return mix(h, thinkPrefix ? 1 : 0);
    }

    private static long mix(long h, long v) {
        long z = h * 0x9E3779B97F4A7C15L + v;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
