package dev.r1flink.engine;

import java.util.List;
import java.util.Objects;

/**
 * One prompt to run. Sampling fields left {@code null} take the engine's defaults ({@link EngineOptions}).
 *
 * <pre>{@code
 * GenerationRequest req = GenerationRequest.builder("evt-42", "What is 17 * 23?")
 *         .maxTokens(512).maxReasoningTokens(256).seed(7L).build();
 * }</pre>
 *
 * @param id                 caller's id, echoed in the result
 * @param prompt             user text; wrapped in the R1 chat template unless {@code raw}
 * @param system             optional system prompt (chat template only)
 * @param raw                tokenize {@code prompt} as is (special tokens parsed, BOS as the model says)
 * @param maxTokens          cap on generated tokens (reasoning + answer)
 * @param maxReasoningTokens thinking budget; when reached {@code \n</think>\n\n} is injected; null = unlimited
 * @param temperature        0 = greedy
 * @param seed               drives a counter-based generator keyed by (seed, step); same seed, same tokens
 * @param resumeFrom         continue from this earlier progress of the same request instead of its first token
 *                           ({@link GenerationProgress}); null = from the start
 */
public record GenerationRequest(
        String id,
        String prompt,
        String system,
        boolean raw,
        Integer maxTokens,
        Integer maxReasoningTokens,
        Float temperature,
        Float topP,
        Integer topK,
        Float minP,
        Float repetitionPenalty,
        Float presencePenalty,
        Float frequencyPenalty,
        Long seed,
        List<String> stop,
        GenerationProgress resumeFrom) {

    public GenerationRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(prompt, "prompt");
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    public static Builder builder(String id, String prompt) {
        return new Builder(id, prompt);
    }

    /** This request, continued from {@code progress} (null: from the start). */
    public GenerationRequest withResumeFrom(GenerationProgress progress) {
        return new GenerationRequest(id, prompt, system, raw, maxTokens, maxReasoningTokens, temperature, topP, topK,
                minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed, stop, progress);
    }

    /** Builder; {@link #build()} validates ranges with messages naming the field. */
    public static final class Builder {
        private final String id;
        private final String prompt;
        private String system;
        private boolean raw;
        private Integer maxTokens;
        private Integer maxReasoningTokens;
        private Float temperature;
        private Float topP;
        private Integer topK;
        private Float minP;
        private Float repetitionPenalty;
        private Float presencePenalty;
        private Float frequencyPenalty;
        private Long seed;
        private List<String> stop = List.of();
        private GenerationProgress resumeFrom;

        private Builder(String id, String prompt) {
            this.id = id;
            this.prompt = prompt;
        }

        public Builder system(String v) { this.system = v; return this; }
        public Builder raw(boolean v) { this.raw = v; return this; }
        public Builder maxTokens(Integer v) { this.maxTokens = v; return this; }
        public Builder maxReasoningTokens(Integer v) { this.maxReasoningTokens = v; return this; }
        public Builder temperature(Float v) { this.temperature = v; return this; }
        public Builder topP(Float v) { this.topP = v; return this; }
        public Builder topK(Integer v) { this.topK = v; return this; }
        public Builder minP(Float v) { this.minP = v; return this; }
        public Builder repetitionPenalty(Float v) { this.repetitionPenalty = v; return this; }
        public Builder presencePenalty(Float v) { this.presencePenalty = v; return this; }
        public Builder frequencyPenalty(Float v) { this.frequencyPenalty = v; return this; }
        public Builder seed(Long v) { this.seed = v; return this; }
        public Builder stop(List<String> v) { this.stop = v; return this; }
        public Builder resumeFrom(GenerationProgress v) { this.resumeFrom = v; return this; }

        public GenerationRequest build() {
            if (id == null || id.isEmpty()) throw new IllegalArgumentException("id must not be empty");
            if (prompt == null) throw new IllegalArgumentException("prompt must not be null");
            if (maxTokens != null && maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
            if (maxReasoningTokens != null && maxReasoningTokens < 0) throw new IllegalArgumentException("maxReasoningTokens must be >= 0, got " + maxReasoningTokens);
            if (temperature != null && !(temperature >= 0f && temperature <= 100f)) throw new IllegalArgumentException("temperature must be in [0, 100], got " + temperature);
            if (topP != null && !(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
            if (topK != null && topK < 0) throw new IllegalArgumentException("topK must be >= 0, got " + topK);
            if (minP != null && !(minP >= 0f && minP <= 1f)) throw new IllegalArgumentException("minP must be in [0, 1], got " + minP);
            if (repetitionPenalty != null && !(repetitionPenalty > 0f && repetitionPenalty <= 10f)) throw new IllegalArgumentException("repetitionPenalty must be in (0, 10], got " + repetitionPenalty);
            if (presencePenalty != null && !(Math.abs(presencePenalty) <= 10f)) throw new IllegalArgumentException("presencePenalty must be in [-10, 10], got " + presencePenalty);
            if (frequencyPenalty != null && !(Math.abs(frequencyPenalty) <= 10f)) throw new IllegalArgumentException("frequencyPenalty must be in [-10, 10], got " + frequencyPenalty);
            return new GenerationRequest(id, prompt, system, raw, maxTokens, maxReasoningTokens, temperature, topP,
                    topK, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed, stop, resumeFrom);
        }
    }
}
