package dev.r1flink.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The priority-queue merge loop gives exactly the textbook loop's tokens, word by word, on random text, for every
 * vocabulary. (Whole texts would differ where a vocabulary has user-defined tokens such as deepseek-llm's {@code ö},
 * which are split out before BPE and which the reference loop does not know about.)
 */
class MergeLoopTest {

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-qwen2.gguf", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-deepseek-llm.gguf",
            BpeTokenizerTest.R1_VOCAB})
    void priorityQueueMatchesNaiveLoop(String vocabFile) throws Exception {
        BpeTokenizer tok = VocabVectorsTest.tokenizer(vocabFile);
        NaiveBpe naive = new NaiveBpe(tok.vocabulary());
        Random rnd = new Random(7);
        String alphabet = "aaaabbcdeeeeeiilmnnoorrsssttu  ,.'\n0123456789ÄöüßщжЖ你好世界😁🦙ាន់";
        int[] cps = alphabet.codePoints().toArray();
        for (int n = 0; n < 400; n++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + rnd.nextInt(60);
            for (int i = 0; i < len; i++) {
                sb.appendCodePoint(cps[rnd.nextInt(cps.length)]);
            }
            String text = sb.toString();
            for (String word : tok.preTokenizer().split(text)) {
                assertArrayEquals(naive.encode(word), tok.encodeWord(word), VocabVectorsTest.quote(word));
            }
        }
    }
}
