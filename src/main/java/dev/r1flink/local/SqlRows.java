package dev.r1flink.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.DeadLetterKind;
import dev.r1flink.job.avro.GenerationParams;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.job.avro.ResultFinishReason;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * The JSON rows of the SQL job ({@code jobs/local-demo.sql}): prompt events in, the results and dead-letter
 * tables' rows out, read back into the DataStream job's records so the demo prints both paths alike.
 */
final class SqlRows {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SqlRows() {
    }

    /** Reads what the demo's consumer gets from the results and dead-letter topics. */
    interface Decoder {
        InferenceResult result(byte[] value) throws IOException;

        DeadLetter deadLetter(byte[] value, String topic, int partition, long offset) throws IOException;
    }

    /** A prompt event as the SQL job's {@code prompts} table reads it. */
    static byte[] json(PromptEvent e) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", e.getId());
        o.put("prompt", e.getPrompt());
        if (e.getSystem() != null) o.put("system", e.getSystem());
        GenerationParams p = e.getParams();
        if (p != null) {
            ObjectNode n = o.putObject("params");
            if (p.getMaxTokens() != null) n.put("maxTokens", p.getMaxTokens());
            if (p.getMaxReasoningTokens() != null) n.put("maxReasoningTokens", p.getMaxReasoningTokens());
            if (p.getTemperature() != null) n.put("temperature", p.getTemperature());
            if (p.getTopP() != null) n.put("topP", p.getTopP());
            if (p.getSeed() != null) n.put("seed", p.getSeed());
        }
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
    }

    static Decoder decoder(String model) {
        return new Decoder() {
            @Override
            public InferenceResult result(byte[] value) throws IOException {
                JsonNode r = JSON.readTree(value);
                return InferenceResult.newBuilder()
                        .setId(r.path("id").asText())
                        .setModel(model)
                        .setReasoning(r.path("reasoning").asText(""))
                        .setAnswer(r.path("answer").asText(""))
                        .setFinishReason(ResultFinishReason.valueOf(r.path("finish_reason").asText("ERROR")))
                        .setError(r.path("error").isTextual() ? r.get("error").asText() : null)
                        .setPromptTokens(r.path("prompt_tokens").asInt())
                        .setReasoningTokens(r.path("reasoning_tokens").asInt())
                        .setAnswerTokens(r.path("answer_tokens").asInt())
                        .setQueuedMicros(0)
                        .setTimeToFirstTokenMicros(r.path("ttft_ms").asLong() * 1000)
                        .setTotalMicros(r.path("total_ms").asLong() * 1000)
                        .setSeed(r.path("seed").asLong())
                        .setTaskManager("")
                        .setSubtask(-1)
                        .build();
            }

            @Override
            public DeadLetter deadLetter(byte[] value, String topic, int partition, long offset) throws IOException {
                JsonNode r = JSON.readTree(value);
                String error = r.path("error").asText("");
                int colon = error.indexOf(": ");
                DeadLetterKind kind = DeadLetterKind.INVALID_PARAMETERS;
                if (colon > 0) {
                    try {
                        kind = DeadLetterKind.valueOf(error.substring(0, colon));
                        error = error.substring(colon + 2);
                    } catch (IllegalArgumentException notAKind) {
                        // a reason from the engine, not from validation
                    }
                }
                return DeadLetter.newBuilder()
                        .setKind(kind)
                        .setReason(error)
                        .setEventId(r.path("id").isTextual() ? r.get("id").asText() : null)
                        .setRaw(ByteBuffer.wrap(value))
                        .setTopic(topic)
                        .setPartition(partition)
                        .setOffset(offset)
                        .setTimestamp(Instant.now())
                        .build();
            }
        };
    }
}
