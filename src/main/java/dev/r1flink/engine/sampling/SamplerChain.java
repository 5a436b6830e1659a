package dev.r1flink.engine.sampling;

import java.util.ArrayList;
import java.util.List;

/**
 * The samplers of one sequence, run in order; the last one chooses. Built from {@link SamplingParams}:
 * penalties, temperature, top-k, top-p, min-p, then the seeded draw (or greedy when temperature is 0).
 *
 * <p>Temperature comes before the cuts, as in Hugging Face {@code generate} and vLLM, because DeepSeek's recommended
 * R1 settings (temperature 0.6, top-p 0.95) are stated in those terms; llama.cpp's default chain cuts first.
 *
 * <pre>{@code
 * SamplerChain chain = SamplerChain.of(SamplingParams.R1_DEFAULTS.withSeed(7), vocab);
 * candidates.reset(logits, row * vocab);
 * int token = chain.sample(candidates);   // applies every sampler, then accept(token) on each
 * }</pre>
 */
public final class SamplerChain {
    private final Sampler[] samplers;

    public SamplerChain(List<Sampler> samplers) {
        if (samplers.isEmpty()) {
            throw new IllegalArgumentException("a chain needs at least a final sampler");
        }
        this.samplers = samplers.toArray(new Sampler[0]);
    }

    public static SamplerChain of(SamplingParams p, int vocabularySize) {
        List<Sampler> list = new ArrayList<>();
        if (p.repetitionPenalty() != 1f || p.frequencyPenalty() != 0f || p.presencePenalty() != 0f) {
            list.add(new Samplers.Penalties(vocabularySize, p.penaltyLastN(), p.repetitionPenalty(),
                    p.frequencyPenalty(), p.presencePenalty()));
        }
        if (p.temperature() == 0f) {
            list.add(new Samplers.Greedy());
        } else {
            list.add(new Samplers.Temperature(p.temperature()));
            if (p.topK() > 0) {
                list.add(new Samplers.TopK(p.topK()));
            }
            if (p.topP() < 1f) {
                list.add(new Samplers.TopP(p.topP()));
            }
            if (p.minP() > 0f) {
                list.add(new Samplers.MinP(p.minP()));
            }
            list.add(new Samplers.Dist(p.seed()));
        }
        return new SamplerChain(list);
    }

    /** Runs every sampler but does not accept: the surviving candidates are left in {@code c}. */
    public void apply(Candidates c) {
        for (Sampler s : samplers) {
            s.apply(c);
        }
    }

    public void accept(int token) {
        for (Sampler s : samplers) {
            s.accept(token);
        }
    }

    /** apply, take the single survivor, accept it. */
    public int sample(Candidates c) {
        apply(c);
        if (c.size() != 1) {
            throw new IllegalStateException("chain left " + c.size() + " candidates; its last sampler must choose");
        }
        int token = c.id(0);
        accept(token);
        return token;
    }
}
