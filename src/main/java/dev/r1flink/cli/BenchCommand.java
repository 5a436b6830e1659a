package dev.r1flink.cli;

import dev.r1flink.engine.BatchingEngine;
import dev.r1flink.engine.EngineOptions;
import dev.r1flink.engine.FinishReason;
import dev.r1flink.engine.ForwardModel;
import dev.r1flink.engine.Generation;
import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.engine.GenerationResult;
import dev.r1flink.engine.ModelForward;
import dev.r1flink.engine.TokenCodec;
import dev.r1flink.model.Model;
import dev.r1flink.tensor.Backend;
import dev.r1flink.engine.sampling.SamplingParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code bench}: throughput and latency of the engine at several concurrencies, on synthetic requests shaped like
 * llama.cpp's {@code llama-batched-bench} (prompt of {@code --npp} random tokens, {@code --ntg} generated tokens,
 * end-of-sequence ignored, greedy).
 *
 * <pre>
 * ./r1-flink bench --model models/r1-1.5b-q8_0.gguf --concurrency 1,4,8,16 --threads 2
 * </pre>
 *
 * Columns: prefill t/s = prompt rows / time of steps that had prompt rows; decode t/s = rows / time of steps that
 * were one token per sequence (both aggregate over sequences); TTFT from submit; ITL between consecutive tokens of a
 * sequence; alloc = bytes allocated by the engine's threads per generated token (ThreadMXBean).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Engine throughput and latency at several concurrencies (synthetic prompts, greedy).")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "GGUF model file, or bundled:NAME (e.g. bundled:tiny-r1-arith)")
    Path model;

    @Option(names = "--requests", description = "Requests per concurrency level (default: the concurrency)")
    Integer requests;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,4,8,16,32,64",
            description = "Sequences in flight, one level per value (default ${DEFAULT-VALUE})")
    int[] concurrency;

    @Option(names = "--npp", defaultValue = "128", description = "Prompt tokens per request (default ${DEFAULT-VALUE})")
    int npp;

    @Option(names = "--ntg", defaultValue = "64", description = "Generated tokens per request (default ${DEFAULT-VALUE})")
    int ntg;

    @Option(names = "--threads", description = "Forward pass threads (default: available processors)")
    Integer threads;

    @Option(names = "--max-batch-tokens", defaultValue = "512", description = "Rows per step (default ${DEFAULT-VALUE})")
    int maxBatchTokens;

    @Option(names = "--kv-cache-mib", defaultValue = "2048", description = "KV pool size (default ${DEFAULT-VALUE})")
    long kvCacheMib;

    @Option(names = "--json", description = "Print JSON instead of a table")
    boolean json;

    @Option(names = "--backend", defaultValue = "auto",
            description = "Weight-product kernels: auto (native where it loads), native, java (default ${DEFAULT-VALUE})")
    String backend;

    /** Opens the model runtime on a GGUF file (tests swap in a test double). */
    static ModelOpener opener = (path, backend) -> new ModelForward(Model.load(path), backend);

    /** Opens a model file as something the engine can run. */
    @FunctionalInterface
    interface ModelOpener {
        ForwardModel open(Path path, Backend backend) throws Exception;
    }

    /** One concurrency level's figures. */
    record Row(int concurrency, int requests, long promptTokens, long generatedTokens, double prefillTps,
               double decodeTps, double ttftP50Ms, double ttftP99Ms, double itlP50Ms, double itlP99Ms,
               double allocBytesPerToken, double wallSeconds) {
    }

    @Override
    public Integer call() throws Exception {
        Backend kernels = Backend.resolve(backend);
        ForwardModel m = opener.open(dev.r1flink.model.BundledModels.resolve(model.toString()), kernels);
        System.err.println("bench: backend " + kernels.describe());
        List<Row> rows = new ArrayList<>();
        for (int c : concurrency) {
            rows.add(measure(m, c, requests != null ? Math.max(requests, 1) : c));
            if (!json) {
                System.err.printf(Locale.ROOT, "bench: concurrency %d done%n", c);
            }
        }
        print(rows, System.out);
        return 0;
    }

    Row measure(ForwardModel m, int c, int n) throws Exception {
        EngineOptions options = EngineOptions.builder()
                .threads(threads != null ? threads : Runtime.getRuntime().availableProcessors())
                .maxSequences(c).maxBatchTokens(Math.max(c, maxBatchTokens))
                .kvCacheBytes(kvCacheMib << 20).maxWait(Duration.ofMillis(50))
                .sampling(SamplingParams.GREEDY).thinkPrefix(false).prefixCaching(false)
                .defaultMaxTokens(ntg).build();
        SyntheticPrompts codec = new SyntheticPrompts(m.vocabularySize(), npp);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long[][] tokenTimes = new long[n][ntg];
        int[] tokenCount = new int[n];
        try (BatchingEngine engine = new BatchingEngine(m, codec, options)) {
            // warm-up: JIT, and the model's scratch state is sized on first use; neither belongs in the figures
            GenerationResult warm = engine.submit(GenerationRequest.builder("warm-up", "-1").maxTokens(2).build(), null)
                    .result().get();
            if (warm.finishReason() == FinishReason.ERROR) {
                throw new IllegalStateException("warm-up failed: " + warm.error());
            }
            BatchingEngine.Stats st0 = engine.stats();
            long[] ids = engine.threadIds();
            long alloc0 = sum(mx.getThreadAllocatedBytes(ids));
            long t0 = System.nanoTime();
            List<Generation> gs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                final int k = i;
                gs.add(engine.submit(GenerationRequest.builder("bench-" + i, Integer.toString(i)).build(),
                        (delta, reasoning) -> {
                            if (tokenCount[k] < ntg) tokenTimes[k][tokenCount[k]++] = System.nanoTime();
                        }));
            }
            List<GenerationResult> results = new ArrayList<>();
            for (Generation g : gs) {
                GenerationResult r = g.result().get();
                if (r.finishReason() == FinishReason.ERROR) {
                    throw new IllegalStateException("request " + r.id() + " failed: " + r.error());
                }
                results.add(r);
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            long alloc = sum(mx.getThreadAllocatedBytes(ids)) - alloc0;
            BatchingEngine.Stats st = minus(engine.stats(), st0);
            double[] ttft = results.stream().mapToDouble(r -> r.firstTokenNanos() / 1e6).sorted().toArray();
            List<Double> itl = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                for (int j = 1; j < tokenCount[i]; j++) itl.add((tokenTimes[i][j] - tokenTimes[i][j - 1]) / 1e6);
            }
            double[] itls = itl.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            long generated = results.stream().mapToLong(GenerationResult::generatedTokens).sum();
            long prompt = results.stream().mapToLong(GenerationResult::promptTokens).sum();
            return new Row(c, n, prompt, generated,
                    st.prefillNanos() == 0 ? 0 : st.prefillRows() / (st.prefillNanos() / 1e9),
                    st.decodeNanos() == 0 ? 0 : st.decodeRows() / (st.decodeNanos() / 1e9),
                    pct(ttft, 50), pct(ttft, 99), pct(itls, 50), pct(itls, 99),
                    generated == 0 ? 0 : alloc / (double) generated, wall);
        }
    }

    private static BatchingEngine.Stats minus(BatchingEngine.Stats a, BatchingEngine.Stats b) {
        return new BatchingEngine.Stats(a.steps() - b.steps(), a.preemptions() - b.preemptions(),
                a.promptTokensComputed() - b.promptTokensComputed(), a.generatedTokens() - b.generatedTokens(),
                a.maxBatchRows(), a.maxBatchSequences(), a.prefillSteps() - b.prefillSteps(),
                a.prefillNanos() - b.prefillNanos(), a.prefillRows() - b.prefillRows(), a.decodeSteps() - b.decodeSteps(),
                a.decodeNanos() - b.decodeNanos(), a.decodeRows() - b.decodeRows(), a.kvBlocksUsed(), a.kvBlocksTotal(),
                a.resumedTokens() - b.resumedTokens());
    }

    private static long sum(long[] a) {
        long s = 0;
        for (long v : a) if (v > 0) s += v;
        return s;
    }

    private static double pct(double[] sorted, int p) {
        if (sorted.length == 0) return 0;
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    void print(List<Row> rows, PrintStream out) {
        if (json) {
            StringBuilder sb = new StringBuilder("[");
            for (Row r : rows) {
                if (sb.length() > 1) sb.append(",\n ");
                sb.append(String.format(Locale.ROOT,
                        "{\"concurrency\":%d,\"requests\":%d,\"promptTokens\":%d,\"generatedTokens\":%d,"
                                + "\"prefillTokensPerSecond\":%.2f,\"decodeTokensPerSecond\":%.2f,\"ttftP50Ms\":%.1f,"
                                + "\"ttftP99Ms\":%.1f,\"itlP50Ms\":%.1f,\"itlP99Ms\":%.1f,\"allocBytesPerToken\":%.0f,"
                                + "\"wallSeconds\":%.2f}",
                        r.concurrency(), r.requests(), r.promptTokens(), r.generatedTokens(), r.prefillTps(),
                        r.decodeTps(), r.ttftP50Ms(), r.ttftP99Ms(), r.itlP50Ms(), r.itlP99Ms(),
                        r.allocBytesPerToken(), r.wallSeconds()));
            }
            out.println(sb.append("]"));
            return;
        }
        out.printf(Locale.ROOT, "npp %d, ntg %d, threads %s%n", npp, ntg, threads != null ? threads : "all");
        out.printf(Locale.ROOT, "%5s %5s %11s %11s %10s %10s %9s %9s %10s %7s%n", "conc", "reqs", "prefill t/s",
                "decode t/s", "ttft p50", "ttft p99", "itl p50", "itl p99", "alloc B/t", "wall s");
        for (Row r : rows) {
            out.printf(Locale.ROOT, "%5d %5d %11.1f %11.1f %8.0fms %8.0fms %7.0fms %7.0fms %10.0f %7.1f%n",
                    r.concurrency(), r.requests(), r.prefillTps(), r.decodeTps(), r.ttftP50Ms(), r.ttftP99Ms(),
                    r.itlP50Ms(), r.itlP99Ms(), r.allocBytesPerToken(), r.wallSeconds());
        }
    }

    /**
     * Prompts of {@code npp} random tokens seeded by the request's prompt text; every token prints one byte so the
     * listener sees each token; end-of-sequence never ends a request (like llama-batched-bench).
     */
    static final class SyntheticPrompts implements TokenCodec {
        private static final byte[] ONE = {'x'};
        private final int vocab;
        private final int npp;

        SyntheticPrompts(int vocab, int npp) {
            this.vocab = vocab;
            this.npp = npp;
        }

        @Override
        public int[] encodePrompt(GenerationRequest request, boolean thinkPrefix) {
            SplittableRandom r = new SplittableRandom(request.prompt().hashCode());
            int[] t = new int[npp];
            Arrays.setAll(t, i -> r.nextInt(Math.min(vocab, 32_000)));
            return t;
        }

        @Override public int[] encode(String text) { return new int[0]; }
        @Override public byte[] tokenBytes(int token) { return ONE; }
        @Override public boolean isEndOfGeneration(int token) { return false; }
        @Override public int thinkStart() { return -1; }
        @Override public int thinkEnd() { return -1; }
    }
}
