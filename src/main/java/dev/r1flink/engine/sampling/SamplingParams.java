package dev.r1flink.engine.sampling;

/**
 * Resolved sampling settings of one request (no nulls).
 *
 * @param temperature 0 = greedy
 * @param topK        0 = off
 * @param topP        1 = off
 * @param minP        0 = off
 * @param penaltyLastN how many of the latest generated tokens the penalties look at
 */
public record SamplingParams(float temperature, int topK, float topP, float minP, float repetitionPenalty,
                             float frequencyPenalty, float presencePenalty, int penaltyLastN, long seed) {

    /** DeepSeek's recommendation for R1 and its distills: temperature 0.6, top-p 0.95. */
    public static final SamplingParams R1_DEFAULTS = new SamplingParams(0.6f, 0, 0.95f, 0f, 1f, 0f, 0f, 64, 0L);

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, 64, 0L);

    public SamplingParams {
        if (!(temperature >= 0f)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        if (!(minP >= 0f && minP <= 1f)) throw new IllegalArgumentException("minP must be in [0, 1], got " + minP);
        if (!(repetitionPenalty > 0f)) throw new IllegalArgumentException("repetitionPenalty must be > 0, got " + repetitionPenalty);
        if (penaltyLastN < 1) throw new IllegalArgumentException("penaltyLastN must be >= 1, got " + penaltyLastN);
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty,
                penaltyLastN, s);
    }
}
