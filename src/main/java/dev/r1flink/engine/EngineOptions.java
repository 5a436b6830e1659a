package dev.r1flink.engine;

import dev.r1flink.engine.sampling.SamplingParams;
import dev.r1flink.tensor.Backend;

import java.time.Duration;
import java.util.Objects;

/**
 * How an {@link Engine} batches, caches and samples. Built with {@link #builder()}; {@code build()} validates.
 *
 * <pre>{@code
 * EngineOptions options = EngineOptions.builder()
 *         .threads(2).maxSequences(16).maxBatchTokens(256)
 *         .kvCacheBytes(1L << 30).maxWait(Duration.ofMillis(5))
 *         .build();
 * }</pre>
 *
 * @param threads          worker threads of the forward pass
 * @param maxSequences     sequences in flight (running) at once; more requests wait
 * @param maxBatchTokens   rows of one forward step: one per decoding sequence plus prefill chunks
 * @param kvCacheBytes     bytes of K/V storage (F16); bounds the block pool
 * @param blockSize        cells per KV block (power of two); the unit of paging and prefix reuse
 * @param maxWait          how long an idle engine waits for companions before starting a batch
 * @param contextLength    longest prompt + generation per sequence; 0 = the model's (capped by the pool)
 * @param defaultMaxTokens generated tokens when a request sets no {@code maxTokens}
 * @param sampling         defaults for unset request fields (R1: temperature 0.6, top-p 0.95)
 * @param thinkPrefix      open the assistant turn with {@code <think>\n}, as R1's template does, so the reasoning
 *                         is never skipped
 * @param prefixCaching    reuse the KV blocks of prompt prefixes already computed
 * @param backend          kernels of the weight products: {@code auto} (the process default of
 *                         {@code -Dr1.tensor.backend}, itself {@code auto}: native where the library loads and the
 *                         CPU has AVX2, else Java), {@code native} or {@code java}; see {@link Backend}
 */
public record EngineOptions(int threads, int maxSequences, int maxBatchTokens, long kvCacheBytes, int blockSize,
                            Duration maxWait, int contextLength, int defaultMaxTokens, SamplingParams sampling,
                            boolean thinkPrefix, boolean prefixCaching, String backend) {

    public static Builder builder() {
        return new Builder();
    }

    public static EngineOptions defaults() {
        return builder().build();
    }

    public Builder toBuilder() {
        return new Builder().threads(threads).maxSequences(maxSequences).maxBatchTokens(maxBatchTokens)
                .kvCacheBytes(kvCacheBytes).blockSize(blockSize).maxWait(maxWait).contextLength(contextLength)
                .defaultMaxTokens(defaultMaxTokens).sampling(sampling).thinkPrefix(thinkPrefix)
                .prefixCaching(prefixCaching).backend(backend);
    }

    /** The backend these options ask for, resolved ({@code auto}: the process default). */
    public Backend resolveBackend() {
        return backend.equals("auto") ? Backend.processDefault() : Backend.resolve(backend);
    }

    /** Builder; every setter's value is checked in {@link #build()} with a message naming the option. */
    public static final class Builder {
        private int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        private int maxSequences = 16;
        private int maxBatchTokens = 512;
        private long kvCacheBytes = 1L << 30;
        private int blockSize = 16;
        private Duration maxWait = Duration.ofMillis(5);
        private int contextLength = 0;
        private int defaultMaxTokens = 2048;
        private SamplingParams sampling = SamplingParams.R1_DEFAULTS;
        private boolean thinkPrefix = true;
        private boolean prefixCaching = true;
        private String backend = "auto";

        public Builder threads(int v) { threads = v; return this; }
        public Builder maxSequences(int v) { maxSequences = v; return this; }
        public Builder maxBatchTokens(int v) { maxBatchTokens = v; return this; }
        public Builder kvCacheBytes(long v) { kvCacheBytes = v; return this; }
        public Builder blockSize(int v) { blockSize = v; return this; }
        public Builder maxWait(Duration v) { maxWait = v; return this; }
        public Builder contextLength(int v) { contextLength = v; return this; }
        public Builder defaultMaxTokens(int v) { defaultMaxTokens = v; return this; }
        public Builder sampling(SamplingParams v) { sampling = v; return this; }
        public Builder thinkPrefix(boolean v) { thinkPrefix = v; return this; }
        public Builder prefixCaching(boolean v) { prefixCaching = v; return this; }
        public Builder backend(String v) { backend = v; return this; }

        public EngineOptions build() {
            if (threads < 1 || threads > 1024) throw new IllegalArgumentException("threads must be in [1, 1024], got " + threads);
            if (maxSequences < 1 || maxSequences > 4096) throw new IllegalArgumentException("maxSequences must be in [1, 4096], got " + maxSequences);
            if (maxBatchTokens < maxSequences) throw new IllegalArgumentException("maxBatchTokens (" + maxBatchTokens + ") must be >= maxSequences (" + maxSequences + "): every running sequence decodes one token per step");
            if (kvCacheBytes <= 0) throw new IllegalArgumentException("kvCacheBytes must be > 0, got " + kvCacheBytes);
            if (blockSize < 1 || blockSize > 1024 || Integer.bitCount(blockSize) != 1) throw new IllegalArgumentException("blockSize must be a power of two in [1, 1024], got " + blockSize);
            Objects.requireNonNull(maxWait, "maxWait");
            if (maxWait.isNegative()) throw new IllegalArgumentException("maxWait must be >= 0, got " + maxWait);
            if (contextLength < 0) throw new IllegalArgumentException("contextLength must be >= 0 (0 = the model's), got " + contextLength);
            if (defaultMaxTokens < 1) throw new IllegalArgumentException("defaultMaxTokens must be >= 1, got " + defaultMaxTokens);
            Objects.requireNonNull(sampling, "sampling");
            String be = backend == null ? "" : backend.trim().toLowerCase(java.util.Locale.ROOT);
            if (!be.equals("auto") && !be.equals("native") && !be.equals("java")) throw new IllegalArgumentException("backend must be auto, native or java, got '" + backend + "'");
            return new EngineOptions(threads, maxSequences, maxBatchTokens, kvCacheBytes, blockSize, maxWait,
                    contextLength, defaultMaxTokens, sampling, thinkPrefix, prefixCaching, be);
        }
    }
}
