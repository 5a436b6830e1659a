package dev.r1flink.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Word splits checked by hand against the regexes (no vocabulary needed). DeepSeek-V3 has no vocab file in the test
 * data, so these are its only tests: each expected split was worked out from llama.cpp's three V3 regexes.
 */
class PreTokenizerTest {

    private static List<String> split(String pre, String text) {
        return PreTokenizer.forName(pre).split(text);
    }

    @Test
    void qwen2SplitsDigitsOneByOneAndKeepsContractions() {
        assertEquals(List.of("Hello", ",", " y", "'all", "!"), split("qwen2", "Hello, y'all!"));
        assertEquals(List.of("3", "3", "3", "3"), split("qwen2", "3333"));
        assertEquals(List.of("I", "'VE"), split("qwen2", "I'VE"));
        // \s+(?!\S) leaves the last space to the next word.
        assertEquals(List.of("  ", " Hello"), split("qwen2", "   Hello"));
        // At the end of the text nothing follows, so the whole run of white space is one word.
        assertEquals(List.of("\n\n", "   \t"), split("qwen2", "\n\n   \t"));
        assertEquals(split("qwen2", "any text 123"), split("deepseek-r1-qwen", "any text 123"));
    }

    @Test
    void llama3GroupsUpToThreeDigits() {
        assertEquals(List.of("333", "333", "3"), split("llama-bpe", "3333333"));
        assertTrue(PreTokenizer.forName("llama-bpe").ignoreMerges());
        assertFalse(PreTokenizer.forName("qwen2").ignoreMerges());
    }

    @Test
    void deepseekLlmAppliesItsRegexesInSequence() {
        assertEquals(List.of("Hello", " world", "\n", "123"), split("deepseek-llm", "Hello world\n123"));
        // Trailing white space at the very end is its own word (\s+$, with $ meaning end of the piece).
        assertEquals(List.of("Hi", "  "), split("deepseek-llm", "Hi  "));
        assertEquals(List.of("你好", "，", "世界"), split("deepseek-llm", "你好，世界"));
    }

    @Test
    void deepseekV3() {
        String v3 = "deepseek-v3";
        assertEquals(List.of("Hello", " world"), split(v3, "Hello world"));
        // Regex 1: at most three digits per word, split out before anything else.
        assertEquals(List.of("123", "45"), split(v3, "12345"));
        assertEquals(List.of("x", "1", "y"), split(v3, "x1y"));
        // Regex 2: runs of CJK ideographs and kana are words of their own.
        assertEquals(List.of("价格", "123", "元"), split(v3, "价格123元"));
        assertEquals(List.of("你好世界", "abc"), split(v3, "你好世界abc"));
        assertEquals(List.of("ひらがなカタカナ", " and"), split(v3, "ひらがなカタカナ and"));
        // Regex 3: one ASCII punctuation char may lead ASCII letters; other punctuation runs stand alone.
        assertEquals(List.of("(hello", ")"), split(v3, "(hello)"));
        assertEquals(List.of("don", "'t"), split(v3, "don't"));
        assertEquals(List.of(" ...\n\n", "x"), split(v3, " ...\n\nx")); // punctuation takes the newlines after it
        assertEquals(List.of("a", "\n\n", "b"), split(v3, "a\n\nb"));
        assertEquals(List.of("  ", " x"), split(v3, "   x"));
        // Letters carry their combining marks (\p{M}); a non-letter, non-punctuation char may lead a word.
        assertEquals(List.of("e\u0301t\u00e9"), split(v3, "e\u0301t\u00e9"));
        assertEquals(List.of("Straße", " ü"), split(v3, "Straße ü"));
    }

    @Test
    void splitIsLossless() {
        String text = "Hello, y'all! 🦙.cpp 3333 ŞŢ 你好 \n\n\t  x ";
        for (String pre : PreTokenizer.supportedNames()) {
            assertEquals(text, String.join("", split(pre, text)), pre);
            assertEquals(List.of(), split(pre, ""), pre);
        }
    }

    @Test
    void whiteSpaceIsWhatTheRegexesCallWhiteSpace() {
        java.util.regex.Pattern ws = java.util.regex.Pattern.compile("\\s", java.util.regex.Pattern.UNICODE_CHARACTER_CLASS);
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
                continue;
            }
            assertEquals(ws.matcher(new String(Character.toChars(cp))).matches(), PreTokenizer.isWhiteSpace(cp),
                    Integer.toHexString(cp));
        }
    }

    @Test
    void deepseekLlmTrailingWhiteSpaceIsSplitOffAtTheEndOfEachPiece() {
        assertEquals(List.of("5", " \t "), split("deepseek-llm", "5 \t "));
        assertEquals(List.of("x", "  "), split("deepseek-llm", "x  "));
        assertEquals(List.of("\n", " "), split("deepseek-llm", "\n "));
        assertEquals(List.of(" ", "\n", "\n"), split("deepseek-llm", " \n\n"));
        assertEquals(List.of("  ", "5"), split("deepseek-llm", "  5"));
    }

    @Test
    void longRunsDoNotBacktrackQuadratically() {
        // Run after run of 100k chars that no alternative consumes at once; a quadratic regex takes minutes here.
        String[] texts = {" ".repeat(100_000) + "5", "\u00A0".repeat(100_000) + "x", " \t".repeat(50_000) + "!",
                "a".repeat(100_000) + "5", "!".repeat(100_000) + " 5", "5".repeat(100_000)};
        for (String pre : PreTokenizer.supportedNames()) {
            for (String text : texts) {
                long t0 = System.nanoTime();
                List<String> words = split(pre, text);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(text, String.join("", words));
                assertTrue(ms < 3000, pre + " took " + ms + " ms on a run of " + text.charAt(0));
            }
        }
    }

    @Test
    void unknownPreTokenizerIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PreTokenizer.forName("gpt-4o"));
        assertTrue(e.getMessage().contains("gpt-4o") && e.getMessage().contains("deepseek-v3"), e.getMessage());
    }
}
