package dev.r1flink.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.model.BundledModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The bundled tiny-r1-arith model (trained by {@code tools/train-tiny-r1}) really reasons through our engine: greedy,
 * batched, on held-out problems it never saw in training, it writes a trace that closes with {@code </think>} and
 * then a boxed answer, and the answer is right on at least 90 of the first 100 (issue 6). The shipped model scores
 * 99/100 here and in PyTorch (98.2% on all 500, scored by {@code eval_heldout.py}, {@code report.json}).
 */
class TinyR1ArithTest {

    private static final Pattern BOXED = Pattern.compile("\\\\boxed\\{(-?\\d+)\\}");
    private static final Pattern ANSWER = Pattern.compile("\"answer\":\\s*(-?\\d+)");
    private static final Pattern PROBLEM = Pattern.compile("\"problem\":\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    @Test
    void answersHeldOutProblemsWithATraceFirst() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("tools/train-tiny-r1/heldout.jsonl")).subList(0, 100);
        EngineOptions o = EngineOptions.builder().threads(2).maxSequences(16).maxBatchTokens(256)
                .kvCacheBytes(64L << 20).maxWait(Duration.ofMillis(2)).build();
        int correct = 0;
        List<String> wrong = new ArrayList<>();
        try (Engine engine = Engine.open(BundledModels.resolve(BundledModels.DEFAULT), o)) {
            List<Generation> gs = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                Matcher p = PROBLEM.matcher(lines.get(i));
                assertTrue(p.find(), lines.get(i));
                gs.add(engine.submit(GenerationRequest.builder("h" + i, p.group(1)).temperature(0f).maxTokens(224)
                        .build(), StreamListener.NONE));
            }
            for (int i = 0; i < gs.size(); i++) {
                GenerationResult r = gs.get(i).result().get(5, TimeUnit.MINUTES);
                assertEquals(FinishReason.STOP, r.finishReason(), r.toString());
                assertTrue(r.reasoningTokens() > 0 && !r.reasoning().isBlank(), "a trace first: " + r);
                Matcher expected = ANSWER.matcher(lines.get(i));
                assertTrue(expected.find());
                Matcher boxed = BOXED.matcher(r.answer());
                String got = null;
                while (boxed.find()) {
                    got = boxed.group(1);
                }
                if (expected.group(1).equals(got)) {
                    correct++;
                } else {
                    wrong.add(lines.get(i) + " -> " + r.answer().strip());
                }
            }
        }
        System.out.printf("tiny-r1-arith: %d/100 held-out problems right%n", correct);
        wrong.forEach(w -> System.out.println("  wrong: " + w));
        assertTrue(correct >= 90, correct + "/100 right; wrong:\n" + String.join("\n", wrong));
    }
}
