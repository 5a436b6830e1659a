package dev.r1flink.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The textbook merge loop, kept as the reference for {@link BpeTokenizer}'s priority-queue one: rescan every
 * adjacent pair for the lowest rank (leftmost on ties), merge it, repeat. O(n^2) per word; for tests and benchmarks.
 * Special tokens are not handled: give it plain text.
 */
final class NaiveBpe {

    private final Vocabulary vocab;
    private final PreTokenizer pre;

    NaiveBpe(Vocabulary vocab) {
        this.vocab = vocab;
        this.pre = PreTokenizer.forName(vocab.pre());
    }

    int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        for (String word : pre.split(text)) {
            if (pre.ignoreMerges() && vocab.tokenId(ByteUnicode.encode(word)) >= 0) {
                out.add(vocab.tokenId(ByteUnicode.encode(word)));
                continue;
            }
            List<Integer> symbols = new ArrayList<>();
            for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
                symbols.add(vocab.tokenId(String.valueOf(ByteUnicode.toChar(b & 0xFF))));
            }
            while (true) {
                int best = -1;
                long bestMerge = -1;
                for (int i = 0; i + 1 < symbols.size(); i++) {
                    int a = symbols.get(i);
                    int b = symbols.get(i + 1);
                    long m = a < 0 || b < 0 ? -1 : vocab.merge(a, b);
                    if (m >= 0 && (best < 0 || (m >>> 32) < (bestMerge >>> 32))) {
                        best = i;
                        bestMerge = m;
                    }
                }
                if (best < 0) {
                    break;
                }
                symbols.set(best, (int) bestMerge);
                symbols.remove(best + 1);
            }
            for (int id : symbols) {
                if (id >= 0) {
                    out.add(id);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
