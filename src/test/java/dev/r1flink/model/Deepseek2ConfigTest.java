package dev.r1flink.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
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
}
