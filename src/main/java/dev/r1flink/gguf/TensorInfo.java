package dev.r1flink.gguf;

import dev.r1flink.tensor.GgmlType;
import java.util.Arrays;

/**
 * A tensor's entry in a GGUF file.
 *
 * @param dims   ggml order: {@code dims[0]} is the innermost (contiguous) dimension, e.g. a weight of
 *               {@code [rows][cols]} has {@code dims = {cols, rows}}
 * @param offset byte offset of the data, relative to the start of the file's tensor data section
 */
public record TensorInfo(String name, long[] dims, GgmlType type, long offset) {

    public TensorInfo {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public int nDims() {
        return dims.length;
    }

    public long dim(int i) {
        return i < dims.length ? dims[i] : 1;
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteSize() {
        return type.byteSize(elementCount());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && Arrays.equals(dims, t.dims) && type == t.type
                && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims) + " @" + offset;
    }
}
