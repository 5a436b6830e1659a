package dev.r1flink.gguf;

import dev.r1flink.tensor.GgmlType;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF version 3 files. Tensor data is produced one tensor at a time by a {@link TensorSource}, so files
 * larger than memory can be written.
 *
 * <pre>{@code
 * GgufWriter w = new GgufWriter();
 * w.put("general.architecture", GgufValue.string("qwen2"));
 * w.addTensor("token_embd.weight", new long[] {dim, vocab}, GgmlType.Q8_0, out -> out.write(bytes));
 * w.write(Path.of("model.gguf"));
 * }</pre>
 */
public final class GgufWriter {

    /** Produces exactly {@code TensorInfo.byteSize()} bytes of a tensor's data. */
    @FunctionalInterface
    public interface TensorSource {
        void writeTo(OutputStream out) throws IOException;
    }

    private record Pending(String name, long[] dims, GgmlType type, TensorSource source) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();

    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putAll(Map<String, GgufValue> values) {
        metadata.putAll(values);
        return this;
    }

    public GgufWriter addTensor(String name, long[] dims, GgmlType type, TensorSource source) {
        type.byteSize(new TensorInfo(name, dims, type, 0).elementCount()); // validates block multiple
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException(name + ": first dimension " + dims[0] + " is not a multiple of "
                    + type.blockSize());
        }
        tensors.add(new Pending(name, dims.clone(), type, source));
        return this;
    }

    public GgufWriter addTensor(String name, long[] dims, GgmlType type, byte[] data) {
        long expected = new TensorInfo(name, dims, type, 0).byteSize();
        if (data.length != expected) {
            throw new IllegalArgumentException(name + ": " + data.length + " bytes given, " + expected + " expected");
        }
        return addTensor(name, dims, type, out -> out.write(data));
    }

    public void write(Path path) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp)) {
            write(os);
        }
        Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    public void write(OutputStream target) throws IOException {
        int alignment = metadata.containsKey(GgufFile.KEY_ALIGNMENT)
                ? (int) metadata.get(GgufFile.KEY_ALIGNMENT).asLong() : GgufFile.DEFAULT_ALIGNMENT;
        CountingOut out = new CountingOut(new BufferedOutputStream(target, 1 << 20));
        try {
            writeTo(out, alignment);
        } finally {
            out.flush(); // what was written reaches the target even when a tensor source fails
        }
    }

    private void writeTo(CountingOut out, int alignment) throws IOException {
        out.i32(GgufFile.MAGIC);
        out.i32(3);
        out.i64(tensors.size());
        out.i64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.i32(e.getValue().type().id());
            out.value(e.getValue());
        }
        long offset = 0;
        for (Pending t : tensors) {
            out.string(t.name);
            out.i32(t.dims.length);
            for (long d : t.dims) {
                out.i64(d);
            }
            out.i32(t.type.id());
            out.i64(offset);
            offset = GgufFile.alignUp(offset + new TensorInfo(t.name, t.dims, t.type, 0).byteSize(), alignment);
        }
        out.pad(alignment);
        for (Pending t : tensors) {
            long start = out.count;
            t.source.writeTo(out);
            long written = out.count - start;
            long expected = new TensorInfo(t.name, t.dims, t.type, 0).byteSize();
            if (written != expected) {
                throw new IOException("tensor '" + t.name + "': source wrote " + written + " bytes, expected " + expected);
            }
            out.pad(alignment);
        }
    }

    /** Little-endian output that counts bytes, for alignment padding. */
    private static final class CountingOut extends OutputStream {
        private final DataOutputStream out;
        long count;

        CountingOut(OutputStream os) {
            this.out = new DataOutputStream(os);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        void pad(int alignment) throws IOException {
            while (count % alignment != 0) {
                write(0);
            }
        }

        void i16(int v) throws IOException {
            write(v & 0xff);
            write((v >>> 8) & 0xff);
        }

        void i32(int v) throws IOException {
            i16(v);
            i16(v >>> 16);
        }

        void i64(long v) throws IOException {
            i32((int) v);
            i32((int) (v >>> 32));
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            write(b, 0, b.length);
        }

        void value(GgufValue v) throws IOException {
            scalarOrArray(v.type(), v.elementType(), v.value());
        }

        private void scalarOrArray(GgufValueType type, GgufValueType elementType, Object value) throws IOException {
            switch (type) {
                case UINT8, INT8 -> write((Byte) value);
                case UINT16, INT16 -> i16((Short) value);
                case UINT32, INT32 -> i32((Integer) value);
                case UINT64, INT64 -> i64((Long) value);
                case FLOAT32 -> i32(Float.floatToRawIntBits((Float) value));
                case FLOAT64 -> i64(Double.doubleToRawLongBits((Double) value));
                case BOOL -> write((Boolean) value ? 1 : 0);
                case STRING -> string((String) value);
                case ARRAY -> {
                    i32(elementType.id());
                    switch (elementType) {
                        case UINT8, INT8 -> { byte[] a = (byte[]) value; i64(a.length); write(a, 0, a.length); }
                        case UINT16, INT16 -> { short[] a = (short[]) value; i64(a.length); for (short x : a) i16(x); }
                        case UINT32, INT32 -> { int[] a = (int[]) value; i64(a.length); for (int x : a) i32(x); }
                        case UINT64, INT64 -> { long[] a = (long[]) value; i64(a.length); for (long x : a) i64(x); }
                        case FLOAT32 -> { float[] a = (float[]) value; i64(a.length); for (float x : a) i32(Float.floatToRawIntBits(x)); }
                        case FLOAT64 -> { double[] a = (double[]) value; i64(a.length); for (double x : a) i64(Double.doubleToRawLongBits(x)); }
                        case BOOL -> { boolean[] a = (boolean[]) value; i64(a.length); for (boolean x : a) write(x ? 1 : 0); }
                        case STRING -> { String[] a = (String[]) value; i64(a.length); for (String x : a) string(x); }
                        case ARRAY -> {
                            GgufValue[] a = (GgufValue[]) value;
                            i64(a.length);
                            for (GgufValue x : a) {
                                scalarOrArray(GgufValueType.ARRAY, x.elementType(), x.value());
                            }
                        }
                    }
                }
            }
        }
    }
}
