package dev.r1flink.job;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.r1flink.job.avro.DeadLetterKind;
import dev.r1flink.job.avro.GenerationParams;
import dev.r1flink.job.avro.PromptEvent;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.Decoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.util.Utf8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Prompt events on the wire. Avro single-object encoding ({@code C3 01}, the CRC-64-AVRO fingerprint of the
 * writer schema, little-endian, then the binary body) by default; JSON with the Avro field names for people typing
 * into {@code kafka-console-producer}:
 *
 * <pre>{@code
 * {"id": "q1", "prompt": "What is 17 * 23?", "params": {"maxTokens": 512, "temperature": 0.6},
 *  "metadata": {"user": "ann"}}
 * }</pre>
 *
 * <p>Decoding is strict: strings must be valid UTF-8 (Avro itself would silently substitute U+FFFD), the body must
 * be consumed exactly, and JSON may not carry unknown fields (a typo like {@code max_tokens} would otherwise be
 * ignored without a word).
 */
public final class PromptCodec {

    private static final Schema SCHEMA = PromptEvent.getClassSchema();
    private static final long FINGERPRINT = SchemaNormalization.parsingFingerprint64(SCHEMA);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("id", "prompt", "system", "model", "params", "metadata", "createdAt");
    private static final Set<String> PARAM_FIELDS = Set.of("maxTokens", "maxReasoningTokens", "temperature", "topP", "seed");

    private PromptCodec() {
    }

    /** Fingerprint in the header of every PromptEvent this version writes. */
    public static long fingerprint() {
        return FINGERPRINT;
    }

    public static byte[] encode(PromptEvent e) {
        try {
            ByteBuffer b = e.toByteBuffer();
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Decodes {@code bytes} in {@code format}; {@code recordTimestamp} fills a missing JSON {@code createdAt}. */
    public static PromptEvent decode(byte[] bytes, InputFormat format, long recordTimestamp) throws BadInputException {
        boolean avroHeader = bytes.length >= 2 && (bytes[0] & 0xff) == 0xC3 && bytes[1] == 0x01;
        switch (format) {
            case AVRO:
                if (!avroHeader) {
                    throw new BadInputException(DeadLetterKind.UNDECODABLE, "not Avro single-object encoding (the "
                            + "record does not start with C3 01); encode PromptEvent with schemas/PromptEvent.avsc, or "
                            + "run the job with input.format=JSON to send JSON", null);
                }
                return decodeAvro(bytes);
            case JSON:
                if (avroHeader) {
                    throw new BadInputException(DeadLetterKind.UNDECODABLE, "this is Avro single-object encoding but "
                            + "the job reads JSON (input.format=JSON); send JSON, or run the job with input.format=AVRO "
                            + "or AUTO", null);
                }
                return decodeJson(bytes, recordTimestamp);
            case AUTO:
                return avroHeader ? decodeAvro(bytes) : decodeJson(bytes, recordTimestamp);
            default:
                throw new IllegalStateException(String.valueOf(format));
        }
    }

    static PromptEvent decodeAvro(byte[] bytes) throws BadInputException {
        if (bytes.length < 10) {
            throw new BadInputException(DeadLetterKind.UNDECODABLE,
                    "truncated Avro single-object header (" + bytes.length + " bytes, need 10)", null);
        }
        long fp = ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        if (fp != FINGERPRINT) {
            throw new BadInputException(DeadLetterKind.WRONG_SCHEMA, String.format(
                    "written with an Avro schema of fingerprint %016x, not PromptEvent (%016x); encode with "
                            + "schemas/PromptEvent.avsc (was this a result or another topic's record?)", fp, FINGERPRINT), null);
        }
        // First pass: strict UTF-8 and exact length, over a generic reader (the generated one may decode strings
        // through custom coders that replace bad bytes).
        try {
            BinaryDecoder in = DecoderFactory.get().binaryDecoder(bytes, 10, bytes.length - 10, null);
            new StrictUtf8Reader(SCHEMA).read(null, in);
            if (!in.isEnd()) {
                throw new BadInputException(DeadLetterKind.UNDECODABLE,
                        "bytes left over after the PromptEvent body; the record is corrupt or not a PromptEvent", null);
            }
        } catch (InvalidUtf8 e) {
            throw new BadInputException(DeadLetterKind.INVALID_UTF8, e.getMessage(), null);
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(DeadLetterKind.UNDECODABLE,
                    "corrupt Avro body (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", null);
        }
        try {
            return PromptEvent.getDecoder().decode(bytes);
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(DeadLetterKind.UNDECODABLE,
                    "corrupt Avro body (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", null);
        }
    }

    static PromptEvent decodeJson(byte[] bytes, long recordTimestamp) throws BadInputException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(DeadLetterKind.INVALID_UTF8, "the JSON record is not valid UTF-8", null);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadInputException(DeadLetterKind.UNDECODABLE,
                    "not JSON: " + e.getOriginalMessage() + "; send one PromptEvent object per record", null);
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(DeadLetterKind.UNDECODABLE, "not a JSON object; send one PromptEvent object per record", null);
        }
        String id = root.hasNonNull("id") && root.get("id").isTextual() ? root.get("id").asText() : null;
        try {
            return fromJson((ObjectNode) root, recordTimestamp);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(DeadLetterKind.WRONG_SCHEMA, e.getMessage(), id);
        }
    }

