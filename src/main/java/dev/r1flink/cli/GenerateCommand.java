package dev.r1flink.cli;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.model.Batch;
import dev.r1flink.model.ContiguousKvCache;
import dev.r1flink.model.Model;
import dev.r1flink.model.State;
import dev.r1flink.tensor.Parallel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file")
    Path model;

    @Option(names = {"-p", "--prompt"}, description = "Prompt text (wrapped in the chat template unless --raw)")
    String prompt;

    @Option(names = "--prompt-ids", split = "[ ,]", description = "Prompt as token ids instead of text (used as is)")
    int[] promptIds;

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

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        PrintStream err = System.err;
        long loadStart = System.nanoTime();
        Model m;
        Vocab vocab;
        try (GgufFile gguf = GgufFile.open(model)) {
            m = Model.load(gguf);
            vocab = Vocab.from(gguf);
        }
        err.printf("generate: loaded %s (%s, %d layers, dim %d, vocab %d) in %.1fs%n", model,
                m.config.architecture().ggufName, m.config.blockCount(), m.config.embeddingLength(),
                m.config.vocabSize(), (System.nanoTime() - loadStart) / 1e9);

        int[] input;
        if (promptIds != null) {
            input = promptIds;
        } else if (prompt != null) {
            input = PromptEncoder.encode(model, prompt, raw);
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
        State state = m.newState(chunk);
        Batch batch = new Batch(chunk);
        int vocabSize = m.config.vocabSize();
        float[] logits = new float[vocabSize];
        List<Integer> generated = new ArrayList<>();
        Utf8Stream text = new Utf8Stream(out);
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
                if (vocab.isEndOfGeneration(token)) {
                    break;
                }
                String piece = vocab.piece(token);
                if (piece.equals("<think>")) {
                    text.flush();
                    out.println("=== reasoning ===");
                    reasoning = true;
                } else if (piece.equals("</think>")) {
                    text.flush();
                    out.println();
                    out.println("=== answer ===");
                    reasoning = false;
                } else {
                    text.write(vocab.bytes(token));
                }
                if (step == maxTokens - 1) {
                    break;
                }
                batch.clear();
                batch.add(token, pos++, 0, true);
                m.forward(batch, kv, state, logits, parallel);
            }
            long t2 = System.nanoTime();
            text.flush();
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

    /** Token pieces from the GGUF vocabulary (GPT-2 byte-level BPE), for decoding only. */
    static final class Vocab {
        private final String[] tokens;
        private final int[] types;
        private final boolean[] eog;
        private static final int[] UNICODE_TO_BYTE = new int[512];

        static {
            // GPT-2 bytes_to_unicode: printable bytes map to themselves, the others to 256, 257, ... in order
            Arrays.fill(UNICODE_TO_BYTE, -1);
            int n = 0;
            for (int b = 0; b < 256; b++) {
                boolean printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
                UNICODE_TO_BYTE[printable ? b : 256 + n++] = b;
            }
        }

        private Vocab(String[] tokens, int[] types, boolean[] eog) {
            this.tokens = tokens;
            this.types = types;
            this.eog = eog;
        }

        static Vocab from(GgufFile gguf) {
            if (!gguf.has("tokenizer.ggml.tokens")) {
                return new Vocab(null, null, null);
            }
            String[] tokens = gguf.getStringArray("tokenizer.ggml.tokens");
            int[] types = gguf.has("tokenizer.ggml.token_type") ? gguf.getIntArray("tokenizer.ggml.token_type") : null;
            boolean[] eog = new boolean[tokens.length];
            if (gguf.has("tokenizer.ggml.eos_token_id")) {
                eog[gguf.getInt("tokenizer.ggml.eos_token_id")] = true;
            }
            if (gguf.has("tokenizer.ggml.eot_token_id")) {
                eog[gguf.getInt("tokenizer.ggml.eot_token_id")] = true;
            }
            // as llama.cpp's vocab loader: well-known end-of-turn tokens also end generation
            List<String> known = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                    "<|EOT|>", "<｜end▁of▁sentence｜>", "<|end_of_text|>");
            for (int i = 0; i < tokens.length; i++) {
                if (known.contains(tokens[i])) {
                    eog[i] = true;
                }
            }
            return new Vocab(tokens, types, eog);
        }

        boolean isEndOfGeneration(int token) {
            return eog != null && token < eog.length && eog[token];
        }

        String piece(int token) {
            return tokens == null || token >= tokens.length ? "<" + token + ">" : tokens[token];
        }

        /** The bytes a token stands for: byte-level decoded for normal tokens, the text itself for special ones. */
        byte[] bytes(int token) {
            String p = piece(token);
            int type = types == null || token >= types.length ? 1 : types[token];
            if (tokens == null || type != 1) {
                return type == 3 || type == 5 ? new byte[0] : p.getBytes(StandardCharsets.UTF_8);
            }
            ByteArrayOutputStream b = new ByteArrayOutputStream(p.length());
            for (int i = 0; i < p.length(); i++) {
                char c = p.charAt(i);
                int v = c < UNICODE_TO_BYTE.length ? UNICODE_TO_BYTE[c] : -1;
                if (v >= 0) {
                    b.write(v);
                } else {
                    byte[] raw = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                    b.write(raw, 0, raw.length);
                }
            }
            return b.toByteArray();
        }
    }

    /** Writes UTF-8 bytes as text as soon as each character is complete (tokens may split characters). */
    static final class Utf8Stream {
        private final PrintStream out;
        private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
        private ByteBuffer pending = ByteBuffer.allocate(64);
        private final CharBuffer chars = CharBuffer.allocate(256);

        Utf8Stream(PrintStream out) {
            this.out = out;
        }

        void write(byte[] bytes) {
            if (pending.remaining() < bytes.length) {
                ByteBuffer bigger = ByteBuffer.allocate(pending.capacity() + bytes.length * 2);
                pending.flip();
                bigger.put(pending);
                pending = bigger;
            }
            pending.put(bytes);
            pending.flip();
            while (true) {
                chars.clear();
                var result = decoder.decode(pending, chars, false);
                chars.flip();
                out.print(chars);
                if (!result.isOverflow()) {
                    break;
                }
            }
            pending.compact();
            out.flush();
        }

        void flush() {
            pending.flip();
            chars.clear();
            decoder.decode(pending, chars, true);
            chars.flip();
            out.print(chars);
            pending.clear();
            decoder.reset();
            out.flush();
        }
    }
}
