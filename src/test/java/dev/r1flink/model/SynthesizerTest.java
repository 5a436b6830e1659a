package dev.r1flink.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.tensor.GgmlType;
import dev.r1flink.tensor.Parallel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthesizerTest {

    @TempDir
    Path dir;

    static Path sharedVocab(String name) {
        String shared = System.getProperty("r1.shared.dir");
        Path p = shared == null ? null : Path.of(shared, "testdata", "vocab", name);
        if (p == null || !Files.exists(p)) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("test data missing: " + p);
            }
            Assumptions.abort("test data missing: " + p + " (set r1.shared.dir)");
        }
        return p;
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherWeights() throws IOException {
        Synthesizer.Shape s = Synthesizer.shape("tiny-qwen3");
        Path a = dir.resolve("a.gguf"), b = dir.resolve("b.gguf"), c = dir.resolve("c.gguf");
        new Synthesizer(s, "F32", null, 11).write(a, null);
        new Synthesizer(s, "F32", null, 11).write(b, null);
        new Synthesizer(s, "F32", null, 12).write(c, null);
        assertEquals(-1L, Files.mismatch(a, b));
        assertTrue(Files.mismatch(a, c) >= 0);
    }

    @Test
    void q4KmPutsQ6KWhereLlamaCppDoes() {
        Synthesizer q = new Synthesizer(Synthesizer.shape("r1-distill-qwen-1.5b"), "Q4_K_M", null, 1);
        assertEquals(GgmlType.Q6_K, q.weightType("output.weight"));
        assertEquals(GgmlType.Q4_K, q.weightType("token_embd.weight"));
        assertEquals(GgmlType.Q4_K, q.weightType("blk.5.attn_q.weight"));
        // 28 layers: first 3 (< 28/8), last 4 (>= 7*28/8 = 24), and (i - 3) % 3 == 2 between
        int sixBit = 0;
        for (int i = 0; i < 28; i++) {
            boolean more = q.weightType("blk." + i + ".ffn_down.weight") == GgmlType.Q6_K;
            assertEquals(more, q.weightType("blk." + i + ".attn_v.weight") == GgmlType.Q6_K);
            assertEquals(i < 3 || i >= 24 || (i - 3) % 3 == 2, more, "layer " + i);
            sixBit += more ? 1 : 0;
        }
        assertEquals(3 + 4 + 7, sixBit);
    }

    @Test
    void llama3RopeFactorsFollowTheWavelengthRule() {
        float[] f = Synthesizer.llama3RopeFreqs(500000f, 128);
        assertEquals(64, f.length);
        assertEquals(1f, f[0]);   // shortest wavelengths are not scaled
        assertEquals(8f, f[63]);  // longest are divided by the factor
        for (int i = 1; i < f.length; i++) {
            assertTrue(f[i] >= f[i - 1], "monotone at " + i);
        }
    }

    @Test
    void copiesTokenizerAndPadsVocabLikeRealModels() throws IOException {
        Path vocab = sharedVocab("derived/ggml-vocab-deepseek-r1-qwen.gguf");
        // r1-distill-qwen-7b pads 151936 tokens to 152064; a one-layer model with that vocab, tied to stay small
        Synthesizer.Shape s = new Synthesizer.Shape("pad-test", Architecture.QWEN2, 1, 256, 4, 2, 0, 256, 152064,
                10000f, 1e-6f, 4096, true, false);
        Path out = dir.resolve("pad.gguf");
        new Synthesizer(s, "F32", vocab, 3).write(out, null);
        try (GgufFile g = GgufFile.open(out); GgufFile v = GgufFile.open(vocab)) {
            String[] tokens = g.getStringArray("tokenizer.ggml.tokens");
            int[] types = g.getIntArray("tokenizer.ggml.token_type");
            assertEquals(152064, tokens.length);
            assertEquals("[PAD152063]", tokens[152063]);
            assertEquals(5, types[152000]);
            assertArrayEquals(v.getStringArray("tokenizer.ggml.merges"), g.getStringArray("tokenizer.ggml.merges"));
            assertEquals(v.getString("tokenizer.chat_template"), g.getString("tokenizer.chat_template"));
            assertEquals(151643, g.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(152064, ModelConfig.from(g).vocabSize());
        }
    }

    /** The property the llama.cpp parity tests rely on: greedy picks win by a wide margin, and only normal tokens. */
    @Test
    void greedyDecodingHasWideMarginsAndEmitsOnlyNormalTokens() throws IOException {
        Path vocab = sharedVocab("derived/ggml-vocab-deepseek-r1-qwen.gguf");
        Path out = dir.resolve("m.gguf");
        new Synthesizer(Synthesizer.shape("tiny-qwen2"), "F32", vocab, 42).write(out, null);
        int[] types;
        try (GgufFile g = GgufFile.open(out)) {
            types = g.getIntArray("tokenizer.ggml.token_type");
        }
        Model m = Model.load(out);
        int vocabSize = m.config.vocabSize();
        KvCache kv = new ContiguousKvCache(m.config, 1, 64);
        State st = m.newState(1);
        Batch b = new Batch(1);
        float[] logits = new float[vocabSize];
        int token = 151646; // BOS
        try (Parallel p = new Parallel(2)) {
            for (int pos = 0; pos < 16; pos++) {
                b.clear();
                b.add(token, pos, 0, true);
                m.forward(b, kv, st, logits, p);
                int best = 0;
                for (int v = 1; v < vocabSize; v++) {
                    best = logits[v] > logits[best] ? v : best;
                }
                float second = Float.NEGATIVE_INFINITY;
                for (int v = 0; v < vocabSize; v++) {
                    second = v != best ? Math.max(second, logits[v]) : second;
                }
                assertEquals(1, types[best], "token " + best + " is not a normal token");
                assertTrue(logits[best] - second > 0.05f * Math.abs(logits[best]),
                        "pos " + pos + ": margin " + (logits[best] - second) + " on top logit " + logits[best]);
                token = best;
            }
        }
        assertFalse(token == 151643);
    }
}
