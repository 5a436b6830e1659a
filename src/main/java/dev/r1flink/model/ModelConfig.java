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
        int vocabSize) {

    public ModelConfig {
        check(embeddingLength > 0 && blockCount > 0 && feedForwardLength > 0 && vocabSize > 0,
                "sizes must be positive");
        check(headCount > 0 && headCountKv > 0 && headCount % headCountKv == 0,
                "head_count " + headCount + " must be a positive multiple of head_count_kv " + headCountKv);
        check(keyLength > 0 && keyLength == valueLength, "key_length " + keyLength + " and value_length "
                + valueLength + " must be equal and positive");
        check(ropeDimensionCount > 0 && ropeDimensionCount <= keyLength && ropeDimensionCount % 2 == 0,
                "rope.dimension_count " + ropeDimensionCount + " must be even and at most the head dim " + keyLength);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("bad model config: " + message);
        }
    }

    /** Reads the config of a GGUF model; the message names the file and the key on any problem. */
    public static ModelConfig from(GgufFile gguf) {
        Architecture arch = Architecture.fromGguf(gguf.getString("general.architecture"));
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

    /** Width of all query heads together: {@code headCount * keyLength}. */
    public int qDim() {
        return headCount * keyLength;
    }

    /** Width of one K (or V) row in the cache: {@code headCountKv * keyLength}. */
    public int kvDim() {
        return headCountKv * keyLength;
    }

    public int headDim() {
        return keyLength;
    }
}
