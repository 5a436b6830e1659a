package dev.r1flink.model;

import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.Parallel;

/**
 * One caller's handle on a shared {@link Model}: the model plus its own {@link State}, sized on first use to the
 * batch's capacity (so the decode loop allocates nothing). One runner per engine; not thread-safe. The method names
 * match what the engine asks of a model, so an adapter is one line per method.
 *
 * <pre>{@code
 * ModelRunner runner = new ModelRunner(Model.load(path));     // or share one Model between many runners
 * runner.forward(batch, kvCache, logits, parallel);
 * }</pre>
 */
public final class ModelRunner {

    private final Model model;
    private final Backend backend;
    private State state;

    public ModelRunner(Model model) {
        this(model, Backend.processDefault());
    }

    public ModelRunner(Model model, Backend backend) {
        this.model = model;
        this.backend = backend;
    }

    /** The kernels the weight products run on. */
    public Backend backend() {
        return backend;
    }

    public Model model() {
        return model;
    }

    public int vocabularySize() {
        return model.config.vocabSize();
    }

    /** The trained context length from the GGUF. */
    public int contextLength() {
        return model.config.contextLength();
    }

    public int blockCount() {
        return model.config.blockCount();
    }

    /** Values per K row of one KV cell: headCountKv * headDim (MLA: kv_lora_rank + rope dim). */
    public int kvDim() {
        return model.config.kvDim();
    }

    /** Values per V row of one KV cell: kvDim, or 0 for MLA (the latent in the K row is the value). */
    public int valueDim() {
        return model.config.valueCacheDim();
    }

    /** {@link Model#forward} with this runner's state (grown to {@code batch.capacity()} rows when needed). */
    public void forward(Batch batch, KvCache kv, float[] logits, Parallel parallel) {
        if (state == null || state.capacity() < batch.capacity()) {
            state = model.newState(batch.capacity(), backend);
        }
        model.forward(batch, kv, state, logits, parallel);
    }
}
