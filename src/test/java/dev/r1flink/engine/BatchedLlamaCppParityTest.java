package dev.r1flink.engine;

import dev.r1flink.engine.sampling.SamplingParams;
import dev.r1flink.model.LlamaCppGolden;
import dev.r1flink.model.Model;
import dev.r1flink.tokenizer.SharedTestData;
import dev.r1flink.model.Synthesizer;
import dev.r1flink.tensor.Parallel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.StringJoiner;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The engine against llama.cpp with batching on: llama.cpp's greedy continuation of one prompt, run alone
 * (the golden files of {@code dev.r1flink.model.LlamaCppParityTest}, F32 and F16 synthetic models, seed 42), must come
 * out unchanged when the same prompt runs through the {@link Scheduler} among other sequences.
 *
 * <p>Each run puts the golden prompt (llama.cpp's own prompt ids, fed as ids so no tokenizer is involved) into a
 * batch of 6 sequences, at arrival positions 0, 3 and 5, between random prompts of 7, 45 and 19 tokens. The fifth
 * (random) and sixth (golden) sequences arrive while the others already decode, so their prefill chunks share steps
 * with decode rows. {@code maxBatchTokens} 16 splits the longer prompts over several steps and blocks of 4 cells
 * page the F16 KV cache (llama.cpp used an F16 KV cache too). Prefix caching is on for the F16 goldens, where the late
 * golden copy reuses the first copy's prompt blocks, and off for the F32 ones. Greedy, 32 tokens, 2 threads;
 * end-of-generation never stops a sequence ({@link IdCodec} has none), so all 32 golden ids are compared even if
 * llama.cpp's continuation ran past an end token.
 */
class BatchedLlamaCppParityTest {

    static final int SEQUENCES = 6;
    static final int[] GOLDEN_AT = {0, 3, 5};          // arrival positions of the golden prompt's copies
    static final int[] RANDOM_LENGTHS = {7, 45, 19};   // the other prompts, at arrival positions 1, 2, 4
    static final int LATE_FROM = 4;                    // arrival positions >= this are submitted after LATE_STEPS
    static final int LATE_STEPS = 5;

    @TempDir
    static Path tmp;
    static Parallel parallel;

    @BeforeAll
    static void setUp() {
        parallel = new Parallel(2);
    }

    @AfterAll
    static void tearDown() throws Exception {
        parallel.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-f32", "qwen2-f16", "llama-f32", "llama-f16", "qwen3-f32", "qwen3-f16",
            "deepseek2-f32", "deepseek2-lite-f32"})
    void eachBatchedCopyEqualsLlamaCppGreedy(String name) throws IOException {
        LlamaCppGolden g = LlamaCppGolden.load("/golden/" + name + ".json");
        assertEquals("greedy", g.mode(), name + ": not a greedy golden");
        Path vocab = SharedTestData.require(g.vocab());
        Path file = tmp.resolve(name + ".gguf");
        new Synthesizer(Synthesizer.shape(g.shape()), g.type(), vocab, g.seed()).write(file, null);
        Model model = Model.load(file);
        Files.delete(file); // on the heap now; up to 320 MB each
        int vocabSize = model.config.vocabSize();

        // F32 goldens with prefix caching off (every golden copy computes its prompt inside the batch), F16 goldens
        // with it on (the late copy reuses the first copy's prompt blocks): both paths for every architecture
        boolean prefixCaching = g.type().equals("F16") || name.equals("deepseek2-lite-f32"); // MLA: both paths too
        EngineOptions o = EngineOptions.builder().threads(2).thinkPrefix(false).maxWait(Duration.ZERO)
                .maxSequences(SEQUENCES).maxBatchTokens(16).blockSize(4).kvCacheBytes(64L << 20)
                .sampling(SamplingParams.GREEDY).prefixCaching(prefixCaching).build();
        Scheduler s = new Scheduler(new ModelForward(model), new IdCodec(vocabSize), o, parallel);
        List<Sequence> seqs = new ArrayList<>();
        Random r = new Random(7);
        int nextRandom = 0;
        for (int i = 0; i < SEQUENCES; i++) {
            int[] prompt = contains(GOLDEN_AT, i) ? g.promptIds()
                    : r.ints(RANDOM_LENGTHS[nextRandom++], 0, vocabSize).toArray();
            GenerationRequest req = GenerationRequest.builder("q" + i, ids(prompt)).maxTokens(g.ids().length)
                    .temperature(0f).build();
            seqs.add(BatchingEngine.sequence(i, req, prompt, null, o, vocabSize, () -> { }));
        }
        for (int i = 0; i < LATE_FROM; i++) s.submit(seqs.get(i));
        for (int i = 0; i < LATE_STEPS; i++) s.step();
        assertTrue(seqs.get(0).generated > 0, "the early sequences decode when the late ones arrive");
        for (int i = LATE_FROM; i < SEQUENCES; i++) s.submit(seqs.get(i));
        for (int i = 0; i < 10_000 && !s.idle(); i++) s.step();
        assertTrue(s.idle(), "scheduler did not finish");
        assertEquals(SEQUENCES, s.maxSequencesSeen, "all sequences ran in one batch at some step");

        for (int i : GOLDEN_AT) {
            Sequence q = seqs.get(i);
            GenerationResult res = q.result().join();
            assertEquals(FinishReason.LENGTH, res.finishReason(), res.error());
            assertEquals(g.promptIds().length, q.promptLength);
            int[] ours = Arrays.copyOfRange(q.tokens, q.promptLength, q.length);
            String where = String.format(Locale.ROOT, "%s, golden copy at batch position %d of %d, prefix caching %s",
                    name, i, SEQUENCES, prefixCaching);
            assertArrayEquals(g.ids(), ours, where + ": generated ids differ from llama.cpp's greedy ids");
            // the emitted text (IdCodec writes "<id>" per token) says the same
            StringBuilder expected = new StringBuilder();
            for (int t : g.ids()) expected.append('<').append(t).append('>');
            assertEquals(expected.toString(), res.answer(), where + ": output text");
        }
        System.out.printf(Locale.ROOT, "batched parity %s, prefix caching %s: %d steps, golden copies reused"
                + " %d/%d/%d prompt positions%n", name, prefixCaching, s.steps,
                seqs.get(0).reusedPrefix, seqs.get(3).reusedPrefix, seqs.get(5).reusedPrefix);
        if (prefixCaching) {
            assertTrue(seqs.get(5).reusedPrefix > 0, "the late golden copy reuses cached prompt blocks");
        }
        for (int i = 0; i < SEQUENCES; i++) {
            assertEquals(FinishReason.LENGTH, seqs.get(i).result().join().finishReason(), "sequence " + i);
        }
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }

    private static String ids(int[] prompt) {
        StringJoiner j = new StringJoiner(" ");
        for (int t : prompt) j.add(Integer.toString(t));
        return j.toString();
    }

}
