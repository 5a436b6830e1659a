package dev.r1flink.job;

import dev.r1flink.job.avro.PromptEvent;

/** A prompt that passed validation, on its way to the inference operator. (Flink POJO.) */
public class ValidPrompt {
    public PromptEvent event;
    /** Prompt tokens, as counted by the model's tokenizer during validation. */
    public int promptTokens;

    public ValidPrompt() {
    }

    public ValidPrompt(PromptEvent event, int promptTokens) {
        this.event = event;
        this.promptTokens = promptTokens;
    }
}