    /** Maps a JSON object to a PromptEvent; IllegalArgumentException names the field that does not fit. */
    public static PromptEvent fromJson(ObjectNode o, long defaultCreatedAt) {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) throw new IllegalArgumentException("unknown field \"" + f + "\"; PromptEvent has " + new java.util.TreeSet<>(FIELDS));
        }
        PromptEvent.Builder b = PromptEvent.newBuilder()
                .setId(requiredText(o, "id"))
                .setPrompt(requiredText(o, "prompt"))
                .setSystem(optionalText(o, "system"))
                .setModel(optionalText(o, "model"));
        JsonNode p = o.get("params");
        if (p != null && !p.isNull()) {
            if (!p.isObject()) throw new IllegalArgumentException("\"params\" must be an object");
            for (Iterator<String> it = p.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!PARAM_FIELDS.contains(f)) throw new IllegalArgumentException("unknown field \"params." + f + "\"; params has " + new java.util.TreeSet<>(PARAM_FIELDS));
            }
            b.setParams(GenerationParams.newBuilder()
                    .setMaxTokens(optionalInt(p, "maxTokens"))
                    .setMaxReasoningTokens(optionalInt(p, "maxReasoningTokens"))
                    .setTemperature(optionalFloat(p, "temperature"))
                    .setTopP(optionalFloat(p, "topP"))
                    .setSeed(optionalLong(p, "seed"))
                    .build());
        }
        Map<String, String> meta = new HashMap<>();
        JsonNode m = o.get("metadata");
        if (m != null && !m.isNull()) {
            if (!m.isObject()) throw new IllegalArgumentException("\"metadata\" must be an object of strings");
            m.fields().forEachRemaining(en -> {
                if (!en.getValue().isTextual()) throw new IllegalArgumentException("\"metadata." + en.getKey() + "\" must be a string");
                meta.put(en.getKey(), en.getValue().asText());
            });
        }
        b.setMetadata(meta);
        JsonNode c = o.get("createdAt");
        Instant createdAt;
        if (c == null || c.isNull()) {
            createdAt = Instant.ofEpochMilli(defaultCreatedAt);
        } else if (c.isIntegralNumber()) {
            createdAt = Instant.ofEpochMilli(c.asLong());
        } else if (c.isTextual()) {
            try {
                createdAt = Instant.parse(c.asText());
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("\"createdAt\" must be epoch milliseconds or an ISO-8601 instant");
            }
        } else {
            throw new IllegalArgumentException("\"createdAt\" must be epoch milliseconds or an ISO-8601 instant");
        }
        return b.setCreatedAt(createdAt).build();
    }

    private static String requiredText(JsonNode o, String f) {
        JsonNode v = o.get(f);
        if (v == null || v.isNull()) throw new IllegalArgumentException("missing required field \"" + f + "\"");
        if (!v.isTextual()) throw new IllegalArgumentException("\"" + f + "\" must be a string");
        return v.asText();
    }

    private static String optionalText(JsonNode o, String f) {
        JsonNode v = o.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new IllegalArgumentException("\"" + f + "\" must be a string");
        return v.asText();
    }

    private static Integer optionalInt(JsonNode o, String f) {
        JsonNode v = o.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new IllegalArgumentException("\"params." + f + "\" must be an integer");
        return v.asInt();
    }

    private static Long optionalLong(JsonNode o, String f) {
        JsonNode v = o.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw new IllegalArgumentException("\"params." + f + "\" must be an integer");
        return v.asLong();
    }

    private static Float optionalFloat(JsonNode o, String f) {
        JsonNode v = o.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw new IllegalArgumentException("\"params." + f + "\" must be a number");
        return v.floatValue();
    }

    /** Thrown by {@link StrictUtf8Reader}; unchecked so it passes through Avro's reader. */
    private static final class InvalidUtf8 extends RuntimeException {
        InvalidUtf8(String m) {
            super(m);
        }
    }

    /** Generic reader that refuses strings that are not valid UTF-8. */
    private static final class StrictUtf8Reader extends GenericDatumReader<Object> {
        StrictUtf8Reader(Schema s) {
            super(s, s, slowData());
        }

        /** The fast reader Avro uses by default does not call the overridden string methods. */
        private static GenericData slowData() {
            GenericData d = new GenericData();
            d.setFastReaderEnabled(false);
            return d;
        }

        @Override
        protected Object readString(Object old, Schema expected, Decoder in) throws IOException {
            return check(in.readString(null));
        }

        @Override
        protected Object readMapKey(Object old, Schema expected, Decoder in) throws IOException {
            return check(in.readString(null));
        }

        private static Utf8 check(Utf8 u) {
            try {
                CharBuffer ignored = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(u.getBytes(), 0, u.getByteLength()));
                return u;
            } catch (CharacterCodingException e) {
                throw new InvalidUtf8("a string field is not valid UTF-8 (Avro strings must be UTF-8); "
                        + "fix the producer's text encoding");
            }
        }
    }
}
