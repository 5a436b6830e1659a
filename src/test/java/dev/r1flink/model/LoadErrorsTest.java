package dev.r1flink.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.gguf.GgufValue;
import dev.r1flink.gguf.GgufWriter;
import dev.r1flink.gguf.TensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.BiFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken model files end in messages that name the problem. */
class LoadErrorsTest {

    @TempDir
    static Path dir;
    static Path good;

    @BeforeAll
    static void synth() throws IOException {
        good = dir.resolve("good.gguf");
        new Synthesizer(Synthesizer.shape("tiny-qwen2"), "F32", null, 1).write(good, null);
    }

    /**
     * Copies {@code good} with metadata value {@code key} replaced (removed if {@code value} is null) and each tensor passed through
     * {@code tensor}, which returns the dims to write or null to drop it.
     */
    static Path copy(String name, String key, GgufValue value, BiFunction<String, long[], long[]> tensor)
            throws IOException {
        Path out = dir.resolve(name);
        try (GgufFile in = GgufFile.open(good)) {
            GgufWriter w = new GgufWriter();
            java.util.Map<String, GgufValue> meta = new java.util.LinkedHashMap<>(in.metadata());
            if (key != null && value == null) {
                meta.remove(key);
            } else if (key != null) {
                meta.put(key, value);
            }
            w.putAll(meta);
            for (TensorInfo t : in.tensors().values()) {
                long[] dims = tensor.apply(t.name(), t.dims());
                if (dims != null) {
                    byte[] data = in.readAll(t);
                    w.addTensor(t.name(), dims, t.type(), data);
                }
            }
            w.write(out);
        }
        return out;
    }

    static String loadError(Path file) {
        return assertThrows(IllegalArgumentException.class, () -> Model.load(file)).getMessage();
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path f = copy("missing.gguf", null, null, (n, d) -> n.equals("blk.1.attn_k.bias") ? null : d);
        String msg = loadError(f);
        assertTrue(msg.contains("missing tensor 'blk.1.attn_k.bias'") && msg.contains("missing.gguf"), msg);
    }

    @Test
    void wrongShapeIsNamedWithBothShapes() throws IOException {
        // same bytes, transposed dims: [512][256] stored as [256][512]
        Path f = copy("shape.gguf", null, null, (n, d) -> n.equals("blk.0.ffn_up.weight") ? new long[] {d[1], d[0]} : d);
        String msg = loadError(f);
        assertTrue(msg.contains("'blk.0.ffn_up.weight' has shape [512, 256], expected [256, 512]"), msg);
    }

    @Test
    void unknownArchitectureListsSupportedOnes() throws IOException {
        Path f = copy("arch.gguf", "general.architecture", GgufValue.string("gpt2"), (n, d) -> d);
        String msg = loadError(f);
        assertTrue(msg.contains("'gpt2'") && msg.contains("llama, qwen2, qwen3"), msg);
    }

    @Test
    void missingHyperparameterIsNamed() throws IOException {
        Path f = copy("eps.gguf", "qwen2.attention.layer_norm_rms_epsilon", null, (n, d) -> d);
        String msg = loadError(f);
        assertTrue(msg.contains("qwen2.attention.layer_norm_rms_epsilon"), msg);
    }

    @org.junit.jupiter.api.Test
    void aModelLargerThanTheHeapIsRefusedWithTheSettingToRaise() throws IOException {
        Model.checkFitsHeap(4L << 30, 8L << 30); // fits: no error
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> Model.checkFitsHeap(40L << 30, 5L << 30));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("40.0 GiB")
                && e.getMessage().contains("5.0 GiB") && e.getMessage().contains("-Xmx51g")
                && e.getMessage().contains("taskmanager.memory.process.size"), e.getMessage());
    }
}
