package dev.r1flink.engine;

import dev.r1flink.engine.sampling.SamplerChain;
import dev.r1flink.engine.sampling.SamplingParams;
import dev.r1flink.tensor.Parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link Engine}: one engine thread runs the {@link Scheduler} loop; callers only enqueue. When idle the thread
 * blocks; when a request arrives at an idle engine it waits at most {@code maxWait} for companions (or until
 * {@code maxSequences} are queued) so a burst starts as one batch; under load it never waits.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open(model, codec, EngineOptions.builder().threads(2).build())) {
 *     Generation g = engine.submit(GenerationRequest.builder("q1", "What is 2+2?").build(), StreamListener.NONE);
 *     System.out.println(g.result().join().answer());
 * }
 * }</pre>
 */
public final class BatchingEngine implements Engine {
    private final ForwardModel model;
    private final TokenCodec codec;
    private final EngineOptions options;
    private final Parallel parallel;
    private final Scheduler scheduler;
    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>(); // Sequence or WAKE
    private static final Object WAKE = new Object(); // a cancel or close: look at the state now
    private final AtomicLong arrivals = new AtomicLong();
    private final Object submitLock = new Object();
    private final Thread thread;
    private final AutoCloseable onClose;
    private volatile boolean closed;

    public BatchingEngine(ForwardModel model, TokenCodec codec, EngineOptions options) {
        this(model, codec, options, null);
    }

