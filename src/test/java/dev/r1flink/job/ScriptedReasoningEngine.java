package dev.r1flink.job;

import dev.r1flink.engine.Engine;
import dev.r1flink.engine.FinishReason;
import dev.r1flink.engine.Generation;
import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.engine.GenerationResult;
import dev.r1flink.engine.StreamListener;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * TEST DOUBLE for the R1 engine: answers every prompt with a deterministic "reasoning" and "answer" made from the
 * prompt and the seed, one word per token, on its own thread, after {@code scripted.token-delay-ms} per token.
 * Honours maxTokens (LENGTH), maxReasoningTokens (BUDGET), the context length, cancel and close like the real one.
 * Prompts containing {@code [stall]} never finish on their own (for timeout tests); {@code [error]} ends in ERROR;
 * the first {@code [crash-once]} in this JVM throws an {@link Error} from {@link #submit}, failing the task (for
 * recovery tests).
 */
public final class ScriptedReasoningEngine implements Engine {

    /** Words of the chat template around every prompt. */
    static final int TEMPLATE_TOKENS = 4;

    /** Set by the first {@code [crash-once]} prompt; later ones run normally (after the job restarted). */
    public static final java.util.concurrent.atomic.AtomicBoolean CRASHED = new java.util.concurrent.atomic.AtomicBoolean();

    private final int contextLength;
    private final long tokenDelayMs;
    private final ScheduledExecutorService thread;
    private final Set<Running> open = ConcurrentHashMap.newKeySet();

    ScriptedReasoningEngine(Map<String, String> options) {
        contextLength = Integer.parseInt(options.getOrDefault("scripted.context", "256"));
        tokenDelayMs = Long.parseLong(options.getOrDefault("scripted.token-delay-ms", "0"));
        thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "scripted-engine");
            t.setDaemon(true);
            return t;
        });
    }

    static int countTokens(GenerationRequest r) {
        return words(r.prompt()).size() + (r.system() == null ? 0 : words(r.system()).size()) + TEMPLATE_TOKENS;
    }

    static List<String> words(String s) {
        String t = s.strip();
        return t.isEmpty() ? List.of() : Arrays.asList(t.split("\\s+"));
    }

    /** The reasoning the engine produces for {@code r}, before any budget or length cut. */
    public static String reasoningFor(GenerationRequest r) {
        return "The user asks: " + r.prompt().strip() + " ; I will think with seed " + r.seed() + " .";
    }

    /** The answer the engine produces for {@code r}, before any length cut. */
    public static String answerFor(GenerationRequest r) {
        return "Answer for " + r.id() + " : " + Long.toHexString(r.seed() == null ? 0 : r.seed());
    }

    @Override
    public int promptTokens(GenerationRequest request) {
        return countTokens(request);
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    private final class Running implements Generation {
        final GenerationRequest request;
        final long submitted = System.nanoTime();
        final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        volatile java.util.concurrent.Future<?> timer;

        Running(GenerationRequest request) {
            this.request = request;
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
            var t = timer;
            if (t != null) t.cancel(false);
            finish("", "", FinishReason.CANCELLED, null, 0, 0);
        }

        void finish(String reasoning, String answer, FinishReason reason, String error, int rt, int at) {
            long now = System.nanoTime() - submitted;
            if (result.complete(new GenerationResult(request.id(), reasoning, answer, reason, error,
                    countTokens(request), rt, at, Math.min(now, 1000), rt + at > 0 ? Math.min(now, 2000) : 0, now))) {
                open.remove(this);
            }
        }
    }

    @Override
    public Generation submit(GenerationRequest request, StreamListener listener) {
        if (thread.isShutdown()) throw new IllegalStateException("engine closed");
        if (request.prompt().contains("[crash-once]") && CRASHED.compareAndSet(false, true)) {
            throw new AssertionError("scripted crash: the task fails and Flink restarts it from the last checkpoint");
        }
        Running g = new Running(request);
        open.add(g);
        int promptTokens = countTokens(request);
        if (promptTokens >= contextLength) {
            thread.execute(() -> g.finish("", "", FinishReason.ERROR, "prompt of " + promptTokens
                    + " tokens does not fit the context of " + contextLength, 0, 0));
            return g;
        }
        if (request.prompt().contains("[stall]")) return g;
        if (request.prompt().contains("[error]")) {
            thread.execute(() -> g.finish("", "", FinishReason.ERROR, "scripted error", 0, 0));
            return g;
        }
        List<String> reasoning = new ArrayList<>(words(reasoningFor(request)));
        List<String> answer = new ArrayList<>(words(answerFor(request)));
        FinishReason reason = FinishReason.STOP;
        if (request.maxReasoningTokens() != null && reasoning.size() > request.maxReasoningTokens()) {
            reasoning = reasoning.subList(0, request.maxReasoningTokens());
            reason = FinishReason.BUDGET;
        }
        int room = Math.min(request.maxTokens() == null ? Integer.MAX_VALUE : request.maxTokens(),
                contextLength - promptTokens);
        if (reasoning.size() > room) {
            reasoning = reasoning.subList(0, room);
            answer = List.of();
            reason = FinishReason.LENGTH;
        } else if (reasoning.size() + answer.size() > room) {
            answer = answer.subList(0, room - reasoning.size());
            reason = FinishReason.LENGTH;
        }
        String r = String.join(" ", reasoning);
        String a = String.join(" ", answer);
        int rt = reasoning.size();
        int at = answer.size();
        FinishReason fr = reason;
        g.timer = thread.schedule(() -> {
            listener.onText(r, true);
            listener.onText(a, false);
            g.finish(r, a, fr, null, rt, at);
        }, tokenDelayMs * (rt + at), TimeUnit.MILLISECONDS);
        return g;
    }

    @Override
    public void close() {
        thread.shutdownNow();
        for (Running g : List.copyOf(open)) g.finish("", "", FinishReason.CANCELLED, null, 0, 0);
    }
}
