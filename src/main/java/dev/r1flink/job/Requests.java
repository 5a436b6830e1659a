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
                .system(e.getSystem())
                .maxTokens(maxTokens)
                .maxReasoningTokens(p == null || p.getMaxReasoningTokens() == null ? s.maxReasoningTokens : p.getMaxReasoningTokens())
                .temperature(p == null || p.getTemperature() == null ? s.temperature : p.getTemperature())
                .topP(p == null || p.getTopP() == null ? s.topP : p.getTopP())
                .seed(p == null || p.getSeed() == null ? Seeds.ofEventId(e.getId()) : p.getSeed())
                .build();
    }
}
