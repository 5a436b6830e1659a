package dev.r1flink.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Special tokens, BOS, decoding and robustness on the derived DeepSeek-R1-Distill-Qwen vocabulary. */
class BpeTokenizerTest {

    static final String R1_VOCAB = "derived/ggml-vocab-deepseek-r1-qwen.gguf";
    // Ids the test data README lists for the derived R1 vocabulary.
    static final int EOS = 151643;
    static final int USER = 151644;
    static final int ASSISTANT = 151645;
    static final int BOS = 151646;
    static final int THINK = 151648;
    static final int END_THINK = 151649;
    // From ggml-vocab-deepseek-r1-qwen.gguf.out: "Hello" -> 9707, "\n" -> 198, " world" -> 1879.
    static final int HELLO = 9707;
    static final int NEWLINE = 198;

    static BpeTokenizer tok;

    @BeforeAll
    static void load() throws Exception {
        tok = VocabVectorsTest.tokenizer(R1_VOCAB);
    }

    @Test
    void vocabularyMetadata() {
        Vocabulary v = tok.vocabulary();
        assertEquals("deepseek-r1-qwen", v.pre());
        assertEquals(151936, v.size());
        assertEquals(BOS, v.bos());
        assertEquals(EOS, v.eos());
        assertEquals(EOS, v.eot());
        assertTrue(v.addBos());
        assertEquals(0, v.droppedMerges());
        assertEquals(TokenType.CONTROL, v.tokenType(USER));
        assertEquals(TokenType.USER_DEFINED, v.tokenType(THINK));
        assertEquals(TokenType.UNUSED, v.tokenType(151665));
        assertEquals(THINK, v.tokenId("<think>"));
        assertEquals(-1, v.tokenId("<no such token>"));
        assertTrue(v.isEndOfGeneration(EOS));
        assertFalse(v.isEndOfGeneration(END_THINK));
        assertFalse(v.isEndOfGeneration(HELLO));
    }

    @Test
    void userDefinedTokensAreAlwaysSplitOut() {
        int[] ids = tok.encode("<think>\nHello</think>", false, false);
        assertArrayEquals(new int[] {THINK, NEWLINE, HELLO, END_THINK}, ids);
        assertArrayEquals(ids, tok.encode("<think>\nHello</think>", false, true));
    }

    @Test
    void controlTokensAreSplitOutOnlyWhenParsingSpecials() {
        String text = "<｜User｜>Hello";
        assertArrayEquals(new int[] {USER, HELLO}, tok.encode(text, false, true));
        int[] plain = tok.encode(text, false, false);
        assertTrue(plain.length > 2, Arrays.toString(plain));
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == USER), Arrays.toString(plain));
        assertEquals(text, tok.decode(plain));
        // The longest special token wins where texts overlap.
        assertArrayEquals(new int[] {EOS}, tok.encode("<｜end▁of▁sentence｜>", false, true));
    }

    @Test
    void bosIsAddedOnRequest() {
        assertArrayEquals(new int[] {BOS, HELLO}, tok.encode("Hello", true, false));
        assertArrayEquals(new int[] {BOS}, tok.encode("", true, false));
        assertArrayEquals(new int[0], tok.encode("", false, false));
    }

    @Test
    void controlTokensDecodeToTextOnlyWhenAsked() {
        int[] ids = {BOS, USER, HELLO, ASSISTANT, THINK, NEWLINE};
        assertEquals("Hello<think>\n", tok.decode(ids));
        assertEquals("<｜begin▁of▁sentence｜><｜User｜>Hello<｜Assistant｜><think>\n", tok.decode(ids, true));
        assertArrayEquals(new byte[0], tok.tokenBytes(EOS));
        assertArrayEquals("<think>".getBytes(java.nio.charset.StandardCharsets.UTF_8), tok.tokenBytes(THINK));
        assertEquals("", tok.decode(new int[] {151700})); // UNUSED pad
    }

    @Test
    void roundTripsRandomUnicode() {
        Random rnd = new Random(42);
        int[][] ranges = {{0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x400, 0x4FF}, {0x4E00, 0x9FFF},
                {0x1F300, 0x1F6FF}, {0x1780, 0x17FF}, {0x300, 0x36F}, {0x3000, 0x303F}};
        for (int n = 0; n < 300; n++) {
            StringBuilder sb = new StringBuilder();
            int len = rnd.nextInt(40);
            for (int i = 0; i < len; i++) {
                int[] r = ranges[rnd.nextInt(ranges.length)];
                sb.appendCodePoint(r[0] + rnd.nextInt(r[1] - r[0] + 1));
            }
            String text = sb.toString();
            int[] ids = tok.encode(text, false, false);
            assertEquals(text, tok.decode(ids), "round trip of " + VocabVectorsTest.quote(text));
            assertTrue(Arrays.stream(ids).allMatch(id -> id >= 0 && id < 151643), Arrays.toString(ids));
        }
    }

    @Test
    void longWordsStayFast() {
        // One 200k-char word: the merge loop must not be quadratic. 2s is far above the expected few ms.
        String word = "ab".repeat(100_000);
        long t0 = System.nanoTime();
        int[] ids = tok.encode(word, false, false);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(word, tok.decode(ids));
        assertTrue(ms < 2000, "encoding a 200k-char word took " + ms + " ms");
    }
}
