package dev.r1flink.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Load and encode timings, priority-queue merge loop vs the textbook one ({@link NaiveBpe}). Not a test:
 * <pre>
 * mvn -o -q test-compile
 * java -cp target/classes:target/test-classes dev.r1flink.tokenizer.TokenizerBench VOCAB.gguf TEXT_FILE
 * </pre>
 */
public final class TokenizerBench {

    public static void main(String[] args) throws Exception {
        Path vocabPath = Path.of(args[0]);
        String sample = Files.readString(Path.of(args[1]));

        // CPU time of this thread too: on a shared machine wall time mostly measures the other processes.
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long t0 = System.nanoTime();
        long c0 = mx.getCurrentThreadCpuTime();
        BpeTokenizer tok = new BpeTokenizer(Vocabulary.load(vocabPath));
        double coldMs = (System.nanoTime() - t0) / 1e6;
        double coldCpuMs = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
        double warmMs = Double.MAX_VALUE;
        double warmCpuMs = Double.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long s = System.nanoTime();
            long c = mx.getCurrentThreadCpuTime();
            new BpeTokenizer(Vocabulary.load(vocabPath));
            warmMs = Math.min(warmMs, (System.nanoTime() - s) / 1e6);
            warmCpuMs = Math.min(warmCpuMs, (mx.getCurrentThreadCpuTime() - c) / 1e6);
        }
        System.out.printf("load %s: first %.0f ms (%.0f ms cpu), best of 5 after %.0f ms (%.0f ms cpu)%n",
                vocabPath.getFileName(), coldMs, coldCpuMs, warmMs, warmCpuMs);

        StringBuilder sb = new StringBuilder();
        while (sb.length() < 5000) {
            sb.append(sample);
        }
        String text = sb.toString();
        NaiveBpe naive = new NaiveBpe(tok.vocabulary());
        String word = "ab".repeat(5000); // one 10k-char word: no pre-tokenizer split helps
        report("5k chars of text", text, tok, naive);
        report("one 10k-char word", word, tok, naive);
    }

    private static void report(String what, String text, BpeTokenizer tok, NaiveBpe naive) {
        int[] a = tok.encode(text, false, false);
        int[] b = naive.encode(text);
        if (!Arrays.equals(a, b)) {
            System.out.println("  (outputs differ: user-defined tokens in the text)");
        }
        double pq = best(() -> tok.encode(text, false, false));
        double nv = best(() -> naive.encode(text));
        System.out.printf("%s -> %d tokens: priority queue %.3f ms, naive %.3f ms, naive/pq = %.1fx%n",
                what, a.length, pq, nv, nv / pq);
    }

    /** Best of 20 runs after 20 warm-up runs, in ms. */
    private static double best(Runnable r) {
        for (int i = 0; i < 20; i++) {
            r.run();
        }
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            long s = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - s) / 1e6);
        }
        return best;
    }
}
