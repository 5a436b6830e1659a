package dev.r1flink.cli;

import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.ChatTemplate;
import dev.r1flink.tokenizer.VocabTestVectors;
import dev.r1flink.tokenizer.Vocabulary;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code r1-flink tokenize}: runs the tokenizer of a GGUF file on llama.cpp test vectors or on one text.
 *
 * <pre>
 * ./r1-flink tokenize --vocab ggml-vocab-qwen2.gguf --inp ggml-vocab-qwen2.gguf.inp | diff - ggml-vocab-qwen2.gguf.out
 * ./r1-flink tokenize --vocab model.gguf --text "Hello world"
 * </pre>
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Tokenize text with the vocabulary of a GGUF file.",
                "With --inp, prints one line per test text in llama.cpp's .out format (each id preceded by a space;"
                        + " no BOS, special tokens not parsed), so the output diffs clean against the .out file.",
                "With --text, prints the ids, then one line per token: id, tab, the token's text (escaped)."})
public final class TokenizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--vocab", required = true, paramLabel = "FILE.gguf",
            description = "GGUF file (model or vocab-only) with a byte-level BPE vocabulary.")
    Path vocab;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--inp", paramLabel = "TESTS.inp", description = "llama.cpp test vector file (.inp).")
        Path inp;

        @Option(names = "--text", paramLabel = "TEXT", description = "One text to tokenize.")
        String text;
    }

    @Option(names = "--parse-special", description = "With --text: recognise control tokens such as <｜User｜>.")
    boolean parseSpecial;

    @Option(names = "--bos", description = "With --text: start with the BOS token.")
    boolean bos;

    @Option(names = "--chat", description = "With --text: wrap the text in the R1 chat template as the user prompt.")
    boolean chat;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            BpeTokenizer tokenizer = new BpeTokenizer(Vocabulary.load(vocab));
            if (input.inp != null) {
                for (String text : VocabTestVectors.readInputs(input.inp)) {
                    out.println(VocabTestVectors.format(tokenizer.encode(text, false, false)));
                }
            } else {
                int[] ids = chat ? new ChatTemplate(tokenizer).apply("", input.text)
                        : tokenizer.encode(input.text, bos, parseSpecial);
                out.println(VocabTestVectors.format(ids).strip());
                for (int id : ids) {
                    out.println(id + "\t" + escape(tokenizer.tokenBytes(id, true)));
                }
            }
            out.flush();
            return 0;
        } catch (java.nio.file.NoSuchFileException e) {
            err.println("tokenize: no such file: " + e.getFile());
            err.flush();
            return 1;
        } catch (IOException | IllegalArgumentException e) {
            err.println("tokenize: " + e.getMessage());
            err.flush();
            return 1;
        }
    }

    /** The token's bytes as text: whitespace escaped, a byte that is not part of a whole character as \xHH. */
    static String escape(byte[] bytes) {
        StringBuilder sb = new StringBuilder("'");
        int i = 0;
        while (i < bytes.length) {
            int c = bytes[i] & 0xFF;
            int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            boolean whole = len > 0 && i + len <= bytes.length;
            for (int k = 1; whole && k < len; k++) {
                whole = (bytes[i + k] & 0xC0) == 0x80;
            }
            if (!whole) {
                sb.append(String.format("\\x%02X", c));
                i++;
                continue;
            }
            String s = new String(bytes, i, len, StandardCharsets.UTF_8);
            sb.append(switch (s) {
                case "\n" -> "\\n";
                case "\t" -> "\\t";
                case "\r" -> "\\r";
                case "\\" -> "\\\\";
                case "'" -> "\\'";
                default -> s;
            });
            i += len;
        }
        return sb.append('\'').toString();
    }
}
