package dev.r1flink.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.gguf.GgufValue;
import dev.r1flink.gguf.GgufWriter;
import dev.r1flink.gguf.TensorInfo;
import dev.r1flink.tensor.GgmlType;
import dev.r1flink.tensor.Parallel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deepseek2 keys as llama.cpp reads them, and the KV cache holding only the latent + rope part per token. */
class Deepseek2ConfigTest {

    @Test
    void readsMlaMoeAndYarnKeysAndCachesOnlyTheLatent(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("ds.gguf");
        new Synthesizer(Synthesizer.shape("tiny-deepseek2"), "F32", null, 1).write(f, null);
        Model m = Model.load(f);
        ModelConfig c = m.config;
        assertEquals(Architecture.DEEPSEEK2, c.architecture());
        assertEquals(new ModelConfig.Mla(128, 128, 64, 32), c.mla());
        assertEquals(1, c.headCountKv());
        assertEquals(128 + 32, c.kvDim());           // latent + rope part
        assertEquals(0, c.valueCacheDim());          // the latent is the value
        assertEquals(2L * 3 * 160, c.kvBytesPerToken());
        ModelConfig.Moe moe = c.moe();
        assertEquals(new ModelConfig.Moe(8, 2, 128, 1, 1, 2, 1, 2.5f, true, ModelConfig.Moe.GATING_SIGMOID), moe);
        assertTrue(c.ropeScaling().yarn());
        assertEquals(40f, c.ropeScaling().factor());
        assertEquals(1f, c.ropeScaling().yarnLogMultiplier(), 1e-6f); // file: 0.1 x mscale_all_dim
        // layer 0 dense, then experts; the routed layers have the bias, 8 expert slices each
        assertNotNull(m.weights.layers[0].ffnGate());
        assertNull(m.weights.layers[0].moe());
        Weights.MoeLayer e = m.weights.layers[1].moe();
        assertNull(m.weights.layers[1].ffnGate());
        assertEquals(8, e.gateExps().length);
        assertNotNull(e.expProbsB());
        assertEquals(4, m.weights.layers[1].mla().attnKB().length);
        ContiguousKvCache kv = new ContiguousKvCache(c, 1, 16);
        assertEquals(16 * 160, kv.keys(0).length);
        assertEquals(0, kv.values(0).length);
    }

    @Test
    void liteVariantHasPlainQueryAndSoftmaxRouting(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("lite.gguf");
        new Synthesizer(Synthesizer.shape("tiny-deepseek2-lite"), "F32", null, 1).write(f, null);
        Model m = Model.load(f);
        assertEquals(0, m.config.mla().qLoraRank());
        assertNotNull(m.weights.layers[0].attnQ());
        assertNull(m.weights.layers[0].mla().attnQA());
        assertEquals(ModelConfig.Moe.GATING_SOFTMAX, m.config.moe().expertGatingFunc());
        assertNull(m.weights.layers[1].moe().expProbsB());
        assertEquals(0.707f, m.config.ropeScaling().yarnLogMultiplier(), 1e-5f);
    }

    /**
     * A legacy conversion (unsplit attn_kv_b, per-head sizes in key_length/value_length, head_count_kv = heads, no
     * *_mla keys) of the same weights loads into the same latent form and gives bit-identical logits.
     */
    @Test
    void legacyKvBFileGivesTheSameLogitsAsTheSplitForm(@TempDir Path dir) throws Exception {
        Path split = dir.resolve("split.gguf");
        new Synthesizer(Synthesizer.shape("tiny-deepseek2"), "F32", null, 3).write(split, null);
        Path legacy = dir.resolve("legacy.gguf");
        int heads = 4, nope = 32, rope = 32, v = 32, kvLora = 128;
        try (GgufFile in = GgufFile.open(split)) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : in.metadata().entrySet()) {
                String k = e.getKey();
                if (k.equals("general.alignment") || k.endsWith("_mla")) {
                    continue;
                }
                w.put(k, switch (k) {
                    case "deepseek2.attention.key_length" -> GgufValue.uint32(nope + rope);
                    case "deepseek2.attention.value_length" -> GgufValue.uint32(v);
                    case "deepseek2.attention.head_count_kv" -> GgufValue.uint32(heads);
                    default -> e.getValue();
                });
            }
            for (TensorInfo t : in.tensors().values()) {
                String name = t.name();
                if (name.endsWith("attn_v_b.weight")) {
                    continue;
                }
                if (name.endsWith("attn_k_b.weight")) {
                    float[] kb = floats(in.readAll(t));                                   // [h][kvLora][nope]
                    float[] vb = floats(in.readAll(in.tensor(name.replace("attn_k_b", "attn_v_b")))); // [h][v][kvLora]
                    float[] kvb = new float[heads * (nope + v) * kvLora];                 // [h*(nope+v)][kvLora]
                    for (int h = 0; h < heads; h++) {
                        for (int i = 0; i < nope + v; i++) {
                            for (int j = 0; j < kvLora; j++) {
                                kvb[(h * (nope + v) + i) * kvLora + j] = i < nope
                                        ? kb[(h * kvLora + j) * nope + i] : vb[(h * v + i - nope) * kvLora + j];
                            }
                        }
                    }
                    w.addTensor(name.replace("attn_k_b", "attn_kv_b"), new long[] {kvLora, heads * (nope + v)},
                            GgmlType.F32, bytes(kvb));
                    continue;
                }
                w.addTensor(name, t.dims(), t.type(), in.readAll(t));
            }
            w.write(legacy);
        }
        Model a = Model.load(split);
        Model b = Model.load(legacy);
        assertEquals(a.config, b.config);
        int[] tokens = {5, 77, 300, 12, 9, 401, 2, 88};
        assertArrayEquals(logits(a, tokens), logits(b, tokens));
    }

    private static float[] logits(Model m, int[] tokens) {
        ContiguousKvCache kv = new ContiguousKvCache(m.config, 1, tokens.length);
        State s = m.newState(tokens.length);
        Batch batch = new Batch(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            batch.add(tokens[i], i, 0, true);
        }
        float[] out = new float[tokens.length * m.config.vocabSize()];
        try (Parallel p = new Parallel(2)) {
            m.forward(batch, kv, s, out, p);
        }
        return out;
    }

    private static float[] floats(byte[] b) {
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    private static byte[] bytes(float[] f) {
        byte[] b = new byte[f.length * 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(f);
        return b;
    }
}
