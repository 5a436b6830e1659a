package dev.r1flink.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Each sampler against distributions worked out by hand (probabilities 0.1, 0.2, 0.3, 0.4 and friends). */
class SamplersTest {
    private static final float[] TENTHS = {log(1), log(2), log(3), log(4)}; // softmax: 0.1 0.2 0.3 0.4

    private static float log(double x) {
        return (float) Math.log(x);
    }

    private static Candidates load(float... logits) {
        Candidates c = new Candidates(logits.length);
        c.reset(logits);
        return c;
    }

    /** Token id -> probability of the surviving candidates. */
    private static double[] dist(Candidates c, int vocab) {
        c.softmax();
        double[] p = new double[vocab];
        for (int i = 0; i < c.size(); i++) {
            p[c.id(i)] = c.prob(i);
        }
        return p;
    }

    @Test
    void softmaxOfLogsIsTheOriginalDistribution() {
        assertArrayEquals(new double[] {0.1, 0.2, 0.3, 0.4}, dist(load(TENTHS), 4), 1e-6);
    }

    @Test
    void temperatureHalfSquaresTheProbabilities() {
        Candidates c = load(TENTHS);
        new Samplers.Temperature(0.5f).apply(c);
        // p^(1/T) = p^2: 1, 4, 9, 16 over 30
        assertArrayEquals(new double[] {1 / 30.0, 4 / 30.0, 9 / 30.0, 16 / 30.0}, dist(c, 4), 1e-6);
    }

    @Test
    void topKKeepsTheKMostLikelyInOrder() {
        Candidates c = load(TENTHS);
        new Samplers.TopK(2).apply(c);
        assertEquals(2, c.size());
        assertEquals(3, c.id(0));
        assertEquals(2, c.id(1));
        assertArrayEquals(new double[] {0, 0, 3 / 7.0, 4 / 7.0}, dist(c, 4), 1e-6);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        Candidates c = load(TENTHS);
        new Samplers.TopP(0.5f).apply(c); // 0.4 < 0.5, 0.4 + 0.3 >= 0.5
        assertArrayEquals(new double[] {0, 0, 3 / 7.0, 4 / 7.0}, dist(c, 4), 1e-6);
        c = load(TENTHS);
        new Samplers.TopP(0.4f).apply(c); // the top token alone reaches 0.4
        assertArrayEquals(new double[] {0, 0, 0, 1}, dist(c, 4), 1e-6);
        c = load(TENTHS);
        new Samplers.TopP(0.95f).apply(c); // needs all four
        assertEquals(4, c.size());
    }

    @Test
    void topPOnALargeVocabularyWidensItsSortedHead() {
        // 5000 tokens equally likely: p = 0.5 needs 2500 of them, more than the first sorted head
        float[] flat = new float[5000];
        Candidates c = load(flat);
        new Samplers.TopP(0.5f).apply(c);
        assertEquals(2500, c.size(), 1);
        for (int i = 0; i < c.size(); i++) {
            assertEquals(i, c.id(i), "ties go to the lower id");
        }
    }

    @Test
    void minPKeepsTokensWithAtLeastPTimesTheTopProbability() {
        Candidates c = load(TENTHS);
        new Samplers.MinP(0.5f).apply(c); // threshold 0.5 * 0.4 = 0.2: tokens 1, 2, 3
        assertArrayEquals(new double[] {0, 2 / 9.0, 3 / 9.0, 4 / 9.0}, dist(c, 4), 1e-6);
    }

    @Test
    void greedyTakesTheArgmaxAndTheLowerIdOnTies() {
        Candidates c = load(1f, 3f, 3f, 2f);
        new Samplers.Greedy().apply(c);
        assertEquals(1, c.size());
        assertEquals(1, c.id(0));
    }

    @Test
    void penaltiesFollowTheirFormula() {
        // logits 2, -2, 1, 0; history: token 0 twice, token 1 once
        Samplers.Penalties pen = new Samplers.Penalties(4, 64, 2f, 0.5f, 0.25f);
        pen.accept(0);
        pen.accept(1);
        pen.accept(0);
        Candidates c = load(2f, -2f, 1f, 0f);
        pen.apply(c);
        assertEquals(2f / 2 - (2 * 0.5f + 0.25f), c.logit(0), 1e-6); // positive: divided
        assertEquals(-2f * 2 - (1 * 0.5f + 0.25f), c.logit(1), 1e-6); // negative: multiplied
        assertEquals(1f, c.logit(2), 0);
        assertEquals(0f, c.logit(3), 0);
        // applying again gives the same result from fresh logits: the marks were restored
        c = load(2f, -2f, 1f, 0f);
        pen.apply(c);
        assertEquals(-0.25f, c.logit(0), 1e-6);
    }

    @Test
    void penaltiesForgetTokensOutsideTheirWindow() {
        Samplers.Penalties pen = new Samplers.Penalties(4, 2, 1f, 0f, 1f);
        pen.accept(0);
        pen.accept(1);
        pen.accept(2); // window is now 1, 2
        Candidates c = load(0f, 0f, 0f, 0f);
        pen.apply(c);
        assertArrayEquals(new float[] {0f, -1f, -1f, 0f},
                new float[] {c.logit(0), c.logit(1), c.logit(2), c.logit(3)});
    }

