package dev.r1flink.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One metadata value with its GGUF type, so that a file can be written back exactly as read.
 *
 * <p>Java representation of {@link #value()}: UINT8/INT8 {@code Byte}, UINT16/INT16 {@code Short}, UINT32/INT32
 * {@code Integer}, UINT64/INT64 {@code Long} (unsigned values keep their bits), FLOAT32 {@code Float}, FLOAT64
 * {@code Double}, BOOL {@code Boolean}, STRING {@code String}. An ARRAY holds a primitive array of the element type
 * ({@code byte[] short[] int[] long[] float[] double[] boolean[]}), a {@code String[]}, or for arrays of arrays a
 * {@code GgufValue[]}; {@link #elementType()} names the element type.
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type == GgufValueType.ARRAY) {
            Objects.requireNonNull(elementType, "elementType of an array");
        }
    }

    public static GgufValue of(GgufValueType type, Object value) {
        return new GgufValue(type, null, value);
    }

    public static GgufValue string(String s) {
        return of(GgufValueType.STRING, s);
    }

    public static GgufValue uint32(int v) {
        return of(GgufValueType.UINT32, v);
    }

    public static GgufValue int32(int v) {
        return of(GgufValueType.INT32, v);
    }

    public static GgufValue float32(float v) {
        return of(GgufValueType.FLOAT32, v);
    }

    public static GgufValue bool(boolean v) {
        return of(GgufValueType.BOOL, v);
    }

    public static GgufValue array(GgufValueType elementType, Object array) {
        return new GgufValue(GgufValueType.ARRAY, elementType, array);
    }

    /** Number of elements of an array value. */
    public int length() {
        if (value instanceof Object[] a) {
            return a.length;
        }
        return java.lang.reflect.Array.getLength(value);
    }

    /** The value as a long, for any integer type (unsigned types zero-extended). */
    public long asLong() {
        return switch (type) {
            case UINT8 -> Byte.toUnsignedLong((Byte) value);
            case UINT16 -> Short.toUnsignedLong((Short) value);
            case UINT32 -> Integer.toUnsignedLong((Integer) value);
            case INT8, INT16, INT32, INT64, UINT64 -> ((Number) value).longValue();
            case BOOL -> (Boolean) value ? 1 : 0;
            default -> throw new IllegalStateException("not an integer: " + type);
        };
    }

    public double asDouble() {
        return switch (type) {
            case FLOAT32, FLOAT64 -> ((Number) value).doubleValue();
            default -> asLong();
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufValue v && type == v.type && elementType == v.elementType
                && Arrays.deepEquals(new Object[] {value}, new Object[] {v.value});
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, elementType, Arrays.deepHashCode(new Object[] {value}));
    }

    @Override
    public String toString() {
        if (type == GgufValueType.ARRAY) {
            return "array<" + elementType + ">[" + length() + "]";
        }
        return type + ":" + value;
    }
}
