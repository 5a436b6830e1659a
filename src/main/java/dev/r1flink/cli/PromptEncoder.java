package dev.r1flink.cli;

import java.nio.file.Path;

/** Turns prompt text into token ids for {@code generate}: chat template + BPE from the model's own tokenizer. */
final class PromptEncoder {

    private PromptEncoder() {}

    static int[] encode(Path model, String prompt, boolean raw) {
        // TODO(model): wire the tokenizer package's BpeTokenizer and ChatTemplate when they land on main.
        throw new UnsupportedOperationException("text prompts need the tokenizer package (not merged yet): "
                + "use --prompt-ids");
    }
}
