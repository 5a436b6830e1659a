package dev.r1flink.cli;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.model.Batch;
import dev.r1flink.model.ContiguousKvCache;
import dev.r1flink.model.Model;
import dev.r1flink.model.State;
import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.Parallel;
import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.ChatTemplate;
import dev.r1flink.tokenizer.Detokenizer;
import dev.r1flink.tokenizer.Vocabulary;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code generate}: one prompt through one model on this machine, streaming the reasoning and then the answer.
 * Single sequence, contiguous KV cache, prefill in chunks, greedy (or simple temperature) sampling.
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

        int[] input;
        if (promptIds != null) {
            input = promptIds;
        } else if (prompt != null && tokenizer != null) {
            input = raw ? tokenizer.encode(prompt, tokenizer.vocabulary().addBos(), true)
                    : chatPrompt(tokenizer, err);
        } else if (prompt != null) {
            err.println("generate: " + model + " has no tokenizer: use --prompt-ids");
            return 2;
        } else {
            err.println("generate: give --prompt or --prompt-ids");
            return 2;
        }
        if (input.length == 0) {
            err.println("generate: empty prompt");
            return 2;
        }
        int context = input.length + maxTokens;
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        int chunk = Math.max(1, Math.min(prefillChunk, input.length));
        ContiguousKvCache kv = new ContiguousKvCache(m.config, 1, context);
        Backend kernels = Backend.resolve(backend);
        err.println("generate: backend " + kernels.describe());
        State state = m.newState(chunk, kernels);
        Batch batch = new Batch(chunk);
        int vocabSize = m.config.vocabSize();
        float[] logits = new float[vocabSize];
        List<Integer> generated = new ArrayList<>();
        Detokenizer text = tokenizer != null ? tokenizer.detokenizer(false) : null;
        Vocabulary vocab = tokenizer != null ? tokenizer.vocabulary() : null;
        int thinkStart = vocab != null ? vocab.tokenId("<think>") : -1;
        int thinkEnd = vocab != null ? vocab.tokenId("</think>") : -1;
        boolean reasoning = !raw && !noThinkPrefix && prompt != null;
        if (reasoning) {
            out.println("=== reasoning ===");
        }

        try (Parallel parallel = new Parallel(nThreads)) {
            // prefill in chunks; only the last row of the prompt needs logits
            long t0 = System.nanoTime();
            for (int start = 0; start < input.length; start += chunk) {
                batch.clear();
                for (int i = start; i < Math.min(input.length, start + chunk); i++) {
                    batch.add(input[i], i, 0, i == input.length - 1);
                }
                m.forward(batch, kv, state, logits, parallel);
            }
            long t1 = System.nanoTime();
            // decode: sample, stream, feed back
            SplittableRandom rng = new SplittableRandom(seed);
            int pos = input.length;
            for (int step = 0; step < maxTokens; step++) {
                int token = temperature <= 0 ? argmax(logits) : sample(logits, temperature, rng);
                generated.add(token);
                if (vocab != null && vocab.isEndOfGeneration(token)) {
                    break;
                }
                if (token == thinkStart) {
                    out.print(text.flush());
                    out.println();
                    out.println("=== reasoning ===");
                    reasoning = true;
                } else if (token == thinkEnd) {
                    out.print(text.flush());
                    out.println();
                    out.println("=== answer ===");
                    reasoning = false;
                } else {
                    out.print(text != null ? text.accept(token) : "<" + token + ">");
                }
                out.flush();
                if (step == maxTokens - 1) {
                    break;
                }
                batch.clear();
                batch.add(token, pos++, 0, true);
                m.forward(batch, kv, state, logits, parallel);
            }
            long t2 = System.nanoTime();
            if (text != null) {
                out.print(text.flush());
            }
            out.println();
            if (ids) {
                StringBuilder sb = new StringBuilder();
                for (int id : generated) {
                    sb.append(sb.length() == 0 ? "" : " ").append(id);
                }
                out.println(sb);
            }
            out.flush();
            int decoded = Math.max(0, generated.size() - 1); // the first token came from the prefill
            err.printf("generate: prefill %d tokens in %.2fs (%.1f tokens/s), decode %d tokens in %.2fs (%.1f tokens/s),"
                            + " %d threads%n", input.length, (t1 - t0) / 1e9, input.length / ((t1 - t0) / 1e9),
                    decoded, (t2 - t1) / 1e9, decoded / Math.max(1e-9, (t2 - t1) / 1e9), nThreads);
        }
        return 0;
    }

    /** The R1 chat prompt; a vocabulary without R1's chat tokens (plain Llama 3) gets BOS + the prompt. */
    private int[] chatPrompt(BpeTokenizer tokenizer, PrintStream err) {
        ChatTemplate chat;
        try {
            chat = new ChatTemplate(tokenizer);
        } catch (IllegalArgumentException e) {
            err.println("generate: no R1 chat template (" + e.getMessage() + "): using BOS + the prompt as is");
            return tokenizer.encode(prompt, tokenizer.vocabulary().addBos(), false);
        }
        return chat.apply(system, prompt, !noThinkPrefix);
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

    /** Plain softmax sampling at a temperature (the engine has the full sampler chain). */
    static int sample(float[] logits, float temperature, SplittableRandom rng) {
        float max = logits[argmax(logits)];
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp((l - max) / temperature);
        }
        double r = rng.nextDouble() * sum;
        for (int i = 0; i < logits.length; i++) {
            r -= Math.exp((logits[i] - max) / temperature);
            if (r <= 0) {
                return i;
            }
        }
        return logits.length - 1;
    }
}