    /** {@code onClose} (e.g. the loaded model file) is closed after the engine thread stopped. */
    public BatchingEngine(ForwardModel model, TokenCodec codec, EngineOptions options, AutoCloseable onClose) {
        this.model = model;
        this.codec = codec;
        this.options = options;
        this.onClose = onClose;
        this.parallel = new Parallel(options.threads());
        this.scheduler = new Scheduler(model, codec, options, parallel);
        System.getLogger(BatchingEngine.class.getName()).log(System.Logger.Level.INFO,
                "engine: " + options.threads() + " threads, weight products on " + model.kernels());
        this.thread = new Thread(this::loop, "r1-engine");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    public EngineOptions options() {
        return options;
    }

    @Override
    public String kernels() {
        return model.kernels();
    }

    @Override
    public int contextLength() {
        return scheduler.contextLength;
    }

    @Override
    public int promptTokens(GenerationRequest request) {
        return codec.encodePrompt(request, options.thinkPrefix()).length;
    }

    @Override
    public Generation submit(GenerationRequest request, StreamListener listener) {
        int[] prompt;
        try {
            prompt = codec.encodePrompt(request, options.thinkPrefix());
        } catch (RuntimeException e) {
            return failed(request, "cannot tokenize prompt: " + e.getMessage(), 0);
        }
        if (prompt.length == 0) {
            return failed(request, "prompt is empty after tokenization", 0);
        }
        Sequence s = sequence(arrivals.getAndIncrement(), request, prompt, listener, options, model.vocabularySize(),
                this::wakeUp);
        synchronized (submitLock) {
            if (closed) {
                return failed(request, "engine is closed", prompt.length);
            }
            inbox.add(s);
        }
        return s;
    }

    /** A new sequence for {@code request}: its sampler chain, text, and limits resolved against the options. */
    static Sequence sequence(long arrival, GenerationRequest request, int[] prompt, StreamListener listener,
                             EngineOptions options, int vocabularySize, Runnable wakeUp) {
        GenerationProgress resume = request.resumeFrom();
        SamplingParams params = resolve(request, options, resume);
        SamplerChain chain = SamplerChain.of(params, vocabularySize);
        int maxTokens = request.maxTokens() != null ? request.maxTokens() : options.defaultMaxTokens();
        OutputText text = new OutputText(listener == null ? StreamListener.NONE : listener, request.stop());
        long fingerprint = GenerationProgress.fingerprint(prompt, params, maxTokens, request.maxReasoningTokens(),
                request.stop(), options.thinkPrefix());
        if (resume != null && !continues(resume, fingerprint, maxTokens, vocabularySize)) {
            resume = null; // not a history of this request: run it from the start, which gives the same result
        }
        return new Sequence(arrival, request, prompt, maxTokens, chain, text, options.thinkPrefix(), wakeUp,
                fingerprint, params.seed(), resume);
    }

    /** Whether {@code p} can be a progress of the request with {@code fingerprint} (the replay checks the rest). */
    private static boolean continues(GenerationProgress p, long fingerprint, int maxTokens, int vocabularySize) {
        if (p.fingerprint() != fingerprint || p.step() > maxTokens) {
            return false;
        }
        for (int i = 0; i < p.step(); i++) {
            int t = p.token(i);
            if (t < 0 || t >= vocabularySize) return false;
        }
        return true;
    }

    static SamplingParams resolve(GenerationRequest r, EngineOptions options) {
        return resolve(r, options, null);
    }

    /** A request without a seed continues with the seed its progress recorded (the one drawn at its start). */
    static SamplingParams resolve(GenerationRequest r, EngineOptions options, GenerationProgress resume) {
        SamplingParams d = options.sampling();
        long seed = r.seed() != null ? r.seed()
                : resume != null ? resume.seed() : ThreadLocalRandom.current().nextLong();
        return new SamplingParams(
                r.temperature() != null ? r.temperature() : d.temperature(),
                r.topK() != null ? r.topK() : d.topK(),
                r.topP() != null ? r.topP() : d.topP(),
                r.minP() != null ? r.minP() : d.minP(),
                r.repetitionPenalty() != null ? r.repetitionPenalty() : d.repetitionPenalty(),
                r.frequencyPenalty() != null ? r.frequencyPenalty() : d.frequencyPenalty(),
                r.presencePenalty() != null ? r.presencePenalty() : d.presencePenalty(),
                d.penaltyLastN(), seed);
    }

    private static Generation failed(GenerationRequest request, String why, int promptTokens) {
        GenerationResult r = new GenerationResult(request.id(), "", "", FinishReason.ERROR, why, promptTokens, 0, 0, 0, 0, 0);
        CompletableFuture<GenerationResult> f = CompletableFuture.completedFuture(r);
        return new Generation() {
            @Override public String id() { return request.id(); }
            @Override public CompletableFuture<GenerationResult> result() { return f; }
            @Override public void cancel() { }
        };
    }

    private void wakeUp() {
        inbox.add(WAKE);
    }

    private void loop() {
        try {
            while (!closed) {
                boolean wasIdle = scheduler.idle();
                if (wasIdle) {
                    Object first = take(Long.MAX_VALUE);
                    if (first instanceof Sequence s) {
                        scheduler.submit(s);
                    }
                }
                drainInbox();
                if (wasIdle && !scheduler.idle()) {
                    gatherCompanions();
                }
                scheduler.step();
            }
        } catch (Throwable t) {
            scheduler.failAll("engine thread failed: " + t);
            synchronized (submitLock) {
                closed = true;
            }
            throw t;
        } finally {
            drainInbox();
            scheduler.cancelAll();
        }
    }

    /** Idle engine, first request in: wait up to maxWait for more, or until a full batch of sequences is queued. */
    private void gatherCompanions() {
        long deadline = System.nanoTime() + options.maxWait().toNanos();
        int queued = scheduler.waiting.size();
        while (!closed && queued < options.maxSequences()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            Object o = take(left);
            if (o == WAKE) {
                break; // a cancel or close: go look
            }
            if (o instanceof Sequence s) {
                scheduler.submit(s);
                queued++;
            }
        }
    }

    private Object take(long nanos) {
        try {
            return nanos == Long.MAX_VALUE ? inbox.take() : inbox.poll(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            return WAKE;
        }
    }

    private void drainInbox() {
        for (Object o; (o = inbox.poll()) != null; ) {
            if (o instanceof Sequence s) {
                scheduler.submit(s);
            }
        }
    }

    @Override
    public void close() {
        synchronized (submitLock) {
            if (closed && !thread.isAlive()) {
                return;
            }
            closed = true;
        }
        wakeUp();
        if (Thread.currentThread() == thread) {
            return; // called from a listener: the loop sees `closed` after this step and cancels the rest
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        // anything submitted between the thread's last drain and `closed` (cannot happen after closed is set)
        List<Object> left = new ArrayList<>();
        inbox.drainTo(left);
        for (Object o : left) {
            if (!(o instanceof Sequence s)) {
                continue;
            }
            s.text.finish();
            s.result.complete(new GenerationResult(s.id(), "", "", FinishReason.CANCELLED, null, s.promptLength, 0, 0, 0, 0, 0));
        }
        parallel.close();
        if (onClose != null) {
            try {
                onClose.close();
            } catch (Exception e) {
                // the engine is closed either way; the resource's own failure is not the caller's business
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Counters for tests and the bench (read on the caller's thread: approximate while running). */
    public Stats stats() {
        Scheduler s = scheduler;
        return new Stats(s.steps, s.preemptions, s.promptTokensComputed, s.generatedTokens, s.maxRowsSeen,
                s.maxSequencesSeen, s.prefillSteps, s.prefillNanos, s.prefillRows, s.decodeSteps, s.decodeNanos,
                s.decodeRows, s.kvBlocksUsed, s.cells.blockCount, s.resumedTokens);
    }

    /** Ids of the engine's threads (the scheduler thread and the forward pass workers), for allocation counters. */
    public long[] threadIds() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t == thread || t.getName().startsWith("r1-worker-"))
                .mapToLong(Thread::getId).toArray();
    }

    /**
     * Engine counters since open. Prefill steps are those with at least one prompt row (their whole forward and
     * sampling time counts as prefill, their prompt rows as prefill rows); decode steps have one row per sequence.
     * {@code generatedTokens} counts sampled tokens only; {@code resumedTokens} those replayed from a progress.
     */
    public record Stats(long steps, long preemptions, long promptTokensComputed, long generatedTokens,
                        int maxBatchRows, int maxBatchSequences, long prefillSteps, long prefillNanos,
                        long prefillRows, long decodeSteps, long decodeNanos, long decodeRows,
                        int kvBlocksUsed, int kvBlocksTotal, long resumedTokens) {
    }
}
