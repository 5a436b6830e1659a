package dev.r1flink.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * llama.cpp's tokenizer test vectors: {@code X.gguf.inp} holds test texts, each followed by the line
 * {@code __ggml_vocab_test__}; {@code X.gguf.out} holds one line per text with the expected token ids, each preceded
 * by a space (no BOS, special tokens not parsed).
 */
public final class VocabTestVectors {

    /** What follows every test text in an {@code .inp} file. */
    public static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    private VocabTestVectors() {
    }

    /** The texts of an {@code .inp} file, in order, untrimmed (a text may be empty or all white space). */
    public static List<String> readInputs(Path inp) throws IOException {
        String all = Files.readString(inp, StandardCharsets.UTF_8);
        List<String> texts = new ArrayList<>();
        int start = 0;
        while (start <= all.length()) {
            int sep = all.indexOf(SEPARATOR, start);
            if (sep < 0) {
                // llama.cpp's reader drops what follows the last separator (normally nothing).
                break;
            }
            texts.add(all.substring(start, sep));
            start = sep + SEPARATOR.length();
        }
        return texts;
    }

    /** The expected ids of an {@code .out} file, one array per line. */
    public static List<int[]> readOutputs(Path out) throws IOException {
        List<int[]> ids = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            String s = line.strip();
            ids.add(s.isEmpty() ? new int[0] : Arrays.stream(s.split(" ")).mapToInt(Integer::parseInt).toArray());
        }
        return ids;
    }

    /** One {@code .out} line: each id preceded by a space. */
    public static String format(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length * 7);
        for (int id : ids) {
            sb.append(' ').append(id);
        }
        return sb.toString();
    }
}
