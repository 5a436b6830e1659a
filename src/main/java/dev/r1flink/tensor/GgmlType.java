package dev.r1flink.tensor;

/**
 * Tensor element types as llama.cpp's ggml numbers them (the ids are part of the GGUF format).
 *
 * <p>Every type is a sequence of fixed-size blocks: {@link #blockSize()} elements stored in {@link #typeSize()} bytes.
 * Only the types marked {@link #supported()} can be computed with; the others are listed so that a GGUF file holding
 * them can still be read and reported on with a clear message.
 */
public enum GgmlType {
    F32(0, 1, 4, true),
    F16(1, 1, 2, true),
    Q4_0(2, 32, 2 + 16, true),
    Q4_1(3, 32, 2 + 2 + 16, false),
    Q5_0(6, 32, 2 + 4 + 16, false),
    Q5_1(7, 32, 2 + 2 + 4 + 16, false),
    Q8_0(8, 32, 2 + 32, true),
    Q8_1(9, 32, 4 + 32, false),
    Q2_K(10, 256, 256 / 16 + 256 / 4 + 2 + 2, false),
    Q3_K(11, 256, 256 / 8 + 256 / 4 + 12 + 2, false),
    /** 8 sub-blocks of 32: fp16 d, fp16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles. */
    Q4_K(12, 256, 2 + 2 + 12 + 256 / 2, true),
    /** As Q4_K plus 32 bytes of high bits. */
    Q5_K(13, 256, 2 + 2 + 12 + 256 / 8 + 256 / 2, true),
    /** 16 sub-blocks of 16: 128 bytes low nibbles, 64 bytes high 2-bits, 16 int8 scales, fp16 d. */
    Q6_K(14, 256, 256 / 2 + 256 / 4 + 256 / 16 + 2, true),
    /** Activation-side type (float d, 256 int8, 16 int16 block sums); never a weight in a file. */
    Q8_K(15, 256, 4 + 256 + 16 * 2, false),
    I8(24, 1, 1, false),
    I16(25, 1, 2, false),
    I32(26, 1, 4, false),
    I64(27, 1, 8, false),
    F64(28, 1, 8, false),
    BF16(30, 1, 2, true);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final int blockSize;
    private final int typeSize;
    private final boolean supported;

    GgmlType(int id, int blockSize, int typeSize, boolean supported) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
        this.supported = supported;
    }

    /** The ggml type id as stored in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Elements per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** Whether r1-flink has kernels for this type. */
    public boolean supported() {
        return supported;
    }

    public boolean quantized() {
        return blockSize > 1;
    }

    /**
     * Bytes taken by {@code elements} elements of this type.
     *
     * @throws IllegalArgumentException if {@code elements} is negative or not a whole number of blocks
     * @throws ArithmeticException if the size does not fit in a long
     */
    public long byteSize(long elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("negative element count " + elements);
        }
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    elements + " elements is not a whole number of " + name() + " blocks of " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) typeSize);
    }

    /** The type with ggml id {@code id}, or {@code null} if r1-flink does not know it. */
    public static GgmlType fromId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
