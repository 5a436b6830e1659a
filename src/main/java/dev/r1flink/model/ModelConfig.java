package dev.r1flink.model;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.gguf.TensorInfo;

/**
 * Hyperparameters, each named after the GGUF key it comes from ({@code {arch}.} prefix dropped).
 *
 * @param architecture       general.architecture
 * @param contextLength      context_length (training context; informative)
 * @param embeddingLength    embedding_length: width of the residual stream
 * @param blockCount         block_count: number of layers
 * @param feedForwardLength  feed_forward_length
 * @param headCount          attention.head_count
 * @param headCountKv        attention.head_count_kv (grouped-query attention: {@code headCount % headCountKv == 0})
 * @param keyLength          attention.key_length: head dim, default {@code embeddingLength / headCount} (qwen3 sets it)
 * @param valueLength        attention.value_length, default {@code keyLength}
 * @param ropeDimensionCount rope.dimension_count: leading dims of a head that RoPE rotates, default {@code keyLength}
 * @param ropeFreqBase       rope.freq_base, default 10000
 * @param layerNormRmsEpsilon attention.layer_norm_rms_epsilon
 * @param vocabSize          length of tokenizer.ggml.tokens, or rows of token_embd.weight when there is no tokenizer
 * @param mla                multi-head latent attention ({@code deepseek2}), or null
 * @param moe                mixture of experts ({@code deepseek2}), or null
 * @param ropeScaling        rope.scaling.* ({@code deepseek2}: YaRN), or null for none
 *
 * <p>For {@code deepseek2} the attention is stored as llama.cpp converts it for MLA: one KV "head"
 * ({@code headCountKv} 1) whose key is the compressed latent plus the rope part ({@code keyLength} = kv_lora_rank +
 * rope dim) and whose value is the latent ({@code valueLength} = kv_lora_rank); the per-head sizes of the
 * decompressed attention are in {@link Mla}. Legacy files (no {@code key_length_mla}) are read into the same form.
 */
