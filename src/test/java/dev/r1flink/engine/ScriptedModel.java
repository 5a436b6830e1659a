package dev.r1flink.engine;

import dev.r1flink.model.Batch;
import dev.r1flink.model.KvCache;
import dev.r1flink.tensor.Parallel;

/**
 * Test double model that, greedily, says a fixed script: the token after position {@code pos} is
 * {@code script[pos + 1 - promptLength]} (end-of-sequence past the end). Every prompt of a test has
 * {@code promptLength} tokens.
 */
final class ScriptedModel implements ForwardModel {
    private final int promptLength;
    private final int[] script;

    ScriptedModel(int promptLength, int[] script) {
        this.promptLength = promptLength;
        this.script = script;
    }

    @Override public int vocabularySize() { return ByteCodec.VOCAB; }
    @Override public int contextLength() { return 4096; }
    @Override public int blockCount() { return 1; }
    @Override public int kvDim() { return 1; }

    @Override
    public void forward(Batch batch, KvCache cache, float[] logits, Parallel parallel) {
        int out = 0;
        for (int r = 0; r < batch.size(); r++) {
            cache.keys(0)[cache.cell(batch.seqIds[r], batch.positions[r])] = (short) batch.tokens[r];
            if (!batch.wantLogits[r]) continue;
            int k = batch.positions[r] + 1 - promptLength;
            int next = k >= 0 && k < script.length ? script[k] : ByteCodec.EOS;
            java.util.Arrays.fill(logits, out * ByteCodec.VOCAB, (out + 1) * ByteCodec.VOCAB, 0f);
            logits[out * ByteCodec.VOCAB + next] = 10f;
            out++;
        }
    }
}
