package dev.r1flink.job;

import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.job.avro.DeadLetterKind;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.tokenizer.BpeTokenizer;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A prompt far over the context is refused from its byte length, before the tokenizer sees it. */
class PromptLengthCheckTest {

    static ModelRegistry.Lease lease;
    static JobSettings settings;

    @BeforeAll
    static void load() throws Exception {
        Configuration c = new Configuration();
        c.set(JobOptions.MODEL_PATH, "bundled:tiny-r1-arith");
        c.set(JobOptions.ENGINE_OPTIONS, Map.of("kv-cache-bytes", "16mb"));
        settings = JobSettings.from(c);
        lease = ModelRegistry.acquire(new ModelEngineFactory(), settings.modelPath, settings.engineOptions);
    }

    @AfterAll
    static void release() {
        if (lease != null) lease.close();
    }

    @Test
    void boundCoversEveryTokensBytes() {
        ModelEngineFactory.R1Model m = (ModelEngineFactory.R1Model) lease.model();
        BpeTokenizer t = m.tokenizer;
        int longest = 0;
        for (int id = 0; id < t.vocabulary().size(); id++) {
            longest = Math.max(longest, t.tokenBytes(id, true).length);
        }
        assertTrue(m.maxTokenBytes() >= longest, m.maxTokenBytes() + " < " + longest);
    }

    @Test
    void hugePromptIsRefusedWithoutTokenizing() {
        LoadedModel real = lease.model();
        LoadedModel noTokenizer = new LoadedModel() {
            @Override public int contextLength() { return real.contextLength(); }
            @Override public int promptTokens(GenerationRequest r) { throw new AssertionError("tokenized"); }
            @Override public int maxTokenBytes() { return real.maxTokenBytes(); }
            @Override public void close() { }
        };
        String prompt = "What is 12 + 34? ".repeat(60_000); // ~1 MB, Kafka's default message limit
        BadInputException e = assertThrows(BadInputException.class,
                () -> ValidatePrompts.validate(record(prompt), settings, noTokenizer));
        assertEquals(DeadLetterKind.PROMPT_TOO_LONG, e.kind());
        assertTrue(e.getMessage().contains("1020000 bytes, at least"), e.getMessage());
        assertTrue(real.maxTokenBytes() < 1020000 / real.contextLength(), "the bound is what refused it");
    }

    @Test
    void promptNearTheContextIsStillCountedExactly() throws Exception {
        LoadedModel m = lease.model();
        // Under the byte bound but over the context in tokens: the tokenizer decides, with the exact count.
        String prompt = "1 ".repeat(m.contextLength());
        assertTrue(ValidatePrompts.utf8Length(prompt) / m.maxTokenBytes() < m.contextLength());
        BadInputException e = assertThrows(BadInputException.class,
                () -> ValidatePrompts.validate(record(prompt), settings, m));
        assertEquals(DeadLetterKind.PROMPT_TOO_LONG, e.kind());
        assertTrue(e.getMessage().startsWith("the prompt is " + m.promptTokens(
                Requests.toRequest(decode(prompt), settings)) + " tokens"), e.getMessage());
        assertTrue(ValidatePrompts.validate(record("What is 2 + 2?"), settings, m).promptTokens > 0);
    }

    @Test
    void utf8LengthMatchesEncoding() {
        for (String s : new String[]{"", "abc", "é", "€", "😀", "a😀b€é", "\ud800x", "x\udc00"}) {
            assertEquals(s.getBytes(StandardCharsets.UTF_8).length, ValidatePrompts.utf8Length(s), s);
        }
    }

    private static PromptEvent decode(String prompt) {
        return PromptEvent.newBuilder().setId("p").setPrompt(prompt).setCreatedAt(Instant.EPOCH).build();
    }

    private static RawRecord record(String prompt) {
        return new RawRecord("prompts", 0, 0, 1_700_000_000_000L, PromptCodec.encode(decode(prompt)));
    }
}