    @Test
    void distDrawsFollowTheDistribution() {
        int n = 40_000;
        int[] counts = new int[4];
        for (int seed = 0; seed < n; seed++) {
            Candidates c = load(TENTHS);
            new Samplers.Dist(seed).apply(c);
            counts[c.id(0)]++;
        }
        double[] expected = {0.1, 0.2, 0.3, 0.4};
        for (int i = 0; i < 4; i++) {
            // 5 standard deviations of a binomial proportion
            double sd = Math.sqrt(expected[i] * (1 - expected[i]) / n);
            assertEquals(expected[i], counts[i] / (double) n, 5 * sd, "token " + i);
        }
    }

    @Test
    void distIsAFunctionOfSeedAndStepOnly() {
        Samplers.Dist a = new Samplers.Dist(42);
        Samplers.Dist b = new Samplers.Dist(42);
        float[] flat = new float[1000];
        int[] ta = new int[50], tb = new int[50];
        for (int i = 0; i < 50; i++) {
            Candidates c = load(flat);
            a.apply(c);
            ta[i] = c.id(0);
            a.accept(ta[i]);
        }
        for (int i = 0; i < 50; i++) {
            Candidates c = load(flat);
            b.apply(c);
            tb[i] = c.id(0);
            b.accept(tb[i]);
        }
        assertArrayEquals(ta, tb);
        assertTrue(Arrays.stream(ta).distinct().count() > 40, "draws vary from step to step");
        // a different seed gives a different sequence
        Samplers.Dist other = new Samplers.Dist(43);
        int same = 0;
        for (int i = 0; i < 50; i++) {
            Candidates c = load(flat);
            other.apply(c);
            if (c.id(0) == ta[i]) same++;
            other.accept(c.id(0));
        }
        assertTrue(same < 5);
    }

    @Test
    void counterRngIsUniform() {
        int[] buckets = new int[10];
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            double u = CounterRng.uniform(7, i);
            assertTrue(u >= 0 && u < 1);
            buckets[(int) (u * 10)]++;
        }
        for (int b : buckets) {
            assertEquals(n / 10.0, b, 5 * Math.sqrt(n * 0.1 * 0.9));
        }
    }

    @Test
    void sortTopMatchesAFullSort() {
        java.util.Random r = new java.util.Random(1);
        float[] logits = new float[3000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        logits[5] = logits[6]; // a tie
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> logits[x] != logits[y] ? Float.compare(logits[y], logits[x]) : Integer.compare(x, y));
        for (int k : new int[] {1, 10, 300, 3000}) {
            Candidates c = load(logits);
            c.sortTop(k);
            for (int i = 0; i < k; i++) {
                assertEquals(order[i], c.id(i), "k=" + k + " i=" + i);
                assertEquals(logits[order[i]], c.logit(i));
            }
        }
    }

    @Test
    void chainOfR1DefaultsCutsTheTailAfterTemperature() {
        // T = 0.6 sharpens 0.1..0.4 to weights p^(1/0.6); top-p 0.95 then drops the smallest token
        SamplerChain chain = SamplerChain.of(SamplingParams.R1_DEFAULTS.withSeed(1), 4);
        Candidates c = load(TENTHS);
        chain.apply(c);
        assertEquals(1, c.size()); // Dist chose
        double[] w = new double[4];
        double sum = 0;
        for (int i = 0; i < 4; i++) sum += w[i] = Math.pow((i + 1) / 10.0, 1 / 0.6);
        // cumulative from the top: 0.4^, 0.3^, 0.2^ already reach 0.95?
        double top3 = (w[3] + w[2] + w[1]) / sum;
        assertTrue(top3 >= 0.95, "hand check of the premise: " + top3);
        int[] counts = new int[4];
        for (int seed = 0; seed < 20_000; seed++) {
            SamplerChain ch = SamplerChain.of(SamplingParams.R1_DEFAULTS.withSeed(seed), 4);
            Candidates d = load(TENTHS);
            counts[ch.sample(d)]++;
        }
        assertEquals(0, counts[0], "token 0 is cut by top-p");
        double[] expected = {0, w[1] / (sum * top3), w[2] / (sum * top3), w[3] / (sum * top3)};
        for (int i = 1; i < 4; i++) {
            assertEquals(expected[i], counts[i] / 20_000.0, 0.015, "token " + i);
        }
    }

    @Test
    void greedyChainIgnoresTheSeed() {
        SamplerChain a = SamplerChain.of(SamplingParams.GREEDY.withSeed(1), 4);
        SamplerChain b = SamplerChain.of(SamplingParams.GREEDY.withSeed(2), 4);
        assertEquals(3, a.sample(load(TENTHS)));
        assertEquals(3, b.sample(load(TENTHS)));
    }

    @Test
    void aChainMustEndInAChoice() {
        SamplerChain open = new SamplerChain(List.of(new Samplers.Temperature(1f)));
        assertThrows(IllegalStateException.class, () -> open.sample(load(TENTHS)));
    }
}
