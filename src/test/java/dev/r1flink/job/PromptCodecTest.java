package dev.r1flink.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.r1flink.job.avro.DeadLetterKind;
import dev.r1flink.job.avro.GenerationParams;
import dev.r1flink.job.avro.PromptEvent;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptCodecTest {

    static PromptEvent event(String prompt) {
        return PromptEvent.newBuilder().setId("e1").setPrompt(prompt).setSystem("be brief").setModel(null)
                .setParams(GenerationParams.newBuilder().setMaxTokens(10).setMaxReasoningTokens(null)
                        .setTemperature(0.5f).setTopP(null).setSeed(3L).build())
                .setMetadata(Map.of("k", "v")).setCreatedAt(Instant.ofEpochMilli(1234)).build();
    }

    static DeadLetterKind kind(byte[] b, InputFormat f) {
        return assertThrows(BadInputException.class, () -> PromptCodec.decode(b, f, 0)).kind();
    }

    @Test
    void avroSingleObjectRoundTripsWithTheSpecHeader() throws Exception {
        PromptEvent e = event("héllo wörld \uD83D\uDE00");
        byte[] b = PromptCodec.encode(e);
        assertEquals((byte) 0xC3, b[0]);
        assertEquals((byte) 0x01, b[1]);
        long fp = ByteBuffer.wrap(b, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(SchemaNormalization.parsingFingerprint64(PromptEvent.getClassSchema()), fp);
        assertEquals(e, PromptCodec.decode(b, InputFormat.AVRO, 0));
        assertEquals(e, PromptCodec.decode(b, InputFormat.AUTO, 0));
    }

    @Test
    void badAvroIsClassified() {
        byte[] good = PromptCodec.encode(event("QQQQ"));
        assertEquals(DeadLetterKind.UNDECODABLE, kind("plain text".getBytes(StandardCharsets.UTF_8), InputFormat.AVRO));
        assertEquals(DeadLetterKind.UNDECODABLE, kind(Arrays.copyOf(good, 6), InputFormat.AVRO));
        assertEquals(DeadLetterKind.UNDECODABLE, kind(Arrays.copyOf(good, good.length - 3), InputFormat.AVRO));
        byte[] longer = Arrays.copyOf(good, good.length + 1);
        assertEquals(DeadLetterKind.UNDECODABLE, kind(longer, InputFormat.AVRO));
        byte[] otherSchema = good.clone();
        otherSchema[5] ^= 0x55;
        assertEquals(DeadLetterKind.WRONG_SCHEMA, kind(otherSchema, InputFormat.AVRO));
        byte[] badUtf8 = good.clone();
        int at = indexOf(badUtf8, "QQQQ".getBytes(StandardCharsets.US_ASCII));
        badUtf8[at] = (byte) 0xFF;
        assertEquals(DeadLetterKind.INVALID_UTF8, kind(badUtf8, InputFormat.AVRO));
        assertEquals(DeadLetterKind.UNDECODABLE, kind(good, InputFormat.JSON), "Avro sent to a JSON job");
    }

    @Test
    void jsonMapsToTheSameEvent() throws Exception {
        String json = "{\"id\": \"e1\", \"prompt\": \"QQQQ\", \"system\": \"be brief\", \"params\": {\"maxTokens\": 10, "
                + "\"temperature\": 0.5, \"seed\": 3}, \"metadata\": {\"k\": \"v\"}, \"createdAt\": 1234}";
        assertEquals(event("QQQQ"), PromptCodec.decode(json.getBytes(StandardCharsets.UTF_8), InputFormat.JSON, 0));
        assertEquals(event("QQQQ"), PromptCodec.decode(json.getBytes(StandardCharsets.UTF_8), InputFormat.AUTO, 0));
        PromptEvent minimal = PromptCodec.decode("{\"id\":\"a\",\"prompt\":\"b\"}".getBytes(StandardCharsets.UTF_8),
                InputFormat.JSON, 777);
        assertEquals(Instant.ofEpochMilli(777), minimal.getCreatedAt(), "record timestamp when createdAt is absent");
        assertNull(minimal.getParams());
        assertEquals(Map.of(), minimal.getMetadata());
    }

    @Test
    void badJsonIsClassified() {
        assertEquals(DeadLetterKind.UNDECODABLE, kind("{\"id\":".getBytes(StandardCharsets.UTF_8), InputFormat.JSON));
        assertEquals(DeadLetterKind.UNDECODABLE, kind("[1,2]".getBytes(StandardCharsets.UTF_8), InputFormat.JSON));
        assertEquals(DeadLetterKind.WRONG_SCHEMA, kind("{\"id\":\"a\"}".getBytes(StandardCharsets.UTF_8), InputFormat.JSON));
        assertEquals(DeadLetterKind.WRONG_SCHEMA, kind("{\"id\":\"a\",\"prompt\":1}".getBytes(StandardCharsets.UTF_8), InputFormat.JSON));
        BadInputException typo = assertThrows(BadInputException.class, () -> PromptCodec.decode(
                "{\"id\":\"a\",\"prompt\":\"b\",\"params\":{\"max_tokens\":3}}".getBytes(StandardCharsets.UTF_8), InputFormat.JSON, 0));
        assertEquals(DeadLetterKind.WRONG_SCHEMA, typo.kind());
        assertTrue(typo.getMessage().contains("params.max_tokens"), typo.getMessage());
        assertEquals("a", typo.eventId());
        assertEquals(DeadLetterKind.INVALID_UTF8, kind(new byte[]{'{', '"', (byte) 0xC3, 0x28, '"', '}'}, InputFormat.JSON));
    }

    @Test
    void fromJsonRejectsNonStringMetadata() throws Exception {
        ObjectNode o = (ObjectNode) new ObjectMapper().readTree("{\"id\":\"a\",\"prompt\":\"b\",\"metadata\":{\"n\":1}}");
        assertThrows(IllegalArgumentException.class, () -> PromptCodec.fromJson(o, 0));
    }

    static int indexOf(byte[] b, byte[] m) {
        for (int i = 0; i + m.length <= b.length; i++) if (Arrays.equals(b, i, i + m.length, m, 0, m.length)) return i;
        throw new AssertionError("not found");
    }
}
