package dev.r1flink.job;

import dev.r1flink.job.avro.DeadLetterKind;
import dev.r1flink.job.avro.GenerationParams;
import dev.r1flink.job.avro.PromptEvent;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Reliability scenario 5 (hostile events), at the level of the decode/validate step: 12,000+ generated records
 * (random bytes, truncated and bit-flipped Avro, wrong fingerprints, lying length prefixes, 10 MB prompts,
 * invalid UTF-8, NaN / infinite / negative parameters, huge and deeply nested metadata, duplicate ids). Each one
 * must end as a {@link ValidPrompt} or a {@link BadInputException} with a kind and a reason; anything else thrown
 * would fail the task and restart the job. Where the fault determines the outcome, the test checks the kind too.
 */
class HostileInputFuzzTest {

    static ModelRegistry.Lease lease;
    static JobSettings avroSettings;
    static JobSettings autoSettings;

    @BeforeAll
    static void load() throws Exception {
        Configuration c = new Configuration();
        c.set(JobOptions.MODEL_PATH, "/models/tiny-r1.gguf");
        c.set(JobOptions.ENGINE_FACTORY, ScriptedEngineFactory.class.getName());
        c.set(JobOptions.ENGINE_OPTIONS, Map.of("scripted.context", "4096"));
        c.set(JobOptions.MAX_TOKENS, 48);
        c.set(JobOptions.MAX_TOKENS_LIMIT, 1000);
        avroSettings = JobSettings.from(c);
        c.set(JobOptions.INPUT_FORMAT, InputFormat.AUTO);
        autoSettings = JobSettings.from(c);
        lease = ModelRegistry.acquire(new ScriptedEngineFactory(), avroSettings.modelPath, avroSettings.engineOptions);
    }

    @AfterAll
    static void release() {
        if (lease != null) lease.close();
    }

    /** What one record ended as. */
    record Outcome(ValidPrompt valid, BadInputException dead) {
    }

    static Outcome run(byte[] value, JobSettings s) {
        RawRecord r = new RawRecord("prompts", 0, 0, 1_700_000_000_000L, value);
        try {
            return new Outcome(ValidatePrompts.validate(r, s, lease.model()), null);
        } catch (BadInputException e) {
            assertNotNull(e.kind(), "every dead letter has a kind");
            assertNotNull(e.getMessage());
            assertFalse(e.getMessage().isBlank(), "every dead letter has a reason");
            return new Outcome(null, e);
        } catch (Throwable t) {
            throw new AssertionError("validate threw " + t + " for a " + value.length + "-byte record starting "
                    + hex(value, 24) + "; that would restart the job", t);
        }
    }

