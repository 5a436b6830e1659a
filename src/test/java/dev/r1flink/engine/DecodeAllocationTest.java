package dev.r1flink.engine;

import dev.r1flink.model.Model;
import dev.r1flink.model.ModelRunner;
import dev.r1flink.model.Synthesizer;
import dev.r1flink.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The decode loop allocates nothing per token beyond the output text: measured with the thread's allocation counter
 * over steady decode steps of 8 sequences on the real forward pass (tiny synthesized Qwen2, one thread so every
 * allocation lands on this thread).
 */
class DecodeAllocationTest {

    @Test
    void decodeStepsAllocateOnlyTheOutputText(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("tiny.gguf");
        new Synthesizer(Synthesizer.shape("tiny-qwen2"), "F32", null, 5).write(f, null);
        Model model = Model.load(f);
        IdCodec codec = new IdCodec(model.config.vocabSize());
        EngineOptions o = EngineOptions.builder().threads(1).thinkPrefix(false).maxWait(Duration.ZERO)
                .maxSequences(8).maxBatchTokens(64).kvCacheBytes(64L << 20).build();
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long me = Thread.currentThread().getId();
        try (Parallel p = new Parallel(1)) {
            // counts what the forward pass itself allocates, so the engine's share can be told apart
            ModelForward inner = new ModelForward(new ModelRunner(model));
            long[] inForward = {0};
            ForwardModel counting = new ForwardModel() {
                @Override public int vocabularySize() { return inner.vocabularySize(); }
                @Override public int contextLength() { return inner.contextLength(); }
                @Override public int blockCount() { return inner.blockCount(); }
                @Override public int kvDim() { return inner.kvDim(); }
                @Override public void forward(dev.r1flink.model.Batch b, dev.r1flink.model.KvCache kv, float[] l, Parallel par) {
                    long a = mx.getThreadAllocatedBytes(me);
                    inner.forward(b, kv, l, par);
                    inForward[0] += mx.getThreadAllocatedBytes(me) - a;
                }
            };
            Scheduler s = new Scheduler(counting, codec, o, p);
            List<Sequence> seqs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                // greedy and seeded R1 sampling (the top-p sort must not allocate either)
                GenerationRequest r = GenerationRequest.builder("a" + i, "1 2 3 " + (10 + i)).maxTokens(400)
                        .temperature(i % 2 == 0 ? 0f : 0.6f).seed((long) i).build();
                Sequence q = BatchingEngine.sequence(i, r, codec.encodePrompt(r, false), null, o,
                        model.config.vocabSize(), () -> { });
                s.submit(q);
                seqs.add(q);
            }
            for (int i = 0; i < 50; i++) s.step(); // prefill, warm-up, JIT
            long tokens0 = s.generatedTokens;
            long bytes0 = mx.getThreadAllocatedBytes(me);
            inForward[0] = 0;
            for (int i = 0; i < 200; i++) s.step();
            long bytes = mx.getThreadAllocatedBytes(me) - bytes0;
            long tokens = s.generatedTokens - tokens0;
            assertEquals(1600, tokens);
            double perToken = (bytes - inForward[0]) / (double) tokens;
            // output text: "<id>" appended to a StringBuilder (amortized growth) and one delta String per token
            System.out.printf("decode allocation: engine %.1f bytes/token, model forward %.1f bytes/token%n",
                    perToken, inForward[0] / (double) tokens);
            assertTrue(perToken < 256, "engine allocated " + perToken + " bytes per token");
        }
    }
}
