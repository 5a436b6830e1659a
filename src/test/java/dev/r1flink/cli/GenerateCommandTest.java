package dev.r1flink.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.model.Batch;
import dev.r1flink.model.ContiguousKvCache;
import dev.r1flink.model.Model;
import dev.r1flink.model.State;
import dev.r1flink.tensor.Parallel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {

    @TempDir
    Path dir;

    @Test
    void synthThenGenerateGreedyIdsMatchTokenByTokenDecoding() throws Exception {
        Path model = dir.resolve("m.gguf");
        assertEquals(0, Main.commandLine().execute("synth", "--shape", "tiny-llama", "--seed", "5", "-o", model.toString()));

        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = Main.commandLine().execute("generate", "-m", model.toString(), "--prompt-ids", "1,2,3,4,5",
                    "--prefill-chunk", "2", "--max-tokens", "8", "--ids", "--threads", "2");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, rc);
        String[] lines = buf.toString(StandardCharsets.UTF_8).strip().split("\n");
        int[] got = Arrays.stream(lines[lines.length - 1].trim().split(" ")).mapToInt(Integer::parseInt).toArray();

        // expected: feed the prompt one token at a time, then greedy
        Model m = Model.load(model);
        ContiguousKvCache kv = new ContiguousKvCache(m.config, 1, 32);
        State s = m.newState(1);
        Batch b = new Batch(1);
        float[] logits = new float[m.config.vocabSize()];
        int[] want = new int[8];
        try (Parallel p = new Parallel(1)) {
            int[] prompt = {1, 2, 3, 4, 5};
            for (int i = 0; i < prompt.length; i++) {
                b.clear();
                b.add(prompt[i], i, 0, true);
                m.forward(b, kv, s, logits, p);
            }
            for (int i = 0; i < want.length; i++) {
                want[i] = GenerateCommand.argmax(logits);
                b.clear();
                b.add(want[i], prompt.length + i, 0, true);
                m.forward(b, kv, s, logits, p);
            }
        }
        assertTrue(Arrays.equals(want, got), Arrays.toString(want) + " vs " + Arrays.toString(got));
    }

    @Test
    void chatPromptWithVocabStreamsReasoningAndIds() throws Exception {
        String shared = System.getProperty("r1.shared.dir");
        Path vocab = shared == null ? null : Path.of(shared, "testdata/vocab/derived/ggml-vocab-deepseek-r1-qwen.gguf");
        if (vocab == null || !java.nio.file.Files.exists(vocab)) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("test data missing: " + vocab);
            }
            org.junit.jupiter.api.Assumptions.abort("test data missing: " + vocab);
        }
        Path model = dir.resolve("v.gguf");
        assertEquals(0, Main.commandLine().execute("synth", "--shape", "tiny-qwen3", "--type", "Q8_0",
                "--vocab", vocab.toString(), "-o", model.toString()));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = Main.commandLine().execute("generate", "-m", model.toString(), "--prompt", "Why is the sky blue?",
                    "--max-tokens", "6", "--ids", "--threads", "1");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, rc);
        String[] lines = buf.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertEquals("=== reasoning ===", lines[0]);
        // the synthesized model never emits EOS, so all 6 tokens come out
        assertEquals(6, lines[lines.length - 1].trim().split(" ").length, String.join("\n", lines));
    }
}
