package dev.r1flink.gguf;

import dev.r1flink.tensor.GgmlType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (versions 2 and 3): metadata, tensor infos, and tensor data read on demand from the file.
 *
 * <pre>{@code
 * try (GgufFile gguf = GgufFile.open(Path.of("model.gguf"))) {
 *     String arch = gguf.getString("general.architecture");
 *     TensorInfo t = gguf.tensor("token_embd.weight");
 *     ByteBuffer data = gguf.map(t);        // memory-mapped, little-endian
 * }
 * }</pre>
 *
 * <p>Every count, length and offset in the header is checked against what the file can hold before anything is
 * allocated, so a malformed or hostile file ends in a {@link GgufFormatException} naming the problem, never in an
 * OutOfMemoryError or a hang. Tensor data is mapped one tensor at a time, so files over 2 GiB work; a single tensor
 * over 2 GiB is read with {@link #read(TensorInfo, long, byte[], int, int)}.
 */
public final class GgufFile implements AutoCloseable {

    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final String KEY_ALIGNMENT = "general.alignment";
    /** ggml's GGML_MAX_DIMS. */
    public static final int MAX_DIMS = 4;
    private static final int MAX_NESTING = 8;

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, TensorInfo> tensors;
    private final int alignment;
    private final long dataOffset;

    private GgufFile(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        this.fileSize = channel.size();
        HeaderReader in = new HeaderReader(channel, fileSize);
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw new GgufFormatException(String.format("bad magic 0x%08x: not a GGUF file", magic));
        }
        version = in.i32("version");
        if (version != 2 && version != 3) {
            throw new GgufFormatException("unsupported GGUF version " + version + " (expected 2 or 3)");
        }
        long tensorCount = in.i64("tensor count");
        long kvCount = in.i64("metadata count");
        // A tensor info takes at least 8+4+8+4+8 bytes, a key/value at least 8+4+1.
        in.checkCount(tensorCount, 32, "tensor count");
        in.checkCount(kvCount, 13, "metadata count");

        Map<String, GgufValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = in.string("metadata key #" + i);
            int typeId = in.i32("type of " + key);
            GgufValueType type = GgufValueType.fromId(typeId);
            if (type == null) {
                throw new GgufFormatException("metadata '" + key + "' has unknown value type " + typeId);
            }
            if (kv.put(key, in.value(type, key, 0)) != null) {
                throw new GgufFormatException("duplicate metadata key '" + key + "'");
            }
        }
        metadata = Collections.unmodifiableMap(kv);

        GgufValue align = kv.get(KEY_ALIGNMENT);
        if (align == null) {
            alignment = DEFAULT_ALIGNMENT;
        } else {
            if (align.type() != GgufValueType.UINT32 && align.type() != GgufValueType.INT32) {
                throw new GgufFormatException(KEY_ALIGNMENT + " must be a 32-bit integer, not " + align.type());
            }
            long a = align.asLong();
            if (a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1) {
                throw new GgufFormatException(KEY_ALIGNMENT + " = " + a + " is not a power of two in [1, 2^20]");
            }
            alignment = (int) a;
        }

        Map<String, TensorInfo> ts = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = in.string("tensor name #" + i);
            int nDims = in.i32("dimension count of " + name);
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new GgufFormatException("tensor '" + name + "' has " + nDims + " dimensions (1.." + MAX_DIMS + ")");
            }
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.i64("dimension " + d + " of " + name);
                if (dims[d] < 0) {
                    throw new GgufFormatException("tensor '" + name + "' has negative dimension " + dims[d]);
                }
                try {
                    elements = Math.multiplyExact(elements, dims[d]);
                } catch (ArithmeticException e) {
                    throw new GgufFormatException("tensor '" + name + "' element count overflows");
                }
            }
            int typeId = in.i32("type of " + name);
            GgmlType type = GgmlType.fromId(typeId);
            if (type == null) {
                throw new GgufFormatException("tensor '" + name + "' has unknown ggml type " + typeId);
            }
            if (dims[0] % type.blockSize() != 0) {
                throw new GgufFormatException("tensor '" + name + "': first dimension " + dims[0]
                        + " is not a multiple of the " + type + " block size " + type.blockSize());
            }
            long offset = in.i64("offset of " + name);
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufFormatException("tensor '" + name + "' offset " + offset
                        + " is negative or not a multiple of the alignment " + alignment);
            }
            TensorInfo t = new TensorInfo(name, dims, type, offset);
            try {
                t.byteSize();
            } catch (ArithmeticException e) {
                throw new GgufFormatException("tensor '" + name + "' byte size overflows");
            }
            if (ts.put(name, t) != null) {
                throw new GgufFormatException("duplicate tensor name '" + name + "'");
            }
            infos.add(t);
        }
        tensors = Collections.unmodifiableMap(ts);

        long pos = in.position();
        dataOffset = tensorCount == 0 ? Math.min(pos, fileSize) : alignUp(pos, alignment);
        long dataSize = fileSize - dataOffset;
        for (TensorInfo t : infos) {
            long size = t.byteSize();
            if (t.offset() > dataSize || size > dataSize - t.offset()) {
                throw new GgufFormatException("tensor '" + t.name() + "' (" + size + " bytes at data offset "
                        + t.offset() + ") runs past the end of the file (" + dataSize + " data bytes): truncated?");
            }
        }
    }

    /**
     * Opens and validates a GGUF file.
     *
     * @throws GgufFormatException if the file is not a well-formed GGUF file; the message names the problem
     * @throws NoSuchFileException if it does not exist
     */
    public static GgufFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new GgufFile(path, ch);
        } catch (GgufFormatException e) {
            ch.close();
            throw new GgufFormatException(path + ": " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    static long alignUp(long x, int alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    /** Absolute file offset of the tensor data section. */
    public long dataOffset() {
        return dataOffset;
    }

    public long fileSize() {
        return fileSize;
    }

    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Tensor infos in file order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The tensor called {@code name}, or {@code null}. */
    public TensorInfo tensor(String name) {
        return tensors.get(name);
    }

    // ---- metadata accessors: each throws IllegalArgumentException naming the key when missing or mistyped ----

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public GgufValue value(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            throw new IllegalArgumentException(path + ": missing metadata key '" + key + "'");
        }
        return v;
    }

    public String getString(String key) {
        GgufValue v = value(key);
        if (v.type() != GgufValueType.STRING) {
            throw new IllegalArgumentException(path + ": '" + key + "' is " + v.type() + ", expected STRING");
        }
        return (String) v.value();
    }

    public String getString(String key, String defaultValue) {
        return has(key) ? getString(key) : defaultValue;
    }

    public long getLong(String key) {
        GgufValue v = value(key);
        try {
            return v.asLong();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(path + ": '" + key + "' is " + v.type() + ", expected an integer");
        }
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(path + ": '" + key + "' = " + v + " does not fit in an int");
        }
        return (int) v;
    }

    public int getInt(String key, int defaultValue) {
        return has(key) ? getInt(key) : defaultValue;
    }

    public float getFloat(String key) {
        GgufValue v = value(key);
        try {
            return (float) v.asDouble();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(path + ": '" + key + "' is " + v.type() + ", expected a number");
        }
    }

    public float getFloat(String key, float defaultValue) {
        return has(key) ? getFloat(key) : defaultValue;
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        GgufValue v = value(key);
        if (v.type() != GgufValueType.BOOL) {
            throw new IllegalArgumentException(path + ": '" + key + "' is " + v.type() + ", expected BOOL");
        }
        return (Boolean) v.value();
    }

    private Object array(String key, GgufValueType... elementTypes) {
        GgufValue v = value(key);
        if (v.type() == GgufValueType.ARRAY) {
            for (GgufValueType t : elementTypes) {
                if (v.elementType() == t) {
                    return v.value();
                }
            }
        }
        throw new IllegalArgumentException(path + ": '" + key + "' is " + v + ", expected an array of "
                + java.util.Arrays.toString(elementTypes));
    }

    public String[] getStringArray(String key) {
        return (String[]) array(key, GgufValueType.STRING);
    }

    /** An INT32 or UINT32 array. */
    public int[] getIntArray(String key) {
        return (int[]) array(key, GgufValueType.INT32, GgufValueType.UINT32);
    }

    public float[] getFloatArray(String key) {
        return (float[]) array(key, GgufValueType.FLOAT32);
    }

    // ---- tensor data ----

    /**
     * Maps a tensor's data read-only, little-endian.
     *
     * @throws IllegalArgumentException if the tensor is over 2 GiB (use {@link #read})
     */
    public ByteBuffer map(TensorInfo t) throws IOException {
        long size = t.byteSize();
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' is " + size + " bytes, over 2 GiB: read it in parts");
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataOffset + t.offset(), size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Copies {@code length} bytes of a tensor's data, from byte {@code from} within it, into {@code dst}. */
    public void read(TensorInfo t, long from, byte[] dst, int dstOffset, int length) throws IOException {
        if (from < 0 || length < 0 || from + length > t.byteSize()) {
            throw new IndexOutOfBoundsException("bytes [" + from + ", " + (from + length) + ") of tensor '" + t.name()
                    + "' of " + t.byteSize() + " bytes");
        }
        ByteBuffer buf = ByteBuffer.wrap(dst, dstOffset, length);
        long pos = dataOffset + t.offset() + from;
        while (buf.hasRemaining()) {
            int n = channel.read(buf, pos);
            if (n < 0) {
                throw new GgufFormatException(path + ": unexpected end of file in tensor '" + t.name() + "'");
            }
            pos += n;
        }
    }

    /** Reads a whole tensor (at most 2 GiB) onto the heap. */
    public byte[] readAll(TensorInfo t) throws IOException {
        long size = t.byteSize();
        if (size > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' is " + size + " bytes, over 2 GiB");
        }
        byte[] out = new byte[(int) size];
        read(t, 0, out, 0, out.length);
        return out;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** Little-endian reader over the header that refuses to read or allocate past the end of the file. */
    private static final class HeaderReader {
        private final FileChannel ch;
        private final long fileSize;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        // One strict decoder for the whole header: vocabularies hold ~300k strings.
        private final java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        private long bufStart; // file position of buf[0]

        HeaderReader(FileChannel ch, long fileSize) {
            this.ch = ch;
            this.fileSize = fileSize;
            buf.limit(0);
        }

        long position() {
            return bufStart + buf.position();
        }

        long remaining() {
            return fileSize - position();
        }

        private void need(int n, String what) throws IOException {
            if (buf.remaining() >= n) {
                return;
            }
            if (remaining() < n) {
                throw new GgufFormatException("truncated file: end of file while reading " + what + " at byte " + position());
            }
            bufStart = position();
            buf.clear();
            while (buf.position() < n) {
                if (ch.read(buf, bufStart + buf.position()) < 0) {
                    throw new GgufFormatException("truncated file: end of file while reading " + what);
                }
            }
            buf.flip();
        }

        void checkCount(long count, long minBytesEach, String what) throws GgufFormatException {
            if (count < 0 || (count > 0 && count > remaining() / minBytesEach)) {
                throw new GgufFormatException(what + " " + (count < 0 ? Long.toUnsignedString(count) : count)
                        + " is more than the " + remaining() + " remaining bytes can hold");
            }
        }

        int i32(String what) throws IOException {
            need(4, what);
            return buf.getInt();
        }

        long i64(String what) throws IOException {
            need(8, what);
            return buf.getLong();
        }

        String string(String what) throws IOException {
            long len = i64("length of " + what);
            if (len < 0 || len > remaining()) {
                throw new GgufFormatException("length " + Long.toUnsignedString(len) + " of " + what
                        + " runs past the end of the file");
            }
            if (len > Integer.MAX_VALUE - 8) {
                throw new GgufFormatException("string " + what + " of " + len + " bytes is too long");
            }
            byte[] bytes = new byte[(int) len];
            int done = 0;
            while (done < bytes.length) {
                if (!buf.hasRemaining()) {
                    need(Math.min(bytes.length - done, buf.capacity()), what);
                }
                int n = Math.min(buf.remaining(), bytes.length - done);
                buf.get(bytes, done, n);
                done += n;
            }
            try {
                return utf8.decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                // llama.cpp's vocab files hold valid UTF-8; keep going with replacement rather than refuse the file.
                return new String(bytes, StandardCharsets.UTF_8);
            }
        }

        GgufValue value(GgufValueType type, String key, int depth) throws IOException {
            return switch (type) {
                case UINT8, INT8 -> { need(1, key); yield GgufValue.of(type, buf.get()); }
                case UINT16, INT16 -> { need(2, key); yield GgufValue.of(type, buf.getShort()); }
                case UINT32, INT32 -> GgufValue.of(type, i32(key));
                case UINT64, INT64 -> GgufValue.of(type, i64(key));
                case FLOAT32 -> { need(4, key); yield GgufValue.of(type, buf.getFloat()); }
                case FLOAT64 -> { need(8, key); yield GgufValue.of(type, buf.getDouble()); }
                case BOOL -> {
                    need(1, key);
                    byte b = buf.get();
                    if (b != 0 && b != 1) {
                        throw new GgufFormatException("metadata '" + key + "': bool byte " + b + " is neither 0 nor 1");
                    }
                    yield GgufValue.of(type, b == 1);
                }
                case STRING -> GgufValue.string(string(key));
                case ARRAY -> array(key, depth);
            };
        }

        private GgufValue array(String key, int depth) throws IOException {
            if (depth >= MAX_NESTING) {
                throw new GgufFormatException("metadata '" + key + "': arrays nested deeper than " + MAX_NESTING);
            }
            int elemId = i32("element type of " + key);
            GgufValueType et = GgufValueType.fromId(elemId);
            if (et == null) {
                throw new GgufFormatException("metadata '" + key + "' is an array of unknown type " + elemId);
            }
            long n = i64("length of " + key);
            checkCount(n, et.minBytes, "length of array '" + key + "'");
            if (n > Integer.MAX_VALUE - 8) {
                throw new GgufFormatException("array '" + key + "' of " + n + " elements is too long");
            }
            int len = (int) n;
            Object arr = switch (et) {
                case UINT8, INT8 -> { byte[] a = new byte[len]; for (int i = 0; i < len; i++) { need(1, key); a[i] = buf.get(); } yield a; }
                case UINT16, INT16 -> { short[] a = new short[len]; for (int i = 0; i < len; i++) { need(2, key); a[i] = buf.getShort(); } yield a; }
                case UINT32, INT32 -> { int[] a = new int[len]; for (int i = 0; i < len; i++) { a[i] = i32(key); } yield a; }
                case UINT64, INT64 -> { long[] a = new long[len]; for (int i = 0; i < len; i++) { a[i] = i64(key); } yield a; }
                case FLOAT32 -> { float[] a = new float[len]; for (int i = 0; i < len; i++) { need(4, key); a[i] = buf.getFloat(); } yield a; }
                case FLOAT64 -> { double[] a = new double[len]; for (int i = 0; i < len; i++) { need(8, key); a[i] = buf.getDouble(); } yield a; }
                case BOOL -> { boolean[] a = new boolean[len]; for (int i = 0; i < len; i++) { a[i] = (Boolean) value(et, key, depth).value(); } yield a; }
                case STRING -> { String[] a = new String[len]; for (int i = 0; i < len; i++) { a[i] = string(key + "[" + i + "]"); } yield a; }
                case ARRAY -> { GgufValue[] a = new GgufValue[len]; for (int i = 0; i < len; i++) { a[i] = array(key + "[" + i + "]", depth + 1); } yield a; }
            };
            return GgufValue.array(et, arr);
        }
    }
}
