package dev.r1flink.engine.sampling;

/**
 * One link of a sampling chain, as in llama.cpp's sampler chain: {@link #apply} transforms the candidates of one
 * step, {@link #accept} tells the sampler which token was finally chosen (penalties remember it, the seeded
 * generator advances its counter). A sampler belongs to one sequence.
 */
public interface Sampler {

    /** Transforms {@code c} in place: rescale, reorder, cut, or (final samplers) choose. */
    void apply(Candidates c);

    /** The token chosen at this step; called once per generated token, after the chain ran. */
    default void accept(int token) {
    }
}
