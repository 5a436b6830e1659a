package dev.r1flink.cli;

import dev.r1flink.model.Synthesizer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code synth}: writes a random-weight GGUF model of a named shape (see {@link Synthesizer}). */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a random-weight GGUF model of a named shape, for tests and benchmarks.")
public final class SynthCommand implements Callable<Integer> {

    @Option(names = "--shape", required = true,
            description = "tiny-qwen2, tiny-qwen2-tied, tiny-llama, tiny-qwen3, tiny-deepseek2, tiny-deepseek2-lite, "
                    + "r1-distill-qwen-1.5b, r1-distill-qwen-7b, r1-distill-llama-8b, r1-0528-qwen3-8b, "
                    + "deepseek-v2-lite, r1-like-small")
    String shape;

    @Option(names = "--type", defaultValue = "F32",
            description = "Weight type: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K Q4_K_M (default ${DEFAULT-VALUE})")
    String type;

    @Option(names = "--vocab", description = "GGUF to copy tokenizer metadata from (its token count sets the vocab "
            + "of tiny shapes); without it the model has no tokenizer")
    Path vocab;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = {"-o", "--output"}, required = true, description = "Output .gguf file")
    Path output;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        new Synthesizer(Synthesizer.shape(shape), type, vocab, seed).write(output, System.err);
        System.err.printf("synth: wrote %s in %.1fs%n", output, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