    static PromptEvent event(String id, String prompt) {
        return PromptEvent.newBuilder().setId(id).setPrompt(prompt).setSystem(null).setModel(null).setParams(null)
                .setMetadata(Map.of()).setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L)).build();
    }

    static GenerationParams params(Integer maxTokens, Integer maxReasoning, Float temperature, Float topP, Long seed) {
        return GenerationParams.newBuilder().setMaxTokens(maxTokens).setMaxReasoningTokens(maxReasoning)
                .setTemperature(temperature).setTopP(topP).setSeed(seed).build();
    }

    static String randomText(Random rnd, int words) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < words; i++) b.append(i == 0 ? "" : " ").append("w").append(rnd.nextInt(1000));
        return b.toString();
    }

    @Test
    void twelveThousandHostileRecordsEachEndAsAResultOrADeadLetter() {
        Random rnd = new Random(20261128L);
        Map<String, int[]> byCategory = new HashMap<>(); // category -> {valid, dead}
        EnumMap<DeadLetterKind, Integer> kinds = new EnumMap<>(DeadLetterKind.class);
        int total = 0;
        List<byte[]> goodAvro = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            PromptEvent e = event("good-" + i, randomText(rnd, 1 + rnd.nextInt(20)));
            e.setMetadata(Map.of("k" + i, "v" + i));
            goodAvro.add(PromptCodec.encode(e));
        }
        for (int i = 0; i < 12_000; i++) {
            int kind = i % 12;
            String category;
            byte[] v;
            JobSettings s = avroSettings;
            DeadLetterKind expected = null;
            boolean expectValid = false;
            switch (kind) {
                case 0 -> { // random bytes, any length up to 300
                    category = "random-bytes";
                    v = new byte[rnd.nextInt(300)];
                    rnd.nextBytes(v);
                    s = rnd.nextBoolean() ? avroSettings : autoSettings;
                }
                case 1 -> { // correct header, random body
                    category = "header+random-body";
                    byte[] body = new byte[rnd.nextInt(200)];
                    rnd.nextBytes(body);
                    v = withHeader(PromptCodec.fingerprint(), body);
                }
                case 2 -> { // a valid record cut short
                    category = "truncated-avro";
                    byte[] g = goodAvro.get(rnd.nextInt(goodAvro.size()));
                    v = Arrays.copyOf(g, rnd.nextInt(g.length));
                    expected = DeadLetterKind.UNDECODABLE;
                }
                case 3 -> { // a valid record with 1-4 bits flipped
                    category = "bit-flipped-avro";
                    v = goodAvro.get(rnd.nextInt(goodAvro.size())).clone();
                    for (int f = 1 + rnd.nextInt(4); f > 0; f--) v[rnd.nextInt(v.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
                case 4 -> { // the right body under another schema's fingerprint
                    category = "wrong-fingerprint";
                    byte[] g = goodAvro.get(rnd.nextInt(goodAvro.size()));
                    long fp = rnd.nextLong();
                    if (fp == PromptCodec.fingerprint()) fp++;
                    v = withHeader(fp, Arrays.copyOfRange(g, 10, g.length));
                    expected = DeadLetterKind.WRONG_SCHEMA;
                }
                case 5 -> { // length prefixes that lie: a huge string, a huge map, a negative length
                    category = "lying-lengths";
                    v = lyingLengths(rnd);
                    expected = DeadLetterKind.UNDECODABLE;
                }
                case 6 -> { // invalid UTF-8 in id, prompt, system or a metadata key/value (Avro), or in JSON
                    category = "invalid-utf8";
                    if (rnd.nextInt(4) == 0) {
                        v = ("{\"id\": \"u" + i + "\", \"prompt\": \"caf").getBytes(StandardCharsets.UTF_8);
                        v = concat(v, new byte[]{(byte) 0xE9, (byte) 0xC3, 0x28}, "\"}".getBytes(StandardCharsets.UTF_8));
                        s = autoSettings;
                    } else {
                        v = invalidUtf8(rnd, i);
                    }
                    expected = DeadLetterKind.INVALID_UTF8;
                }
                case 7 -> { // NaN, infinite, negative, zero and over-limit parameters
                    category = "bad-parameters";
                    PromptEvent e = event("p" + i, "a fine prompt " + i);
                    e.setParams(badParams(rnd));
                    v = PromptCodec.encode(e);
                    expected = DeadLetterKind.INVALID_PARAMETERS;
                }
                case 8 -> { // metadata: many entries (Avro) or nested deeply (JSON)
                    category = "big-or-deep-metadata";
                    if (rnd.nextBoolean()) {
                        PromptEvent e = event("m" + i, "metadata heavy " + i);
                        Map<String, String> m = new HashMap<>();
                        for (int k = rnd.nextInt(5000); k >= 0; k--) m.put("key-" + k, "value-" + k);
                        e.setMetadata(m);
                        v = PromptCodec.encode(e);
                        expectValid = true;
                    } else {
                        int depth = 10 + rnd.nextInt(5000);
                        String json = "{\"id\": \"d" + i + "\", \"prompt\": \"deep\", \"metadata\": "
                                + "{\"a\": ".repeat(depth) + "\"x\"" + "}".repeat(depth) + "}";
                        v = json.getBytes(StandardCharsets.UTF_8);
                        s = autoSettings;
                        // metadata values must be strings; past Jackson's nesting limit (1000) it is not JSON at all
                        expected = depth < 990 ? DeadLetterKind.WRONG_SCHEMA : depth > 1010 ? DeadLetterKind.UNDECODABLE : null;
                    }
                }
                case 9 -> { // random edits of a JSON event
                    category = "mutated-json";
                    String json = "{\"id\": \"j" + i + "\", \"prompt\": \"" + randomText(rnd, 5)
                            + "\", \"params\": {\"temperature\": 0.5, \"maxTokens\": 20}, \"metadata\": {\"u\": \"x\"}}";
                    byte[] b = json.getBytes(StandardCharsets.UTF_8);
                    for (int f = rnd.nextInt(4); f > 0; f--) b[rnd.nextInt(b.length)] = (byte) (32 + rnd.nextInt(95));
                    v = b;
                    s = autoSettings;
                }
                case 10 -> { // duplicate ids: 20 distinct ids, each sent many times; all valid
                    category = "duplicate-ids";
                    v = PromptCodec.encode(event("dup-" + (i % 20), "same id, prompt " + (i % 7)));
                    expectValid = true;
                }
                default -> { // valid events, mixed in as a control
                    category = "valid";
                    v = goodAvro.get(rnd.nextInt(goodAvro.size()));
                    expectValid = true;
                }
            }
            Outcome o = run(v, s);
            total++;
            int[] c = byCategory.computeIfAbsent(category, k -> new int[2]);
            if (o.valid != null) {
                c[0]++;
                if (expected != null) fail(category + " record " + i + " passed validation; expected " + expected);
            } else {
                c[1]++;
                kinds.merge(o.dead.kind(), 1, Integer::sum);
                if (expectValid) fail(category + " record " + i + " was dead-lettered: " + o.dead.getMessage());
                if (expected != null) assertEquals(expected, o.dead.kind(), category + " record " + i + ": " + o.dead.getMessage());
            }
        }
        // Ten 10 MB prompts: too long for the context, dead-lettered with the token count, never an exception.
        for (int i = 0; i < 10; i++) {
            PromptEvent e = event("huge-" + i, "word ".repeat(2 * 1024 * 1024));
            Outcome o = run(i % 2 == 0 ? PromptCodec.encode(e) : ("{\"id\": \"huge-" + i + "\", \"prompt\": \""
                    + e.getPrompt() + "\"}").getBytes(StandardCharsets.UTF_8), i % 2 == 0 ? avroSettings : autoSettings);
            total++;
            assertNotNull(o.dead, "a 10 MB prompt does not fit");
            assertEquals(DeadLetterKind.PROMPT_TOO_LONG, o.dead.kind(), o.dead.getMessage());
            byCategory.computeIfAbsent("10mb-prompt", k -> new int[2])[1]++;
        }
        System.out.println("hostile-input fuzz: " + total + " records; per category {valid, dead}:");
        byCategory.forEach((k, c) -> System.out.println("  " + k + ": " + c[0] + " valid, " + c[1] + " dead"));
        System.out.println("  dead-letter kinds: " + kinds);
        assertTrue(total >= 10_000);
        assertEquals(1000, byCategory.get("duplicate-ids")[0], "every occurrence of a duplicate id is served");
        for (String c : List.of("random-bytes", "header+random-body", "truncated-avro", "bit-flipped-avro")) {
            assertTrue(byCategory.get(c)[1] > 0, c + " produced dead letters");
        }
    }

    /** A dozen bytes that claim gigabytes must be refused without allocating them (that would kill the TM). */
    @Test
    void lengthPrefixesThatLieAllocateNothingLarge() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Random rnd = new Random(7);
        for (int i = 0; i < 200; i++) {
            byte[] v = lyingLengths(rnd);
            long before = mx.getCurrentThreadAllocatedBytes();
            Outcome o = run(v, avroSettings);
            long allocated = mx.getCurrentThreadAllocatedBytes() - before;
            assertNotNull(o.dead);
            assertEquals(DeadLetterKind.UNDECODABLE, o.dead.kind(), o.dead.getMessage());
            assertTrue(allocated < 8 << 20, "a " + v.length + "-byte record made validation allocate " + allocated
                    + " bytes: " + hex(v, 32));
        }
    }

    /** Duplicate ids are not deduplicated: each occurrence is its own prompt, with the same default seed. */
    @Test
    void duplicateIdsAreServedOnceEachWithTheSameSeed() throws Exception {
        byte[] v = PromptCodec.encode(event("same", "same prompt"));
        ValidPrompt a = ValidatePrompts.validate(new RawRecord("t", 0, 1, 0, v), avroSettings, lease.model());
        ValidPrompt b = ValidatePrompts.validate(new RawRecord("t", 0, 2, 0, v), avroSettings, lease.model());
        assertEquals(Requests.toRequest(a.event, avroSettings).seed(), Requests.toRequest(b.event, avroSettings).seed());
        assertEquals(Seeds.ofEventId("same"), Requests.toRequest(a.event, avroSettings).seed());
    }

    // ---- generators ----

    static byte[] withHeader(long fingerprint, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(10 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0xC3).put((byte) 0x01).putLong(fingerprint).put(body);
        return b.array();
    }

    /** Avro zig-zag varint. */
    static byte[] varLong(long n) {
        long z = (n << 1) ^ (n >> 63);
        byte[] out = new byte[10];
        int i = 0;
        while ((z & ~0x7FL) != 0) {
            out[i++] = (byte) ((z & 0x7F) | 0x80);
            z >>>= 7;
        }
        out[i++] = (byte) z;
        return Arrays.copyOf(out, i);
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    /** Header + a body whose first string, or whose metadata map, claims far more than the record holds. */
    static byte[] lyingLengths(Random rnd) {
        long huge = switch (rnd.nextInt(4)) {
            case 0 -> Integer.MAX_VALUE - 16;
            case 1 -> 1L << 30;
            case 2 -> 100_000_000L + rnd.nextInt(1000);
            default -> -(1L + rnd.nextInt(1000));
        };
        byte[] body;
        if (rnd.nextBoolean()) {
            body = concat(varLong(huge), "abc".getBytes(StandardCharsets.US_ASCII)); // id claims `huge` bytes
        } else {
            // id "a", prompt "b", system null, model null, params null, then a map block of `huge` entries
            body = concat(varLong(1), new byte[]{'a'}, varLong(1), new byte[]{'b'}, varLong(0), varLong(0), varLong(0),
                    varLong(Math.abs(huge)), varLong(1), new byte[]{'k'}, varLong(1), new byte[]{'v'});
        }
        return withHeader(PromptCodec.fingerprint(), body);
    }

    static byte[] invalidUtf8(Random rnd, int i) {
        int where = rnd.nextInt(4);
        PromptEvent e = event(where == 0 ? "QQQQ" + i : "u" + i, "a prompt " + i);
        if (where == 1) e.setPrompt("QQQQ prompt");
        if (where == 2) e.setSystem("QQQQ system");
        if (where == 3) e.setMetadata(Map.of(rnd.nextBoolean() ? "QQQQ" : "key", rnd.nextBoolean() ? "QQQQ" : "QQQQv"));
        if (where == 3 && !e.getMetadata().containsKey("QQQQ")) e.setMetadata(Map.of("key", "QQQQ"));
        byte[] b = PromptCodec.encode(e);
        byte[] marker = "QQQQ".getBytes(StandardCharsets.US_ASCII);
        byte[][] bad = {{(byte) 0xC3, 0x28}, {(byte) 0xFF, (byte) 0xFE}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                {(byte) 0x80, 0x41}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80}};
        byte[] seq = bad[rnd.nextInt(bad.length)];
        for (int k = 0; k + 4 <= b.length; k++) {
            if (Arrays.equals(b, k, k + 4, marker, 0, 4)) {
                System.arraycopy(seq, 0, b, k, seq.length);
                return b;
            }
        }
        throw new AssertionError("marker not found");
    }

    static GenerationParams badParams(Random rnd) {
        float[] badFloats = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -1f, -0.001f, 101f};
        float[] badTopP = {Float.NaN, 0f, -0.5f, 1.5f, Float.POSITIVE_INFINITY};
        return switch (rnd.nextInt(5)) {
            case 0 -> params(null, null, badFloats[rnd.nextInt(badFloats.length)], null, null);
            case 1 -> params(null, null, null, badTopP[rnd.nextInt(badTopP.length)], null);
            case 2 -> params(-rnd.nextInt(Integer.MAX_VALUE), null, null, null, null); // <= 0
            case 3 -> params(1001 + rnd.nextInt(1_000_000), null, null, null, null); // over the job's limit
            default -> params(null, -1 - rnd.nextInt(1000), null, null, null);
        };
    }

    static String hex(byte[] b, int max) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(max, b.length); i++) s.append(String.format("%02x", b[i]));
        return s.toString();
    }
}
