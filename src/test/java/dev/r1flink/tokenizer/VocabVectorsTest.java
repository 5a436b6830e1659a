package dev.r1flink.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * llama.cpp's golden tokenizer vectors ({@code testdata/vocab}): every case of every {@code .inp/.out} file must
 * match exactly (no BOS, special tokens not parsed, as {@code test-tokenizer-0} runs them), and decoding the tokens
 * must give the text back.
 */
class VocabVectorsTest {

    private static final Map<String, BpeTokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    static BpeTokenizer tokenizer(String vocabFile) throws Exception {
        BpeTokenizer t = TOKENIZERS.get(vocabFile);
        if (t == null) {
            Path path = SharedTestData.require("testdata/vocab/" + vocabFile);
            t = new BpeTokenizer(Vocabulary.load(path));
            TOKENIZERS.put(vocabFile, t);
        }
        return t;
    }

    @ParameterizedTest(name = "{0} with {1}")
    @CsvSource({
            "ggml-vocab-qwen2.gguf, ggml-vocab-qwen2.gguf",
            "ggml-vocab-llama-bpe.gguf, ggml-vocab-llama-bpe.gguf",
            "ggml-vocab-deepseek-llm.gguf, ggml-vocab-deepseek-llm.gguf",
            "derived/ggml-vocab-deepseek-r1-qwen.gguf, ggml-vocab-deepseek-r1-qwen.gguf",
            "derived/ggml-vocab-deepseek-r1-qwen.gguf, ggml-vocab-qwen2.gguf",
    })
    void matchesLlamaCppVectors(String vocabFile, String vectors) throws Exception {
        BpeTokenizer tokenizer = tokenizer(vocabFile);
        List<String> texts = VocabTestVectors.readInputs(SharedTestData.require("testdata/vocab/" + vectors + ".inp"));
        List<int[]> expected = VocabTestVectors.readOutputs(SharedTestData.require("testdata/vocab/" + vectors + ".out"));
        assertEquals(texts.size(), expected.size(), "cases in .inp vs lines in .out");
        assertTrue(texts.size() >= 40, "expected the 46-case test set, got " + texts.size());

        List<String> failures = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            int[] got = tokenizer.encode(text, false, false);
            if (!Arrays.equals(expected.get(i), got)) {
                failures.add("case " + i + " " + quote(text) + "\n  expected" + VocabTestVectors.format(expected.get(i))
                        + "\n  got     " + VocabTestVectors.format(got));
            }
            String back = tokenizer.decode(got);
            if (!back.equals(text)) {
                failures.add("case " + i + " " + quote(text) + ": decode gave " + quote(back));
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " of " + texts.size() + " cases failed:\n"
                + String.join("\n", failures));
    }

    static String quote(String s) {
        return "'" + s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "'";
    }
}
