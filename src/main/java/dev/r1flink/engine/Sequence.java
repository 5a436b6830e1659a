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
    final long fingerprint;        // GenerationProgress.fingerprint of this request as resolved
    final long seed;               // the sampler's seed
    final GenerationProgress resume; // accepted progress to replay at submit, or null
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
    int resumedTokens;             // tokens replayed from {@link #resume} instead of sampled
    int take;                      // rows planned for the current step (scheduler scratch)
    int reusedPrefix;              // positions taken from the prefix cache at the latest admission
    long firstScheduledNanos;
    long firstTokenNanos;
    volatile boolean cancelled;
    // Sampled tokens, published for progress() on other threads: the array before the count, read count first.
    private volatile int[] sampled;
    private volatile int sampledCount;

    Sequence(long arrival, GenerationRequest request, int[] prompt, int maxTokens, SamplerChain sampler,
             OutputText text, boolean startsInReasoning, Runnable wakeUp, long fingerprint, long seed,
             GenerationProgress resume) {
        this.arrival = arrival;
        this.fingerprint = fingerprint;
        this.seed = seed;
        this.resume = resume;
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
        int room = Math.min(maxTokens, Math.max(256, resume == null ? 0 : resume.step() + 64)) + 8;
        this.tokens = Arrays.copyOf(prompt, prompt.length + room);
        this.sampled = new int[Math.min(maxTokens, room)];
        this.length = prompt.length;
        this.submitNanos = System.nanoTime();
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2); // amortized: log2(maxTokens) times per request
        }
        tokens[length++] = token;
    }

    /** Records a sampled (or replayed) token for {@link #progress()}; engine thread only. */
    void recordSampled(int token) {
        int n = sampledCount;
        int[] a = sampled;
        if (n == a.length) {
            a = Arrays.copyOf(a, Math.max(16, n * 2));
            sampled = a;
        }
        a[n] = token;
        sampledCount = n + 1;
    }

    @Override
    public GenerationProgress progress() {
        int n = sampledCount;
        return new GenerationProgress(fingerprint, seed, Arrays.copyOf(sampled, n));
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