public record ModelConfig(
        Architecture architecture,
        int contextLength,
        int embeddingLength,
        int blockCount,
        int feedForwardLength,
        int headCount,
        int headCountKv,
        int keyLength,
        int valueLength,
        int ropeDimensionCount,
        float ropeFreqBase,
        float layerNormRmsEpsilon,
        int vocabSize,
        Mla mla,
        Moe moe,
        RopeScaling ropeScaling) {

    /**
     * Multi-head latent attention sizes (GGUF keys {@code attention.*}).
     *
     * @param qLoraRank      q_lora_rank: width of the low-rank query ({@code attn_q_a}/{@code attn_q_b}); 0 = plain attn_q
     * @param kvLoraRank     kv_lora_rank: width of the compressed latent the cache stores
     * @param keyLengthMla   key_length_mla: query/key head dim of the decompressed attention (nope + rope)
     * @param valueLengthMla value_length_mla: value head dim of the decompressed attention
     */
    public record Mla(int qLoraRank, int kvLoraRank, int keyLengthMla, int valueLengthMla) {}

    /**
     * Mixture-of-experts sizes and routing (GGUF keys {@code expert_*}, {@code leading_dense_block_count}).
     *
     * @param expertGatingFunc expert_gating_func: 1 softmax (V2), 2 sigmoid (V3/R1); llama.cpp reads 0 as softmax
     * @param expertWeightsScale expert_weights_scale (0 or 1: no scaling)
     */
    public record Moe(int expertCount, int expertUsedCount, int expertFeedForwardLength, int expertSharedCount,
                      int leadingDenseBlockCount, int expertGroupCount, int expertGroupUsedCount,
                      float expertWeightsScale, boolean expertWeightsNorm, int expertGatingFunc) {
        public static final int GATING_SOFTMAX = 1;
        public static final int GATING_SIGMOID = 2;

        /** Whether layer {@code l} routes to experts (else it has a dense FFN). */
        public boolean isMoeLayer(int l) {
            return l >= leadingDenseBlockCount;
        }
    }

    /**
     * rope.scaling.*: {@code type} none, linear or yarn; {@code factor} the context extension (freq_scale =
     * 1/factor); {@code yarnLogMultiplier} as llama.cpp uses it (deepseek2 files store 0.1 x mscale_all_dim, llama.cpp
     * divides by 0.1); YaRN's beta_fast/beta_slow are llama.cpp's defaults 32 and 1 unless the file says otherwise.
     */
    public record RopeScaling(String type, float factor, int originalContextLength, float yarnLogMultiplier,
                              float yarnBetaFast, float yarnBetaSlow, float attnFactor) {
        public boolean yarn() {
            return type.equals("yarn");
        }

        public float freqScale() {
            return type.equals("none") || factor == 0f ? 1f : 1f / factor;
        }
    }

    public ModelConfig(Architecture architecture, int contextLength, int embeddingLength, int blockCount,
                       int feedForwardLength, int headCount, int headCountKv, int keyLength, int valueLength,
                       int ropeDimensionCount, float ropeFreqBase, float layerNormRmsEpsilon, int vocabSize) {
        this(architecture, contextLength, embeddingLength, blockCount, feedForwardLength, headCount, headCountKv,
                keyLength, valueLength, ropeDimensionCount, ropeFreqBase, layerNormRmsEpsilon, vocabSize, null, null,
                null);
    }

    public ModelConfig {
        check(embeddingLength > 0 && blockCount > 0 && feedForwardLength > 0 && vocabSize > 0,
                "sizes must be positive");
        check(headCount > 0 && headCountKv > 0 && headCount % headCountKv == 0,
                "head_count " + headCount + " must be a positive multiple of head_count_kv " + headCountKv);
        check(ropeDimensionCount > 0 && ropeDimensionCount <= keyLength && ropeDimensionCount % 2 == 0,
                "rope.dimension_count " + ropeDimensionCount + " must be even and at most the head dim " + keyLength);
        check((mla != null) == (architecture == Architecture.DEEPSEEK2), "MLA sizes go with deepseek2 only");
        if (mla == null) {
            check(keyLength > 0 && keyLength == valueLength, "key_length " + keyLength + " and value_length "
                    + valueLength + " must be equal and positive");
        } else {
            check(headCountKv == 1 && keyLength == mla.kvLoraRank() + ropeDimensionCount
                            && valueLength == mla.kvLoraRank(),
                    "MLA stores one latent KV head: head_count_kv 1, key_length = kv_lora_rank + rope dim, "
                            + "value_length = kv_lora_rank (got " + headCountKv + ", " + keyLength + ", " + valueLength + ")");
            check(mla.kvLoraRank() > 0 && mla.qLoraRank() >= 0 && mla.valueLengthMla() > 0
                            && mla.keyLengthMla() > ropeDimensionCount,
                    "kv_lora_rank, value_length_mla must be positive and key_length_mla above the rope dim");
        }
        if (moe != null) {
            check(moe.expertCount() > 0 && moe.expertUsedCount() > 0 && moe.expertUsedCount() <= moe.expertCount()
                            && moe.expertFeedForwardLength() > 0 && moe.expertSharedCount() >= 0
                            && moe.leadingDenseBlockCount() >= 0,
                    "expert_count, expert_used_count (at most expert_count), expert_feed_forward_length must be positive");
            int groups = Math.max(1, moe.expertGroupCount());
            check(moe.expertCount() % groups == 0 && (moe.expertGroupCount() <= 1
                            || moe.expertGroupUsedCount() >= 1 && moe.expertGroupUsedCount() <= groups),
                    "expert_group_count " + moe.expertGroupCount() + " must divide expert_count " + moe.expertCount()
                            + " and expert_group_used_count " + moe.expertGroupUsedCount() + " be in [1, groups]");
            check(groups <= 64 && (moe.expertGroupCount() <= 1
                            || moe.expertUsedCount() <= moe.expertGroupUsedCount() * (moe.expertCount() / groups)),
                    "expert_used_count " + moe.expertUsedCount() + " needs at least that many experts in the "
                            + moe.expertGroupUsedCount() + " groups used (at most 64 groups)");
            check(moe.expertGatingFunc() == Moe.GATING_SOFTMAX || moe.expertGatingFunc() == Moe.GATING_SIGMOID,
                    "expert_gating_func " + moe.expertGatingFunc() + " (supported: 1 softmax, 2 sigmoid)");
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("bad model config: " + message);
        }
    }

    /** Reads the config of a GGUF model; the message names the file and the key on any problem. */
    public static ModelConfig from(GgufFile gguf) {
        Architecture arch = Architecture.fromGguf(gguf.getString("general.architecture"));
        if (arch == Architecture.DEEPSEEK2) {
            return deepseek2(gguf);
        }
        String p = arch.ggufName + ".";
        int dim = gguf.getInt(p + "embedding_length");
        int heads = gguf.getInt(p + "attention.head_count");
        int headDim = gguf.getInt(p + "attention.key_length", dim / heads);
        int vocab;
        if (gguf.has("tokenizer.ggml.tokens")) {
            vocab = gguf.value("tokenizer.ggml.tokens").length();
        } else {
            TensorInfo emb = gguf.tensor("token_embd.weight");
            if (emb == null) {
                throw new IllegalArgumentException(gguf.path() + ": no tokenizer.ggml.tokens and no token_embd.weight");
            }
            vocab = (int) emb.dim(1);
        }
        return new ModelConfig(arch,
                gguf.getInt(p + "context_length", 4096),
                dim,
                gguf.getInt(p + "block_count"),
                gguf.getInt(p + "feed_forward_length"),
                heads,
                gguf.getInt(p + "attention.head_count_kv", heads),
                headDim,
                gguf.getInt(p + "attention.value_length", headDim),
                gguf.getInt(p + "rope.dimension_count", headDim),
                gguf.getFloat(p + "rope.freq_base", 10000f),
                gguf.getFloat(p + "attention.layer_norm_rms_epsilon"),
                vocab);
    }

    private static int vocabSize(GgufFile gguf) {
        if (gguf.has("tokenizer.ggml.tokens")) {
            return gguf.value("tokenizer.ggml.tokens").length();
        }
        TensorInfo emb = gguf.tensor("token_embd.weight");
        if (emb == null) {
            throw new IllegalArgumentException(gguf.path() + ": no tokenizer.ggml.tokens and no token_embd.weight");
        }
        return (int) emb.dim(1);
    }

    /**
     * deepseek2 as llama.cpp reads it ({@code llama_model_deepseek2::load_arch_hparams}): MLA files carry
     * {@code key_length_mla}/{@code value_length_mla} and key/value lengths of the latent; legacy files (unsplit
     * {@code attn_kv_b}) carry the per-head sizes in key_length/value_length, which are moved into {@link Mla}.
     */
    private static ModelConfig deepseek2(GgufFile gguf) {
        String p = "deepseek2.";
        int dim = gguf.getInt(p + "embedding_length");
        int heads = gguf.getInt(p + "attention.head_count");
        int blocks = gguf.getInt(p + "block_count");
        int rope = gguf.getInt(p + "rope.dimension_count");
        int kvLora = gguf.getInt(p + "attention.kv_lora_rank");
        int qLora = gguf.getInt(p + "attention.q_lora_rank", 0);
        int keyMla;
        int valueMla;
        if (gguf.has(p + "attention.key_length_mla")) {
            keyMla = gguf.getInt(p + "attention.key_length_mla");
            valueMla = gguf.getInt(p + "attention.value_length_mla");
            int kl = gguf.getInt(p + "attention.key_length", kvLora + rope);
            int vl = gguf.getInt(p + "attention.value_length", kvLora);
            if (kl != kvLora + rope || vl != kvLora || gguf.getInt(p + "attention.head_count_kv", 1) != 1) {
                throw new IllegalArgumentException(gguf.path() + ": deepseek2 MLA file with key_length " + kl
                        + ", value_length " + vl + ", head_count_kv " + gguf.getInt(p + "attention.head_count_kv", 1)
                        + " (expected " + (kvLora + rope) + ", " + kvLora + ", 1)");
            }
        } else {
            keyMla = gguf.getInt(p + "attention.key_length", dim / heads);
            valueMla = gguf.getInt(p + "attention.value_length", keyMla);
        }
        Moe moe = null;
        int experts = gguf.getInt(p + "expert_count", 0);
        if (experts > 0) {
            int gating = gguf.getInt(p + "expert_gating_func", 0);
            moe = new Moe(experts,
                    gguf.getInt(p + "expert_used_count"),
                    gguf.getInt(p + "expert_feed_forward_length"),
                    gguf.getInt(p + "expert_shared_count"),
                    gguf.getInt(p + "leading_dense_block_count", 0),
                    gguf.getInt(p + "expert_group_count", 0),
                    gguf.getInt(p + "expert_group_used_count", 0),
                    gguf.getFloat(p + "expert_weights_scale", 0f),
                    gguf.getBoolean(p + "expert_weights_norm", false),
                    gating == 0 ? Moe.GATING_SOFTMAX : gating);
        }
        RopeScaling scaling = null;
        String type = gguf.getString(p + "rope.scaling.type", "linear");
        float factor = gguf.getFloat(p + "rope.scaling.factor", 0f);
        if (!type.equals("none") && !type.equals("linear") && !type.equals("yarn")) {
            throw new IllegalArgumentException(gguf.path() + ": rope.scaling.type '" + type
                    + "' (supported for deepseek2: none, linear, yarn)");
        }
        if (type.equals("yarn") || factor != 0f && factor != 1f) {
            int ctx = gguf.getInt(p + "context_length", 4096);
            scaling = new RopeScaling(type, factor,
                    gguf.getInt(p + "rope.scaling.original_context_length", ctx),
                    // llama.cpp cancels the 0.1 the converter multiplied in ([TAG_DEEPSEEK2_YARN_LOG_MUL_FIX])
                    gguf.getFloat(p + "rope.scaling.yarn_log_multiplier", 0f) / 0.1f,
                    gguf.getFloat(p + "rope.scaling.yarn_beta_fast", 32f),
                    gguf.getFloat(p + "rope.scaling.yarn_beta_slow", 1f),
                    gguf.getFloat(p + "rope.scaling.attn_factor", 1f));
        }
        int denseFf = gguf.getInt(p + "feed_forward_length");
        return new ModelConfig(Architecture.DEEPSEEK2,
                gguf.getInt(p + "context_length", 4096),
                dim, blocks, denseFf, heads, 1, kvLora + rope, kvLora, rope,
                gguf.getFloat(p + "rope.freq_base", 10000f),
                gguf.getFloat(p + "attention.layer_norm_rms_epsilon"),
                vocabSize(gguf),
                new Mla(qLora, kvLora, keyMla, valueMla), moe, scaling);
    }

    /** Width of all query heads together: {@code headCount * keyLength}. */
    public int qDim() {
        return headCount * keyLength;
    }

    /** Width of one K (or V) row in the cache: {@code headCountKv * keyLength}. */
    public int kvDim() {
        return headCountKv * keyLength;
    }

    /** Width of one V row in the cache: {@code kvDim()}, or 0 with MLA, whose values are the keys' latent part. */
    public int valueCacheDim() {
        return mla != null ? 0 : headCountKv * valueLength;
    }

    /** Bytes the KV cache holds per token over all layers (F16 keys and values). */
    public long kvBytesPerToken() {
        return 2L * blockCount * (kvDim() + valueCacheDim());
    }

    public int headDim() {
        return keyLength;
    }
}
