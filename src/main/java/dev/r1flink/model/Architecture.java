package dev.r1flink.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The model families r1-flink runs, named as in GGUF {@code general.architecture}. They share one forward pass;
 * each is a small delta on it (llama.cpp's {@code llm_build_llama}, {@code llm_build_qwen2}, {@code llm_build_qwen3}).
 */
public enum Architecture {
    /** DeepSeek-R1-Distill-Llama: adjacent-pair RoPE on GGUF-permuted q/k, optional Llama-3.1 {@code rope_freqs}. */
    LLAMA("llama", RopeType.NORM, false, false),
    /** DeepSeek-R1-Distill-Qwen: q/k/v bias, NeoX RoPE. */
    QWEN2("qwen2", RopeType.NEOX, true, false),
    /** DeepSeek-R1-0528-Qwen3: per-head RMSNorm of q and k before RoPE, explicit head dim, NeoX RoPE, no bias. */
    QWEN3("qwen3", RopeType.NEOX, false, true),
    /**
     * DeepSeek-R1/V3/V2: multi-head latent attention (a compressed KV latent plus a decoupled RoPE part, adjacent-pair
     * RoPE on the rope part only) and mixture-of-experts FFNs after the leading dense layers ({@code llm_build_deepseek2}).
     */
    DEEPSEEK2("deepseek2", RopeType.NORM, false, false);

    /**
     * How RoPE pairs the dimensions of a head (llama.cpp {@code LLAMA_ROPE_TYPE_NORM} / {@code _NEOX}): NORM rotates
     * {@code (2i, 2i+1)}, NEOX rotates {@code (i, i + ropeDim/2)}.
     */
    public enum RopeType { NORM, NEOX }

    public final String ggufName;
    public final RopeType ropeType;
    public final boolean qkvBias;
    public final boolean qkNorm;

    Architecture(String ggufName, RopeType ropeType, boolean qkvBias, boolean qkNorm) {
        this.ggufName = ggufName;
        this.ropeType = ropeType;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    /** @throws IllegalArgumentException naming {@code name} and the supported architectures */
    public static Architecture fromGguf(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unsupported model architecture '" + name + "' (supported: "
                + Arrays.stream(values()).map(a -> a.ggufName).collect(Collectors.joining(", ")) + ")");
    }
}
