package dev.r1flink.engine;

import dev.r1flink.model.Batch;
import dev.r1flink.model.KvCache;
import dev.r1flink.tensor.Parallel;

import java.util.Arrays;

/**
 * Test double model whose next-token logits are a hash of the whole history of the row's sequence, read back
 * through the {@link KvCache}: each step writes (token, pos) into the row's cell, then reads cells 0..pos. A cache
 * that maps a position to the wrong cell, loses a block, or lets sequences overwrite each other changes the output
 * (and a cell holding the wrong position throws). Rows are independent of each other, like the real model's.
 *
 * <p>Likely tokens: lower-case letters and space; end-of-sequence gets {@code eosLogit}, so lengths vary.
 */
final class HistoryHashModel implements ForwardModel {
    static final int LAYERS = 2;
    static final int KV_DIM = 4;
    private final int context;
    private final float eosLogit;
    private final float thinkEndLogit;
    long forwardCalls;
    int maxRows;
    int maxSequences;

    HistoryHashModel(int context, float eosLogit, float thinkEndLogit) {
        this.context = context;
        this.eosLogit = eosLogit;
        this.thinkEndLogit = thinkEndLogit;
    }

    @Override public int vocabularySize() { return ByteCodec.VOCAB; }
    @Override public int contextLength() { return context; }
    @Override public int blockCount() { return LAYERS; }
    @Override public int kvDim() { return KV_DIM; }

    @Override
    public void forward(Batch batch, KvCache cache, float[] logits, Parallel parallel) {
        forwardCalls++;
        maxRows = Math.max(maxRows, batch.size());
        maxSequences = Math.max(maxSequences, (int) Arrays.stream(batch.seqIds, 0, batch.size()).distinct().count());
        for (int r = 0; r < batch.size(); r++) {
            int c = cache.cell(batch.seqIds[r], batch.positions[r]);
            for (int l = 0; l < LAYERS; l++) {
                short[] k = cache.keys(l);
                k[c * KV_DIM] = (short) batch.tokens[r];
                k[c * KV_DIM + 1] = (short) (batch.tokens[r] >>> 16);
                k[c * KV_DIM + 2] = (short) batch.positions[r];
                cache.values(l)[c * KV_DIM] = (short) (batch.tokens[r] ^ l);
            }
        }
        int out = 0;
        for (int r = 0; r < batch.size(); r++) {
            if (!batch.wantLogits[r]) continue;
            long h = 17;
            for (int p = 0; p <= batch.positions[r]; p++) {
                int c = cache.cell(batch.seqIds[r], p);
                short[] k = cache.keys(p % LAYERS);
                if (k[c * KV_DIM + 2] != (short) p) {
                    throw new IllegalStateException("cell " + c + " of sequence " + batch.seqIds[r] + " pos " + p
                            + " holds pos " + k[c * KV_DIM + 2]);
                }
                int token = (k[c * KV_DIM] & 0xffff) | (k[c * KV_DIM + 1] << 16);
                if ((cache.values(p % LAYERS)[c * KV_DIM] & 0xffff) != ((token ^ (p % LAYERS)) & 0xffff)) {
                    throw new IllegalStateException("value of cell " + c + " corrupt");
                }
                h = mix(h * 31 + token);
            }
            writeLogits(h, logits, out * ByteCodec.VOCAB);
            out++;
        }
    }

    /** The logits after a history with hash {@code h}; also the reference for tests. */
    void writeLogits(long h, float[] logits, int at) {
        for (int v = 0; v < ByteCodec.VOCAB; v++) {
            boolean likely = (v >= 'a' && v <= 'z') || v == ' ';
            float u = (mix(h ^ (v * 0x9E3779B97F4A7C15L)) >>> 40) * 0x1.0p-24f; // [0, 1)
            logits[at + v] = likely ? 4f * u : -8f + u;
        }
        logits[at + ByteCodec.EOS] = eosLogit;
        logits[at + ByteCodec.END_THINK] = thinkEndLogit;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
