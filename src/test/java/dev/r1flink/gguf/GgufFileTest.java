package dev.r1flink.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.tensor.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufFileTest {

    @TempDir
    Path dir;

    static GgufWriter sample() {
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.string("qwen2"));
        w.put("u8", GgufValue.of(GgufValueType.UINT8, (byte) 0xff));
        w.put("i8", GgufValue.of(GgufValueType.INT8, (byte) -3));
        w.put("u16", GgufValue.of(GgufValueType.UINT16, (short) 0xfffe));
        w.put("i16", GgufValue.of(GgufValueType.INT16, (short) -300));
        w.put("u32", GgufValue.uint32(0xfffffff0));
        w.put("i32", GgufValue.int32(-7));
        w.put("u64", GgufValue.of(GgufValueType.UINT64, -1L));
        w.put("i64", GgufValue.of(GgufValueType.INT64, 1L << 40));
        w.put("f32", GgufValue.float32(1.5f));
        w.put("f64", GgufValue.of(GgufValueType.FLOAT64, Math.PI));
        w.put("bool", GgufValue.bool(true));
        w.put("str", GgufValue.string("héllo <think> 😀"));
        w.put("arr.str", GgufValue.array(GgufValueType.STRING, new String[] {"a", "", "ç"}));
        w.put("arr.i32", GgufValue.array(GgufValueType.INT32, new int[] {1, -2, 3}));
        w.put("arr.f32", GgufValue.array(GgufValueType.FLOAT32, new float[] {0.5f, -1f}));
        w.put("arr.u8", GgufValue.array(GgufValueType.UINT8, new byte[] {1, 2, (byte) 200}));
        w.put("arr.bool", GgufValue.array(GgufValueType.BOOL, new boolean[] {true, false}));
        w.put("arr.f64", GgufValue.array(GgufValueType.FLOAT64, new double[] {2.25}));
        w.put("arr.i64", GgufValue.array(GgufValueType.INT64, new long[] {-9L}));
        w.put("arr.i16", GgufValue.array(GgufValueType.INT16, new short[] {7, -7}));
        w.put("arr.nested", GgufValue.array(GgufValueType.ARRAY, new GgufValue[] {
                GgufValue.array(GgufValueType.INT32, new int[] {1, 2}),
                GgufValue.array(GgufValueType.STRING, new String[] {"x"})}));
        byte[] f32 = new byte[4 * 8 * 2];
        ByteBuffer.wrap(f32).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(new float[] {
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
        w.addTensor("a.weight", new long[] {8, 2}, GgmlType.F32, f32);
        byte[] q8 = new byte[34 * 3];
        new Random(1).nextBytes(q8);
        w.addTensor("b.weight", new long[] {32, 3}, GgmlType.Q8_0, q8);
        return w;
    }

    static byte[] sampleBytes() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        sample().write(out);
        return out.toByteArray();
    }

    @Test
    void roundTripsEveryValueTypeAndTensorData() throws IOException {
        Path p = dir.resolve("s.gguf");
        sample().write(p);
        try (GgufFile g = GgufFile.open(p)) {
            assertEquals(3, g.version());
            assertEquals(32, g.alignment());
            assertEquals("qwen2", g.getString("general.architecture"));
            assertEquals(255, g.getLong("u8"));
            assertEquals(-3, g.getLong("i8"));
            assertEquals(0xfffe, g.getLong("u16"));
            assertEquals(-300, g.getLong("i16"));
            assertEquals(0xfffffff0L, g.getLong("u32"));
            assertEquals(-7, g.getInt("i32"));
            assertEquals(1L << 40, g.getLong("i64"));
            assertEquals(1.5f, g.getFloat("f32"));
            assertEquals(Math.PI, g.value("f64").asDouble());
            assertTrue(g.getBoolean("bool", false));
            assertEquals("héllo <think> 😀", g.getString("str"));
            assertArrayEquals(new String[] {"a", "", "ç"}, g.getStringArray("arr.str"));
            assertArrayEquals(new int[] {1, -2, 3}, g.getIntArray("arr.i32"));
            assertArrayEquals(new float[] {0.5f, -1f}, g.getFloatArray("arr.f32"));
            GgufValue nested = g.value("arr.nested");
            assertEquals(GgufValueType.ARRAY, nested.elementType());
            GgufValue[] inner = (GgufValue[]) nested.value();
            assertArrayEquals(new int[] {1, 2}, (int[]) inner[0].value());
            assertArrayEquals(new String[] {"x"}, (String[]) inner[1].value());
            // every value survives a second write/read unchanged
            Path p2 = dir.resolve("s2.gguf");
            new GgufWriter().putAll(g.metadata()).write(p2);
            try (GgufFile g2 = GgufFile.open(p2)) {
                assertEquals(g.metadata(), g2.metadata());
            }

            TensorInfo a = g.tensor("a.weight");
            assertArrayEquals(new long[] {8, 2}, a.dims());
            assertEquals(GgmlType.F32, a.type());
            assertEquals(0, a.offset());
            ByteBuffer data = g.map(a);
            assertEquals(16f, data.getFloat(15 * 4));
            TensorInfo b = g.tensor("b.weight");
            assertEquals(64 + 0, b.offset() - 0, "b follows a, aligned to 32");
            assertEquals(0, (g.dataOffset() + b.offset()) % 32);
            byte[] expect = new byte[34 * 3];
            new Random(1).nextBytes(expect);
            assertArrayEquals(expect, g.readAll(b));
        }
    }

    @Test
    void readsVersion2AndCustomAlignment() throws IOException {
        GgufWriter w = new GgufWriter();
        w.put(GgufFile.KEY_ALIGNMENT, GgufValue.uint32(64));
        w.addTensor("t", new long[] {4}, GgmlType.F32, new byte[16]);
        w.addTensor("u", new long[] {4}, GgmlType.F32, new byte[] {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        w.write(out);
        byte[] bytes = out.toByteArray();
        bytes[4] = 2; // version 2 has the same layout for the fields we write (64-bit counts)
        Path p = dir.resolve("v2.gguf");
        Files.write(p, bytes);
        try (GgufFile g = GgufFile.open(p)) {
            assertEquals(2, g.version());
            assertEquals(64, g.alignment());
            assertEquals(0, g.dataOffset() % 64);
            assertEquals(64, g.tensor("u").offset());
            assertEquals(1f, g.map(g.tensor("u")).getFloat(0));
        }
    }

    @Test
    void mapsTensorsBeyondTwoGigabytes() throws IOException {
        // A sparse file: one small tensor placed after 3 GiB of (unwritten) data.
        long big = 3L << 30;
        Path p = dir.resolve("big.gguf");
        GgufWriter headerOnly = new GgufWriter();
        byte[] tail = new byte[32];
        ByteBuffer.wrap(tail).order(ByteOrder.LITTLE_ENDIAN).putFloat(28, 42f);
        headerOnly.addTensor("pad", new long[] {big / 4}, GgmlType.F32, out -> { throw new StopWriting(); });
        headerOnly.addTensor("tail", new long[] {8}, GgmlType.F32, out -> { });
        ByteArrayOutputStream h = new ByteArrayOutputStream();
        try {
            headerOnly.write(h);
        } catch (StopWriting expected) {
            // header and padding were flushed before the first tensor's data
        }
        byte[] head = h.toByteArray();
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.write(head);
            raf.seek(head.length + big);
            raf.write(tail);
        }
        try (GgufFile g = GgufFile.open(p)) {
            assertTrue(g.fileSize() > big);
            TensorInfo t = g.tensor("tail");
            assertEquals(big, t.offset());
            assertEquals(42f, g.map(t).getFloat(28));
            assertThrows(IllegalArgumentException.class, () -> g.map(g.tensor("pad")), "over 2 GiB needs read()");
            byte[] part = new byte[4];
            g.read(g.tensor("pad"), big - 4, part, 0, 4);
        }
    }

    static final class StopWriting extends IOException {
        StopWriting() {
            super("stop");
        }
    }

    @Test
    void missingFileIsNoSuchFile() {
        assertThrows(NoSuchFileException.class, () -> GgufFile.open(dir.resolve("nope.gguf")));
    }

    private GgufFormatException malformed(byte[] bytes) throws IOException {
        Path p = dir.resolve("bad.gguf");
        Files.write(p, bytes);
        return assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close());
    }

    private static void putLong(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
    }

    @Test
    void hostileHeadersGetClearMessages() throws IOException {
        byte[] good = sampleBytes();

        byte[] b = good.clone();
        b[0] = 'X';
        assertTrue(malformed(b).getMessage().contains("bad magic"));

        b = good.clone();
        b[4] = 9;
        assertTrue(malformed(b).getMessage().contains("unsupported GGUF version 9"));

        b = good.clone();
        putLong(b, 8, Long.MAX_VALUE); // tensor count
        assertTrue(malformed(b).getMessage().contains("tensor count"));

        b = good.clone();
        putLong(b, 16, -1); // metadata count, unsigned 2^64-1
        assertTrue(malformed(b).getMessage().contains("metadata count"));

        b = good.clone();
        putLong(b, 24, 1L << 40); // length of first key
        assertTrue(malformed(b).getMessage().contains("past the end"));

        assertTrue(malformed(java.util.Arrays.copyOf(good, 10)).getMessage().contains("truncated"));
        assertTrue(malformed(java.util.Arrays.copyOf(good, good.length - 40)).getMessage().contains("past the end of the file"));
    }

    @Test
    void absurdDimsAndOffsetsAreRejected() throws IOException {
        assertThrows(ArithmeticException.class, () -> new GgufWriter()
                .addTensor("t", new long[] {1L << 31, 1L << 31, 1L << 31}, GgmlType.F32, out -> { }));
        GgufWriter w2 = new GgufWriter();
        w2.addTensor("t", new long[] {1L << 20, 1L << 20}, GgmlType.F32, out -> { throw new StopWriting(); });
        ByteArrayOutputStream h2 = new ByteArrayOutputStream();
        assertThrows(StopWriting.class, () -> w2.write(h2));
        GgufFormatException e = malformed(h2.toByteArray());
        assertTrue(e.getMessage().contains("runs past the end"), e.getMessage());
    }

    @Test
    void fuzzedFilesEndInACleanException() throws IOException {
        byte[] good = sampleBytes();
        Random rnd = new Random(20261128);
        Path p = dir.resolve("fuzz.gguf");
        int clean = 0;
        int opened = 0;
        for (int i = 0; i < 1500; i++) {
            byte[] b;
            if (i < good.length && i % 2 == 0) {
                b = java.util.Arrays.copyOf(good, rnd.nextInt(good.length)); // truncation
            } else {
                b = good.clone();
                int flips = 1 + rnd.nextInt(4);
                for (int f = 0; f < flips; f++) {
                    int at = rnd.nextInt(Math.min(b.length, 900)); // mostly the header
                    b[at] ^= (byte) (1 << rnd.nextInt(8));
                }
                if (rnd.nextInt(4) == 0) { // sometimes a random 64-bit value over a count or length
                    int at = 8 + rnd.nextInt(Math.max(1, Math.min(b.length, 900) - 16));
                    putLong(b, at, rnd.nextLong());
                }
            }
            Files.write(p, b);
            try (GgufFile g = GgufFile.open(p)) {
                opened++;
                for (TensorInfo t : g.tensors().values()) {
                    if (t.byteSize() < (1 << 20)) {
                        g.readAll(t);
                    }
                }
            } catch (GgufFormatException e) {
                assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
                clean++;
            }
        }
        assertTrue(clean > 700, "most fuzzed files must be rejected, got " + clean + " rejected, " + opened + " opened");
    }
}
