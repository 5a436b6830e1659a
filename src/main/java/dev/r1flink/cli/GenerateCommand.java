package dev.r1flink.cli;

import dev.r1flink.engine.BpeTokenCodec;
import dev.r1flink.engine.Engine;
import dev.r1flink.engine.EngineOptions;
import dev.r1flink.engine.FinishReason;
import dev.r1flink.engine.Generation;
import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.engine.GenerationResult;
import dev.r1flink.engine.ModelForward;
import dev.r1flink.engine.StreamListener;
import dev.r1flink.engine.TokenCodec;
import dev.r1flink.engine.sampling.SamplingParams;
import dev.r1flink.gguf.GgufFile;
import dev.r1flink.model.Model;
import dev.r1flink.tensor.Backend;
import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.Vocabulary;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code generate}: one prompt through one model on this machine, streaming the reasoning and then the answer. It
 * runs the engine the job runs (one sequence: chunked prefill, the sampler chain, the reasoning/answer split), so
 * what it prints is what the job would produce for the same request and seed.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a completion for one prompt with a GGUF model (no Flink, no Kafka).")
public final class GenerateCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file, or bundled:NAME (e.g. bundled:tiny-r1-arith)")
    Path model;

    @Option(names = {"-p", "--prompt"}, description = "Prompt text (wrapped in the chat template unless --raw)")
    String prompt;

    @Option(names = "--prompt-ids", split = "[ ,]", description = "Prompt as token ids instead of text (used as is)")
    int[] promptIds;

    @Option(names = "--system", defaultValue = "", description = "System prompt (chat template only)")
    String system;

    @Option(names = "--raw", description = "Tokenize the prompt as is, without the chat template")
    boolean raw;

    @Option(names = "--no-think-prefix", description = "Do not assume the template opened a <think> block")
    boolean noThinkPrefix;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default)")
    float temperature;

    @Option(names = "--seed", defaultValue = "42", description = "Sampling seed when --temperature > 0")
    long seed;

    @Option(names = "--max-tokens", defaultValue = "512", description = "Most tokens to generate (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--threads", description = "Worker threads (default: available processors)")
    Integer threads;

    @Option(names = "--prefill-chunk", defaultValue = "64", description = "Prompt rows per forward step (default ${DEFAULT-VALUE})")
    int prefillChunk;

    @Option(names = "--ids", description = "Print the generated token ids, space-separated, on the last line")
    boolean ids;

    @Option(names = "--backend", defaultValue = "auto",
            description = "Weight-product kernels: auto (native where it loads), native, java (default ${DEFAULT-VALUE})")
    String backend;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        PrintStream err = System.err;
        if (maxTokens < 1) {
            err.println("generate: --max-tokens must be >= 1, got " + maxTokens);
            return 2;
        }
        if (prefillChunk < 1) {
            err.println("generate: --prefill-chunk must be >= 1, got " + prefillChunk);
            return 2;
        }
        Backend kernels;
        try {
            kernels = Backend.resolve(backend);
        } catch (IllegalArgumentException e) {
            err.println("generate: --backend: " + e.getMessage());
            return 2;
        }
        long loadStart = System.nanoTime();
        Model m;
        BpeTokenizer tokenizer = null;
        Path file = dev.r1flink.model.BundledModels.resolve(model.toString());
        try (GgufFile gguf = GgufFile.open(file)) {
            m = Model.load(gguf);
            if (gguf.has(Vocabulary.KEY_TOKENS)) {
                tokenizer = new BpeTokenizer(Vocabulary.from(gguf));
            }
        }
        err.printf("generate: loaded %s (%s, %d layers, dim %d, vocab %d) in %.1fs%n", model,
                m.config.architecture().ggufName, m.config.blockCount(), m.config.embeddingLength(),
                m.config.vocabSize(), (System.nanoTime() - loadStart) / 1e9);
        if (promptIds == null && prompt == null) {
            err.println("generate: give --prompt or --prompt-ids");
            return 2;
        }
        if (promptIds == null && tokenizer == null) {
            err.println("generate: " + model + " has no tokenizer: use --prompt-ids");
            return 2;
        }
        // The engine (the job's engine: scheduler, sampler chain, UTF-8 assembly, reasoning/answer split) with one
        // sequence; --prompt-ids bypasses the chat template and tokenizer.
        TokenCodec codec = promptIds != null ? new GivenIds(promptIds, tokenizer, m.config.vocabSize())
                : new BpeTokenCodec(tokenizer);
        boolean thinkPrefix = promptIds == null && !raw && !noThinkPrefix;
        GenerationRequest request = GenerationRequest.builder("generate", prompt != null ? prompt : "")
                .system(system.isEmpty() ? null : system).raw(raw).maxTokens(maxTokens).temperature(temperature)
                .seed(seed).build();
        int promptTokens;
        try {
            promptTokens = codec.encodePrompt(request, thinkPrefix).length;
        } catch (IllegalArgumentException e) {
            err.println("generate: " + e.getMessage());
            return 2;
        }
        if (promptTokens == 0) {
            err.println("generate: empty prompt");
            return 2;
        }
        int context = promptTokens + maxTokens;
        int blockSize = 16;
        long kvBytes = 4L * m.config.blockCount() * m.config.kvDim() * ((context + blockSize - 1) / blockSize + 1) * blockSize;
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        EngineOptions options = EngineOptions.builder().threads(nThreads).maxSequences(1)
                .maxBatchTokens(Math.min(prefillChunk, promptTokens) + 1).kvCacheBytes(kvBytes).blockSize(blockSize)
                .maxWait(Duration.ZERO).contextLength(context).defaultMaxTokens(maxTokens)
                .sampling(SamplingParams.GREEDY).thinkPrefix(thinkPrefix).prefixCaching(false)
                .backend(kernels.name().toLowerCase(java.util.Locale.ROOT)).build();

        Printer printer = new Printer(out, thinkPrefix);
        GenerationResult r;
        int[] sampled;
        try (Engine engine = Engine.open(new ModelForward(m, kernels), codec, options)) {
            err.println("generate: backend " + engine.kernels());
            Generation g = engine.submit(request, printer);
            r = g.result().join();
            sampled = g.progress() != null ? g.progress().tokens() : new int[0];
        }
        out.println();
        if (ids) {
            StringBuilder sb = new StringBuilder();
            for (int id : sampled) {
                sb.append(sb.length() == 0 ? "" : " ").append(id);
            }
            out.println(sb);
        }
        out.flush();
        if (r.finishReason() == FinishReason.ERROR) {
            err.println("generate: " + r.finishReason() + ": " + r.error());
            return 1;
        }
        double prefillS = (r.firstTokenNanos() - r.queuedNanos()) / 1e9;
        double decodeS = (r.totalNanos() - r.firstTokenNanos()) / 1e9;
        int decoded = Math.max(0, sampled.length - 1); // the first token came from the prefill
        err.printf("generate: prefill %d tokens in %.2fs (%.1f tokens/s), decode %d tokens in %.2fs (%.1f tokens/s),"
                        + " %d threads, finish %s%n", r.promptTokens(), prefillS, r.promptTokens() / Math.max(1e-9, prefillS),
                decoded, decodeS, decoded / Math.max(1e-9, decodeS), nThreads, r.finishReason());
        return 0;
    }

    /** Streams the text, with a header whenever the part (reasoning or answer) changes. */
    private static final class Printer implements StreamListener {
        private final PrintStream out;
        private Boolean part;

        Printer(PrintStream out, boolean reasoningFirst) {
            this.out = out;
            if (reasoningFirst) {
                out.println("=== reasoning ===");
                part = true;
            }
        }

        @Override
        public void onText(String delta, boolean reasoning) {
            if (part == null ? reasoning : part != reasoning) {
                if (part != null) {
                    out.println();
                }
                out.println(reasoning ? "=== reasoning ===" : "=== answer ===");
            }
            part = reasoning;
            out.print(delta);
            out.flush();
        }
    }

    /**
     * A prompt given as token ids, used as is; the text of generated tokens from the file's vocabulary, or
     * {@code <id>} when it has none.
     */
    private static final class GivenIds implements TokenCodec {
        private final int[] ids;
        private final BpeTokenCodec text;

        GivenIds(int[] ids, BpeTokenizer tokenizer, int vocab) {
            for (int id : ids) {
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("--prompt-ids: token id " + id + " outside [0, " + vocab + ")");
                }
            }
            this.ids = ids.clone();
            this.text = tokenizer != null ? new BpeTokenCodec(tokenizer) : null;
        }

        @Override public int[] encodePrompt(GenerationRequest request, boolean thinkPrefix) { return ids.clone(); }
        @Override public int[] encode(String s) { return text != null ? text.encode(s) : new int[0]; }
        @Override public byte[] tokenBytes(int token) {
            return text != null ? text.tokenBytes(token) : ("<" + token + ">").getBytes(StandardCharsets.UTF_8);
        }
        @Override public boolean isEndOfGeneration(int token) { return text != null && text.isEndOfGeneration(token); }
        @Override public int thinkStart() { return text != null ? text.thinkStart() : -1; }
        @Override public int thinkEnd() { return text != null ? text.thinkEnd() : -1; }
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

}
