package dev.r1flink.engine.sampling;

/**
 * The samplers. Semantics follow llama.cpp's samplers of the same names; comments note where and why they differ.
 */
public final class Samplers {
    private Samplers() {
    }

    /**
     * Repetition, frequency and presence penalties over the last {@code lastN} generated tokens (llama.cpp
     * {@code penalties}): a repeated token's logit is divided by {@code repeat} when positive, multiplied when
     * negative, then lowered by {@code count * frequency + presence}. Must run first in the chain (it indexes the
     * full vocabulary by token id).
     */
    public static final class Penalties implements Sampler {
        private final float repeat;
        private final float frequency;
        private final float presence;
        private final int[] window; // [lastN] ring of the last generated tokens
        private final int[] counts; // [vocab] occurrences within the window
        private int n;
        private int head;

        public Penalties(int vocabularySize, int lastN, float repeat, float frequency, float presence) {
            if (lastN < 1) {
                throw new IllegalArgumentException("lastN must be >= 1, got " + lastN);
            }
            this.repeat = repeat;
            this.frequency = frequency;
            this.presence = presence;
            this.window = new int[lastN];
            this.counts = new int[vocabularySize];
        }

        @Override
        public void apply(Candidates c) {
            if (!c.identity) {
                throw new IllegalStateException("penalties must come first in the chain");
            }
            for (int i = 0; i < n; i++) {
                int tok = window[i];
                int count = counts[tok];
                if (count <= 0) {
                    continue; // already applied for an earlier occurrence in the window: marked negative below
                }
                float l = c.logits[tok];
                l = l > 0 ? l / repeat : l * repeat;
                l -= count * frequency + presence;
                c.logits[tok] = l;
                counts[tok] = -count;
            }
            for (int i = 0; i < n; i++) { // restore the marks
                int tok = window[i];
                if (counts[tok] < 0) {
                    counts[tok] = -counts[tok];
                }
            }
        }

        @Override
        public void accept(int token) {
            if (n == window.length) {
                counts[window[head]]--;
                window[head] = token;
                head = (head + 1) % window.length;
            } else {
                window[n++] = token;
            }
            counts[token]++;
        }
    }

    /** Divides logits by {@code t} (t > 0; t = 0 is greedy, which the chain builds instead). */
    public static final class Temperature implements Sampler {
        private final float t;

        public Temperature(float t) {
            if (!(t > 0)) {
                throw new IllegalArgumentException("temperature must be > 0, got " + t);
            }
            this.t = t;
        }

        @Override
        public void apply(Candidates c) {
            float inv = 1f / t;
            for (int i = 0; i < c.size; i++) {
                c.logits[i] *= inv;
            }
        }
    }

    /** Keeps the {@code k} most likely tokens (k = 0: off). */
    public static final class TopK implements Sampler {
        private final int k;

        public TopK(int k) {
            this.k = k;
        }

        @Override
        public void apply(Candidates c) {
            if (k <= 0 || k >= c.size) {
                return;
            }
            c.sortTop(k);
            c.truncate(k);
            c.sorted = true;
        }
    }

    /**
     * Nucleus: keeps the smallest set of most likely tokens whose probabilities sum to at least {@code p}. Sorts only
     * a head of the vocabulary and widens it when the head holds less than {@code p}.
     */
    public static final class TopP implements Sampler {
        private final float p;

        public TopP(float p) {
            this.p = p;
        }

        @Override
        public void apply(Candidates c) {
            if (p >= 1f) {
                return;
            }
            int head = Math.min(c.size, 256);
            while (true) {
                c.sortTop(head);
                c.softmax();
                double cum = 0;
                for (int i = 0; i < head; i++) {
                    cum += c.probs[i];
                    if (cum >= p) {
                        c.truncate(i + 1);
                        c.sorted = true;
                        return;
                    }
                }
                if (head == c.size) {
                    return; // rounding: the whole list sums just under p
                }
                head = Math.min(c.size, head * 8);
            }
        }
    }

    /** Keeps tokens whose probability is at least {@code p} times the top token's (order kept). */
    public static final class MinP implements Sampler {
        private final float p;

        public MinP(float p) {
            this.p = p;
        }

        @Override
        public void apply(Candidates c) {
            if (p <= 0f) {
                return;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < c.size; i++) {
                max = Math.max(max, c.logits[i]);
            }
            // prob_i >= p * prob_max  <=>  logit_i >= logit_max + ln p
            float min = max + (float) Math.log(p);
            int w = 0;
            for (int i = 0; i < c.size; i++) {
                if (c.logits[i] >= min) {
                    c.ids[w] = c.ids[i];
                    c.logits[w] = c.logits[i];
                    w++;
                }
            }
            if (w < c.size) {
                c.size = w;
                c.identity = false;
            }
        }
    }

    /** Chooses the most likely token (lowest id on ties); leaves exactly one candidate. */
    public static final class Greedy implements Sampler {
        @Override
        public void apply(Candidates c) {
            int best = c.argmax();
            c.ids[0] = c.ids[best];
            c.logits[0] = c.logits[best];
            c.probs[0] = 1f;
            c.size = 1;
            c.identity = false;
        }
    }

    /**
     * Draws from softmax(logits) with the uniform number for (seed, step), step = the sequence's generated-token
     * index; leaves exactly one candidate.
     */
    public static final class Dist implements Sampler {
        private final long seed;
        private long step;

        public Dist(long seed) {
            this.seed = seed;
        }

        @Override
        public void apply(Candidates c) {
            c.softmax();
            double u = CounterRng.uniform(seed, step);
            double cum = 0;
            int chosen = c.size - 1; // rounding: u beyond the summed total picks the last
            for (int i = 0; i < c.size; i++) {
                cum += c.probs[i];
                if (u < cum) {
                    chosen = i;
                    break;
                }
            }
            c.ids[0] = c.ids[chosen];
            c.logits[0] = c.logits[chosen];
            c.probs[0] = c.probs[chosen];
            c.size = 1;
            c.identity = false;
        }

        @Override
        public void accept(int token) {
            step++;
        }

        long step() {
            return step;
        }
    }
}
