package dev.r1flink.job;

import dev.r1flink.engine.BpeTokenCodec;
import dev.r1flink.engine.Engine;
import dev.r1flink.engine.EngineOptions;
import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.model.Model;
import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.Vocabulary;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.util.TimeUtils;

import java.io.IOException;
import java.nio.file.Path;
import dev.r1flink.model.BundledModels;
import java.util.Map;

/**
 * The production {@link EngineFactory}: R1 GGUF models run by {@link Engine}. {@link #load} reads the weights and
 * the tokenizer once per TaskManager; {@link #start} opens one {@code BatchingEngine} per slot over them (its own
 * scratch state and KV cache).
 *
 * <p>Its settings are the typed {@code engine.*} options of {@link JobOptions} ({@code engine.max-sequences},
 * {@code engine.kv-cache-bytes}, ...), which {@link JobSettings} checks and hands over by their short keys
 * ({@code max-sequences}, {@code max-batch-tokens}, {@code kv-cache-bytes}, {@code block-size}, {@code max-wait},
 * {@code context-length}, {@code prefix-caching}, {@code think-prefix}, {@code backend}: {@code auto},
 * {@code native} or {@code java}, the weight-product kernels). Threads come from {@code engine.threads}.
 * Keep {@code async.capacity} above {@code max-sequences} (its default is twice it) so the engine always holds the
 * next request when a sequence finishes.
 */
public final class ModelEngineFactory implements EngineFactory {

    private static final long serialVersionUID = 1L;

    /** Weights + tokenizer of one GGUF file, shared by the slots of a TaskManager. */
    static final class R1Model implements LoadedModel {
        final Model model;
        final BpeTokenizer tokenizer;
        private final BpeTokenCodec codec;
        private final boolean thinkPrefix;
        private final int contextLength;
        private final int maxTokenBytes;

        R1Model(Model model, BpeTokenizer tokenizer, EngineOptions options) {
            this.model = model;
            this.tokenizer = tokenizer;
            this.codec = new BpeTokenCodec(tokenizer);
            this.thinkPrefix = options.thinkPrefix();
            // As the engine's scheduler sizes it: the option or the model's, capped by the KV pool.
            int ctx = options.contextLength() > 0
                    ? Math.min(options.contextLength(), model.config.contextLength()) : model.config.contextLength();
            long cellBytes = model.config.kvBytesPerToken();
            long blocks = Math.min(options.kvCacheBytes() / (cellBytes * options.blockSize()),
                    Integer.MAX_VALUE / options.blockSize());
            this.contextLength = (int) Math.min(ctx, blocks * options.blockSize());
            // The most prompt bytes one token can stand for: its bytes (special tokens match their text
            // literally); at least 4, one character, should a tokenizer map an unknown character to one token.
            int longest = 4;
            for (int id = 0; id < tokenizer.vocabulary().size(); id++) {
                longest = Math.max(longest, tokenizer.tokenBytes(id, true).length);
            }
            this.maxTokenBytes = longest;
        }

        @Override
        public int maxTokenBytes() {
            return maxTokenBytes;
        }

        @Override
        public int contextLength() {
            return contextLength;
        }

        /** The validators of all slots share this codec; encoding is cheap next to inference, so serialize it. */
        @Override
        public synchronized int promptTokens(GenerationRequest request) {
            return codec.encodePrompt(request, thinkPrefix).length;
        }

        @Override
        public void close() {
            // The weights are plain heap arrays (or mappings the GC releases): dropping the registry's reference
            // is the release.
        }
    }

    @Override
    public LoadedModel load(String modelPath, Map<String, String> engineOptions) throws IOException {
        Path path = BundledModels.resolve(modelPath);
        Model model = Model.load(path);
        BpeTokenizer tokenizer = new BpeTokenizer(Vocabulary.load(path));
        return new R1Model(model, tokenizer, options(engineOptions, 1));
    }

    @Override
    public Engine start(LoadedModel model, Map<String, String> engineOptions, int threads) {
        R1Model m = (R1Model) model;
        return Engine.open(m.model, m.tokenizer, options(engineOptions, threads));
    }

    /** {@code engine.options} -> EngineOptions; an unknown key or bad value is an error naming it. */
    static EngineOptions options(Map<String, String> o, int threads) {
        EngineOptions.Builder b = EngineOptions.builder().threads(threads);
        for (Map.Entry<String, String> e : o.entrySet()) {
            String v = e.getValue().trim();
            try {
                switch (e.getKey()) {
                    case "max-sequences": b.maxSequences(Integer.parseInt(v)); break;
                    case "max-batch-tokens": b.maxBatchTokens(Integer.parseInt(v)); break;
                    case "kv-cache-bytes": b.kvCacheBytes(MemorySize.parse(v).getBytes()); break;
                    case "block-size": b.blockSize(Integer.parseInt(v)); break;
                    case "max-wait": b.maxWait(TimeUtils.parseDuration(v)); break;
                    case "context-length": b.contextLength(Integer.parseInt(v)); break;
                    case "prefix-caching": b.prefixCaching(bool(e.getKey(), v)); break;
                    case "think-prefix": b.thinkPrefix(bool(e.getKey(), v)); break;
                    case "backend": b.backend(v); break;
                    default:
                        throw new IllegalArgumentException("unknown engine option \"" + e.getKey() + "\" (in "
                                + "engine.options); the engine's settings are engine.NAME for NAME in: max-sequences, "
                                + "max-batch-tokens, kv-cache-bytes, block-size, max-wait, context-length, "
                                + "prefix-caching, think-prefix, backend");
                }
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("engine option " + e.getKey() + ": not a number: " + v, ex);
            }
        }
        return b.build();
    }

    /** Only true or false: a typo must not read as false. */
    private static boolean bool(String key, String v) {
        if (v.equalsIgnoreCase("true")) return true;
        if (v.equalsIgnoreCase("false")) return false;
        throw new IllegalArgumentException("engine option " + key + ": expected true or false, got \"" + v + "\"");
    }
}
