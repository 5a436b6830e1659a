package dev.r1flink.engine;

import dev.r1flink.model.Synthesizer;
import dev.r1flink.tokenizer.SharedTestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Engine#open(Path, EngineOptions)} end to end: a tiny synthesized Qwen2 carrying DeepSeek-R1's real
 * tokenizer, the forced {@code <think>\n} prefix, and a thinking budget that must cut the reasoning.
 */
class EngineOnModelFileTest {

    @Test
    void budgetCutsTheReasoningAndTheAnswerFollows(@TempDir Path dir) throws Exception {
        Path vocab = SharedTestData.require("testdata/vocab/derived/ggml-vocab-deepseek-r1-qwen.gguf");
        Path model = dir.resolve("tiny-r1.gguf");
        new Synthesizer(Synthesizer.shape("tiny-qwen2"), "F16", vocab, 3).write(model, null);
        EngineOptions o = EngineOptions.builder().threads(2).maxSequences(4).maxBatchTokens(64)
                .kvCacheBytes(16 << 20).build();
        try (Engine engine = Engine.open(model, o)) {
            List<Generation> gs = new ArrayList<>();
            List<StringBuilder> reasoning = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                StringBuilder sb = new StringBuilder();
                reasoning.add(sb);
                gs.add(engine.submit(GenerationRequest.builder("b" + i, "Why is the sky blue? #" + i)
                                .maxReasoningTokens(5).maxTokens(20).seed((long) i).build(),
                        (d, r) -> { if (r) sb.append(d); }));
            }
            for (int i = 0; i < gs.size(); i++) {
                GenerationResult r = gs.get(i).result().get(60, TimeUnit.SECONDS);
                assertNull(r.error());
                assertTrue(r.promptTokens() > 8);
                assertEquals(5, r.reasoningTokens(), r.toString());
                assertTrue(r.finishReason() == FinishReason.LENGTH || r.finishReason() == FinishReason.BUDGET, r.toString());
                if (r.finishReason() == FinishReason.LENGTH) assertEquals(15, r.answerTokens(), r.toString());
                assertEquals(r.reasoning(), reasoning.get(i).toString());
                assertFalse(r.reasoning().contains("</think>") || r.answer().contains("</think>"));
                assertTrue(r.firstTokenNanos() > 0 && r.totalNanos() >= r.firstTokenNanos());
            }
        }
    }
}
