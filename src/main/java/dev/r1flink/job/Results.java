package dev.r1flink.job;

import dev.r1flink.engine.GenerationResult;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.job.avro.ResultFinishReason;

/**
 * The one result model of both APIs: the DataStream job writes these records to Kafka, the SQL model provider
 * projects them onto the model's output columns.
 */
public final class Results {

    private Results() {
    }

    /** Where a result was computed: its model's name, the TaskManager and the subtask. */
    public record Origin(String model, String taskManager, int subtask) {
    }

    /** What the engine generated for {@code event}. */
    public static InferenceResult of(PromptEvent event, long seed, GenerationResult r, Origin o) {
        return InferenceResult.newBuilder()
                .setId(event.getId())
                .setModel(o.model())
                .setReasoning(r.reasoning() == null ? "" : r.reasoning())
                .setAnswer(r.answer() == null ? "" : r.answer())
                .setFinishReason(ResultFinishReason.valueOf(r.finishReason().name()))
                .setError(r.error())
                .setPromptTokens(r.promptTokens())
                .setReasoningTokens(r.reasoningTokens())
                .setAnswerTokens(r.answerTokens())
                .setQueuedMicros(r.queuedNanos() / 1000)
                .setTimeToFirstTokenMicros(r.firstTokenNanos() / 1000)
                .setTotalMicros(r.totalNanos() / 1000)
                .setSeed(seed)
                .setTaskManager(o.taskManager())
                .setSubtask(o.subtask())
                .setMetadata(event.getMetadata())
                .build();
    }

    /** A result without generated text: {@code reason} (REJECTED, TIMEOUT, ERROR) and why, in {@code error}. */
    public static InferenceResult failed(PromptEvent event, int promptTokens, long seed, ResultFinishReason reason,
                                         String error, long totalMicros, Origin o) {
        return InferenceResult.newBuilder()
                .setId(event.getId())
                .setModel(o.model())
                .setReasoning("")
                .setAnswer("")
                .setFinishReason(reason)
                .setError(error)
                .setPromptTokens(promptTokens)
                .setReasoningTokens(0)
                .setAnswerTokens(0)
                .setQueuedMicros(0)
                .setTimeToFirstTokenMicros(0)
                .setTotalMicros(totalMicros)
                .setSeed(seed)
                .setTaskManager(o.taskManager())
                .setSubtask(o.subtask())
                .setMetadata(event.getMetadata())
                .build();
    }
}
