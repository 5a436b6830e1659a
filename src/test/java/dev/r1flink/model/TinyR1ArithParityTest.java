package dev.r1flink.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.r1flink.tensor.Parallel;
import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.ChatTemplate;
import dev.r1flink.tokenizer.Vocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The bundled tiny-r1-arith model runs token for token as in PyTorch and llama.cpp. {@code pytorch_greedy.jsonl}
 * holds, for 56 held-out problems (the first five of every kind in {@code heldout1000.jsonl}, long multiplication
 * and negative differences included, the first eight of the old {@code heldout.jsonl}, then the first two of every
 * kind of {@code heldout_small.jsonl}: {@code 3 + 4}, {@code 10 - 10}, ...), the prompt ids and
 * PyTorch's greedy ids with the Q8_0 weights; llama.cpp (node-llama-cpp 3.21.1) reproduces them
 * ({@code tools/train-tiny-r1/check_llamacpp.mjs}, {@code llamacpp-check-q8_0.txt}). Here our tokenizer + chat
 * template must give the same prompt ids, and our forward pass the same greedy ids.
 */
class TinyR1ArithParityTest {

    private static final Pattern FIELD = Pattern.compile("\"(problem|prompt_ids|q8_0_ids)\":\\s*(\"(?:[^\"\\\\]|\\\\.)*\"|\\[[^\\]]*\\])");

    @Test
    void greedyIdsEqualTheReference() throws Exception {
        Path gguf = BundledModels.resolve(BundledModels.DEFAULT);
        Model model = Model.load(gguf);
        ChatTemplate template = new ChatTemplate(new BpeTokenizer(Vocabulary.load(gguf)));
        int vocab = model.config.vocabSize();
        List<String> lines = Files.readAllLines(Path.of("tools/train-tiny-r1/pytorch_greedy.jsonl"));
        assertEquals(56, lines.size());
        try (Parallel parallel = new Parallel(2)) {
            for (String line : lines) {
                String problem = null;
                int[] prompt = null;
                int[] expected = null;
                Matcher m = FIELD.matcher(line);
                while (m.find()) {
                    switch (m.group(1)) {
                        case "problem" -> problem = m.group(2).substring(1, m.group(2).length() - 1).replace("\\\"", "\"");
                        case "prompt_ids" -> prompt = ids(m.group(2));
                        default -> expected = ids(m.group(2));
                    }
                }
                assertArrayEquals(prompt, template.apply(null, problem), "prompt ids of " + problem);

                ContiguousKvCache kv = new ContiguousKvCache(model.config, 1, model.config.contextLength());
                Batch batch = new Batch(prompt.length);
                State state = model.newState(prompt.length);
                float[] logits = new float[vocab];
                for (int i = 0; i < prompt.length; i++) {
                    batch.add(prompt[i], i, 0, i == prompt.length - 1);
                }
                int[] got = new int[expected.length];
                for (int step = 0; step < expected.length; step++) {
                    model.forward(batch, kv, state, logits, parallel);
                    int best = 0;
                    for (int v = 1; v < vocab; v++) {
                        if (logits[v] > logits[best]) {
                            best = v;
                        }
                    }
                    got[step] = best;
                    batch.clear();
                    batch.add(best, prompt.length + step, 0, true);
                }
                assertArrayEquals(expected, got, "greedy ids for " + problem);
            }
        }
    }

    private static int[] ids(String json) {
        String body = json.substring(1, json.length() - 1).trim();
        return body.isEmpty() ? new int[0]
                : java.util.Arrays.stream(body.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
    }
}
