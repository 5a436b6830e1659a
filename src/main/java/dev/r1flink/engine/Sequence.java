package dev.r1flink.engine;

import dev.r1flink.engine.sampling.SamplerChain;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * One request in the engine: its tokens so far (prompt, then generated and injected ones), how many of them have
 * K/V in the cache, its sampler chain, text and counters. Owned by the scheduler thread except {@link #cancelled}.
 */
final class Sequence implements Generation {
    final long arrival;            // submit order: the scheduler serves oldest first and preempts newest first
    final GenerationRequest request;
    final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
    final SamplerChain sampler;
    final OutputText text;
    final int promptLength;
    final int maxTokens;
    final Integer maxReasoningTokens;
    final long submitNanos;
    private final Runnable wakeUp;

    int seqId = -1;                // index into the KV cells' tables while running; -1 while waiting
    int[] tokens;                  // [capacity] prompt + generated + injected
    int length;                    // tokens in use
    int computed;                  // leading tokens whose K/V are in the cache
    int generated;                 // sampled tokens (the sampler's step)
    int reasoningTokens;
    int answerTokens;
    boolean inReasoning;
    boolean budgetInjected;
    int preemptions;
    int take;                      // rows planned for the current step (scheduler scratch)
    int reusedPrefix;              // positions taken from the prefix cache at the latest admission
    long firstScheduledNanos;
    long firstTokenNanos;
    volatile boolean cancelled;

    Sequence(long arrival, GenerationRequest request, int[] prompt, int maxTokens, SamplerChain sampler,
             OutputText text, boolean startsInReasoning, Runnable wakeUp) {
        this.arrival = arrival;
        this.request = request;
        this.promptLength = prompt.length;
        this.maxTokens = maxTokens;
        this.maxReasoningTokens = request.maxReasoningTokens();
        this.sampler = sampler;
        this.text = text;
        this.inReasoning = startsInReasoning;
        if (!startsInReasoning) {
            text.switchToAnswer();
        }
        this.wakeUp = wakeUp;
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(maxTokens, 256) + 8);
        this.length = prompt.length;
        this.submitNanos = System.nanoTime();
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2); // amortized: log2(maxTokens) times per request
        }
        tokens[length++] = token;
    }

    /** Tokens still to feed to the model before it can sample again. */
    int pending() {
        return length - computed;
    }

    boolean running() {
        return seqId >= 0;
    }

    @Override
    public String id() {
        return request.id();
    }

    @Override
    public CompletableFuture<GenerationResult> result() {
        return result;
    }

    @Override
    public void cancel() {
        if (!cancelled && !result.isDone()) {
            cancelled = true;
            wakeUp.run();
        }
    }

    @Override
    public String toString() {
        return "Sequence[" + request.id() + ", seqId " + seqId + ", " + computed + "/" + length + " computed]";
    }
}
