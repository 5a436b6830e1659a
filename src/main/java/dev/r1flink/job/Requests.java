package dev.r1flink.job;

import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.job.avro.GenerationParams;
import dev.r1flink.job.avro.PromptEvent;

/** PromptEvent + job defaults -> engine request. Deterministic, so validation and inference build the same one. */
public final class Requests {

    private Requests() {
    }

    /** @throws IllegalArgumentException naming the parameter that is out of range */
    public static GenerationRequest toRequest(PromptEvent e, JobSettings s) {
        GenerationParams p = e.getParams();
        Integer maxTokens = p == null || p.getMaxTokens() == null ? s.maxTokens : p.getMaxTokens();
        if (maxTokens != null && maxTokens > s.maxTokensLimit) {
            throw new IllegalArgumentException("maxTokens " + maxTokens + " is over this job's limit "
                    + s.maxTokensLimit + " (generation.max-tokens-limit)");
        }
        return GenerationRequest.builder(e.getId(), e.getPrompt())
                .system(e.getSystem() != null ? e.getSystem() : s.systemPrompt)
                .maxTokens(maxTokens)
                .maxReasoningTokens(p == null || p.getMaxReasoningTokens() == null ? s.maxReasoningTokens : p.getMaxReasoningTokens())
                .temperature(p == null || p.getTemperature() == null ? s.temperature : p.getTemperature())
                .topP(p == null || p.getTopP() == null ? s.topP : p.getTopP())
                .seed(seed(e, s))
                .build();
    }

    /** The event's seed, else the job's {@code generation.seed}, else a hash of the event id. */
    public static long seed(PromptEvent e, JobSettings s) {
        GenerationParams p = e.getParams();
        if (p != null && p.getSeed() != null) return p.getSeed();
        return s.seed != null ? s.seed : Seeds.ofEventId(e.getId());
    }
}
