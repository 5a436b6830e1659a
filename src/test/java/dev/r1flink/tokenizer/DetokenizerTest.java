package dev.r1flink.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DetokenizerTest {

    private static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) b[i];
        }
        return out;
    }

    @Test
    void completePrefixHoldsOnlyUnfinishedCharacters() {
        assertEquals(0, Detokenizer.completePrefix(bytes(0xE4, 0xBD), 2));           // 2 of 3 bytes of 你
        assertEquals(3, Detokenizer.completePrefix(bytes(0xE4, 0xBD, 0xA0), 3));     // 你
        assertEquals(1, Detokenizer.completePrefix(bytes('A', 0xF0, 0x9F), 3));      // A + half an emoji
        assertEquals(4, Detokenizer.completePrefix(bytes(0xF0, 0x9F, 0x98, 0x81), 4)); // 😁
        assertEquals(1, Detokenizer.completePrefix(bytes(0x80), 1));                 // stray continuation: let go
        assertEquals(1, Detokenizer.completePrefix(bytes(0xFF), 1));                 // invalid lead: let go
        assertEquals(0, Detokenizer.completePrefix(bytes(), 0));
    }

    /** Streams the tokens of {@code text} one by one; checks no partial character is emitted and the sum is exact. */
    private static int stream(BpeTokenizer tok, String text) {
        int[] ids = tok.encode(text, false, false);
        Detokenizer detok = tok.detokenizer(false);
        StringBuilder sb = new StringBuilder();
        int held = 0;
        for (int id : ids) {
            String s = detok.accept(id);
            assertFalse(s.contains("\uFFFD"), "emitted a broken character for token " + id);
            sb.append(s);
            if (detok.pendingBytes() > 0) {
                held++;
            }
        }
        assertEquals("", detok.flush());
        assertEquals(text, sb.toString());
        return held;
    }

    @Test
    void streamsSplitEmojiAndCjkAsWholeCharacters() throws Exception {
        BpeTokenizer tok = VocabVectorsTest.tokenizer(BpeTokenizerTest.R1_VOCAB);
        // The golden vectors show 🦙 as three tokens (11162 99 247) and 😁 as two (26525 223).
        assertTrue(stream(tok, " this is 🦙.cpp") > 0, "expected 🦙 to be split across tokens");
        assertTrue(stream(tok, "How are you 😁 ?") > 0, "expected 😁 to be split across tokens");
        // Khmer and rare CJK (U+20000 and up) are split into byte tokens too.
        assertTrue(stream(tok, "កាន់តែពិសេសអាចខលចេញ 𠀀𠀁𪚥") > 0);
        stream(tok, "我想在apple工作1314151天～ plain ascii");
    }

    @Test
    void flushTurnsAnUnfinishedCharacterIntoReplacement() throws Exception {
        BpeTokenizer tok = VocabVectorsTest.tokenizer(BpeTokenizerTest.R1_VOCAB);
        int[] ids = tok.encode(" 🦙", false, false); // 11162 99 247 per the golden vectors: " \xF0\x9F", ...
        assertTrue(ids.length > 1, "🦙 should take more than one token");
        Detokenizer detok = tok.detokenizer(false);
        assertEquals(" ", detok.accept(ids[0]));
        assertTrue(detok.pendingBytes() > 0);
        assertEquals("\uFFFD", detok.flush());
        assertEquals(0, detok.pendingBytes());
        // The stream started over: the whole character comes out once all its tokens are in.
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(detok.accept(id));
        }
        assertEquals(" 🦙", sb.toString());
    }

    @Test
    void controlTokensStreamOnlyWhenAsked() throws Exception {
        BpeTokenizer tok = VocabVectorsTest.tokenizer(BpeTokenizerTest.R1_VOCAB);
        assertEquals("", tok.detokenizer(false).accept(BpeTokenizerTest.EOS));
        assertEquals("<｜end▁of▁sentence｜>", tok.detokenizer(true).accept(BpeTokenizerTest.EOS));
        assertEquals("</think>", tok.detokenizer(false).accept(BpeTokenizerTest.END_THINK));
        assertEquals("Hello".getBytes(StandardCharsets.UTF_8).length,
                tok.detokenizer(false).accept(BpeTokenizerTest.HELLO).length());
    }
}
