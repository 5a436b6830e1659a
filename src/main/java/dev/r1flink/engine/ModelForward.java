package dev.r1flink.engine;

import dev.r1flink.model.Batch;
import dev.r1flink.model.KvCache;
import dev.r1flink.model.ModelRunner;
import dev.r1flink.tensor.Parallel;

/** The model runtime as the engine sees it: one {@link ModelRunner} (shared weights, this engine's own state). */
public final class ModelForward implements ForwardModel {
    private final ModelRunner runner;

    public ModelForward(ModelRunner runner) {
        this.runner = runner;
    }

    @Override public int vocabularySize() { return runner.vocabularySize(); }
    @Override public int contextLength() { return runner.contextLength(); }
    @Override public int blockCount() { return runner.blockCount(); }
    @Override public int kvDim() { return runner.kvDim(); }
    @Override public int valueDim() { return runner.valueDim(); }

    @Override public String kernels() { return runner.backend().describe(); }

    @Override
    public void forward(Batch batch, KvCache cache, float[] logits, Parallel parallel) {
        runner.forward(batch, cache, logits, parallel);
    }
}
