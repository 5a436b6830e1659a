package dev.r1flink.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.tokenizer.SharedTestData;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TokenizeCommandTest {

    private record Run(int exitCode, String out, String err) { }

    private static Run run(String... args) {
        CommandLine cmd = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void inpModeReproducesTheOutFileExactly() throws Exception {
        Path dir = SharedTestData.require("testdata/vocab");
        Path vocab = SharedTestData.require("testdata/vocab/derived/ggml-vocab-deepseek-r1-qwen.gguf");
        Run r = run("tokenize", "--vocab", vocab.toString(),
                "--inp", dir.resolve("ggml-vocab-deepseek-r1-qwen.gguf.inp").toString());
        assertEquals(0, r.exitCode(), r.err());
        String expected = Files.readString(dir.resolve("ggml-vocab-deepseek-r1-qwen.gguf.out"), StandardCharsets.UTF_8);
        // The same as `diff <(./r1-flink tokenize ...) X.gguf.out` being empty (println uses the platform newline).
        assertEquals(expected, r.out().replace(System.lineSeparator(), "\n"));
    }

    @Test
    void textModePrintsIdsAndPieces() throws Exception {
        Path vocab = SharedTestData.require("testdata/vocab/derived/ggml-vocab-deepseek-r1-qwen.gguf");
        Run r = run("tokenize", "--vocab", vocab.toString(), "--text", "Hello world\n");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("9707 1879 198\n9707\t'Hello'\n1879\t' world'\n198\t'\\n'\n",
                r.out().replace(System.lineSeparator(), "\n"));

        Run special = run("tokenize", "--vocab", vocab.toString(), "--text", "<｜User｜>Hello", "--parse-special", "--bos");
        assertEquals("151646 151644 9707", special.out().lines().findFirst().orElse(""));

        Run chat = run("tokenize", "--vocab", vocab.toString(), "--text", "Hello", "--chat");
        assertEquals("151646 151644 9707 151645 151648 198", chat.out().lines().findFirst().orElse(""));
    }

    @Test
    void splitCharactersShowAsBytes() {
        assertEquals("' \\xF0\\x9F'", TokenizeCommand.escape(new byte[] {' ', (byte) 0xF0, (byte) 0x9F}));
        assertEquals("'你'", TokenizeCommand.escape("你".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void missingVocabIsAnErrorNotAStackTrace(@org.junit.jupiter.api.io.TempDir Path tmp) {
        Run r = run("tokenize", "--vocab", tmp.resolve("none.gguf").toString(), "--text", "x");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().startsWith("tokenize: "), r.err());
        assertEquals(2, run("tokenize", "--vocab", "x.gguf").exitCode()); // neither --inp nor --text
    }
}
