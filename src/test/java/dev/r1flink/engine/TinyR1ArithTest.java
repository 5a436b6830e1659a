package dev.r1flink.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.model.BundledModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The bundled tiny-r1-arith model (trained by {@code tools/train-tiny-r1}) really reasons through our engine: greedy,
 * batched, on held-out problems it never saw in training, it writes a trace that closes with {@code </think>} and
 * then a boxed answer, and the answer is right. Three held-out sets: {@code heldout1000.jsonl} (issue 15: every
 * kind and phrasing the generator has, long multiplication and negative differences included), at least 97% right,
 * {@code heldout.jsonl} (the first model's 500, its narrower phrasings), at least 99% right, and
 * {@code heldout_small.jsonl} (150 one-digit cases and a - a), at least 147 right. Scores by kind are
 * printed; the shipped model's numbers are in {@code tools/train-tiny-r1/README.md}.
 *
 * <p>The whole sets run by default (~40 s on 2 idle cores with the native kernels; the file shipped 2026-12-01 after
 * issue 15's second stage: 99.4%, 99.8% and 149/150 with Q8_0, 99.3%, 99.8% and 149/150 with F32).
 * On a loaded machine {@code -Dr1.heldout.quick=true} runs every 5th problem (200 and 100, every kind still
 * present, and 30 small ones) against bounds of 95%, 98% and 28/30.
 */
class TinyR1ArithTest {

    private static final boolean FULL = !Boolean.getBoolean("r1.heldout.quick");
    /** The bundled file scored: Q8_0 by default, {@code -Dr1.heldout.model=bundled:tiny-r1-arith-f32} for F32. */
    private static final String MODEL = System.getProperty("r1.heldout.model", BundledModels.DEFAULT);
    private static final int EVERY = FULL ? 1 : 5;
    private static final int SMALL_MIN = 147; // 98%

    private static final Pattern BOXED = Pattern.compile("\\\\boxed\\{(-?\\d+)\\}");
    private static final Pattern ANSWER = Pattern.compile("\"answer\":\\s*(-?\\d+)");
    private static final Pattern KIND = Pattern.compile("\"kind\":\\s*\"([^\"]*)\"");
    private static final Pattern PROBLEM = Pattern.compile("\"problem\":\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    @Test
    void answersTheHeldOutSetOfEveryKindAndPhrasing() throws Exception {
        Score s = score(Path.of("tools/train-tiny-r1/heldout1000.jsonl"));
        assertEquals(1000 / EVERY, s.total);
        for (String kind : List.of("add", "sub", "sub-neg", "mul", "mul-long", "word-add", "word-sub", "word-mul")) {
            assertTrue(s.byKind.containsKey(kind), "held-out set covers " + kind + ": " + s.byKind.keySet());
        }
        assertTrue(s.correct >= (FULL ? 970 : 190), s.report());
    }

    @Test
    void stillAnswersTheFirstModelsHeldOutSet() throws Exception {
        Score s = score(Path.of("tools/train-tiny-r1/heldout.jsonl"));
        assertEquals(500 / EVERY, s.total);
        assertTrue(s.correct >= (FULL ? 495 : 98), s.report());
    }

    /**
     * What a new user types first: two one-digit numbers added, subtracted (negative results and zeros included)
     * or multiplied, and a number minus itself ({@code heldout_small.jsonl}: {@code What is 3 + 4?}, {@code 5 - 9},
     * {@code 2 * 3}, {@code 9 x 9}, {@code 10 - 10}, {@code 1 + 1} and 130 random ones in every phrasing; none of
     * these texts is trained on, though the same number pairs are in other phrasings: there are only 100 of them).
     * The model before issue 15's second training stage, which never saw two one-digit numbers, got 57/150 here
     * ({@code 3 + 4 = 07}, {@code 10 - 10 = -0}).
     */
    @Test
    void answersTheSmallCasesANewUserTypes() throws Exception {
        Score s = score(Path.of("tools/train-tiny-r1/heldout_small.jsonl"));
        assertEquals(FULL ? 150 : 30, s.total);
        for (String kind : List.of("add-1d", "sub-1d", "mul-1d", "sub-same")) {
            assertTrue(s.byKind.containsKey(kind), "small set covers " + kind + ": " + s.byKind.keySet());
        }
        assertTrue(s.correct >= (FULL ? SMALL_MIN : 28), s.report());
    }

    /** Right answers, overall and by kind, of greedy generations for every problem of a held-out file. */
    private static Score score(Path file) throws Exception {
        List<String> all = Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < all.size(); i += EVERY) {
            lines.add(all.get(i));
        }
        // the longest trace (a 3-digit by 3-digit product) is ~590 tokens; the context is 640
        EngineOptions o = EngineOptions.builder().threads(2).maxSequences(32).maxBatchTokens(512)
                .kvCacheBytes(128L << 20).maxWait(Duration.ofMillis(2)).build();
        Score s = new Score(file.getFileName().toString());
        try (Engine engine = Engine.open(BundledModels.resolve(MODEL), o)) {
            List<Generation> gs = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                gs.add(engine.submit(GenerationRequest.builder("h" + i, field(PROBLEM, lines.get(i))).temperature(0f)
                        .maxTokens(600).build(), StreamListener.NONE));
            }
            for (int i = 0; i < gs.size(); i++) {
                GenerationResult r = gs.get(i).result().get(10, TimeUnit.MINUTES);
                assertEquals(FinishReason.STOP, r.finishReason(), r.toString());
                assertTrue(r.reasoningTokens() > 0 && !r.reasoning().isBlank(), "a trace first: " + r);
                Matcher boxed = BOXED.matcher(r.answer());
                String got = null;
                while (boxed.find()) {
                    got = boxed.group(1);
                }
                s.add(field(KIND, lines.get(i)), field(ANSWER, lines.get(i)).equals(got),
                        lines.get(i) + " -> " + r.answer().strip());
            }
        }
        System.out.println(s.report());
        return s;
    }

    private static String field(Pattern p, String line) {
        Matcher m = p.matcher(line);
        assertTrue(m.find(), p + " in " + line);
        return m.group(1).replace("\\\"", "\"");
    }

    private static final class Score {
        final String name;
        final Map<String, int[]> byKind = new TreeMap<>(); // kind -> {right, total}
        final List<String> wrong = new ArrayList<>();
        int correct;
        int total;

        Score(String name) {
            this.name = name;
        }

        void add(String kind, boolean right, String line) {
            int[] k = byKind.computeIfAbsent(kind, x -> new int[2]);
            k[1]++;
            total++;
            if (right) {
                k[0]++;
                correct++;
            } else {
                wrong.add(line);
            }
        }

        String report() {
            StringBuilder b = new StringBuilder(String.format("%s on %s: %d/%d right (%.1f%%)",
                    MODEL, name, correct, total, 100.0 * correct / total));
            byKind.forEach((k, v) -> b.append(String.format("%n  %-9s %d/%d", k, v[0], v[1])));
            wrong.forEach(w -> b.append("\n  wrong: ").append(w));
            return b.toString();
        }
    }
}
