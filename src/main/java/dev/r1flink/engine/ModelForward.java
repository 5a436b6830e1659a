package dev.r1flink.engine;

import dev.r1flink.model.Batch;
import dev.r1flink.model.KvCache;
import dev.r1flink.model.Model;
import dev.r1flink.model.State;
import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.Parallel;

/**
 * A loaded {@link Model} as one engine sees it: the shared weights plus this engine's own {@link State}, sized on
 * first use to the batch's capacity (so the decode loop allocates nothing), with the weight products on one kernel
 * backend. One per engine; not thread-safe.
 *
 * <pre>{@code
 * ForwardModel forward = new ModelForward(Model.load(path), Backend.resolve("auto")); // share the Model, not this
 * }</pre>
 */
public final class ModelForward implements ForwardModel {
    private final Model model;
    private final Backend backend;
    private State state;

    public ModelForward(Model model, Backend backend) {
        this.model = model;
        this.backend = backend;
    }

    /** On the process's default backend ({@link Backend#processDefault()}). */
    public ModelForward(Model model) {
        this(model, Backend.processDefault());
    }

    public Model model() {
        return model;
    }

    public Backend backend() {
        return backend;
    }

    @Override public int vocabularySize() { return model.config.vocabSize(); }
    /** The trained context length from the GGUF. */
    @Override public int contextLength() { return model.config.contextLength(); }
    @Override public int blockCount() { return model.config.blockCount(); }
    /** Values per K row of one KV cell: headCountKv * headDim (MLA: kv_lora_rank + rope dim). */
    @Override public int kvDim() { return model.config.kvDim(); }
    /** Values per V row of one KV cell: kvDim, or 0 for MLA (the latent in the K row is the value). */
    @Override public int valueDim() { return model.config.valueCacheDim(); }
    @Override public String kernels() { return backend.describe(); }

    @Override
    public void forward(Batch batch, KvCache cache, float[] logits, Parallel parallel) {
        if (state == null || state.capacity() < batch.capacity()) {
            state = model.newState(batch.capacity(), backend);
        }
        model.forward(batch, cache, state, logits, parallel);
    }
}
