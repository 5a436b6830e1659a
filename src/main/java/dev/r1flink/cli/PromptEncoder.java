package dev.r1flink.cli;

import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.Vocabulary;
import java.util.Arrays;

/** Prompt text to token ids for {@code generate}. */
final class PromptEncoder {

    private PromptEncoder() {}

    /**
     * The R1 chat prompt {@code <｜begin▁of▁sentence｜><｜User｜>{prompt}<｜Assistant｜><think>\n}; control tokens
     * placed by id, the user's text encoded without parsing control tokens. Vocabularies without R1's chat tokens
     * (e.g. plain Llama 3) get BOS + the prompt.
     */
    static int[] chat(BpeTokenizer tokenizer, String prompt, boolean thinkPrefix) {
        // TODO(model): use the tokenizer package's ChatTemplate once it is on main.
        Vocabulary v = tokenizer.vocabulary();
        int user = v.tokenId("<｜User｜>");
        int assistant = v.tokenId("<｜Assistant｜>");
        int[] text = tokenizer.encode(prompt, false, false);
        if (user < 0 || assistant < 0) {
            return tokenizer.encode(prompt, v.addBos(), false);
        }
        int[] think = thinkPrefix ? tokenizer.encode("<think>\n", false, false) : new int[0];
        int[] out = new int[3 + text.length + think.length];
        out[0] = v.bos();
        out[1] = user;
        System.arraycopy(text, 0, out, 2, text.length);
        out[2 + text.length] = assistant;
        System.arraycopy(think, 0, out, 3 + text.length, think.length);
        return Arrays.copyOf(out, out.length);
    }
}
