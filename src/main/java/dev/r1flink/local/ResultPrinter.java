package dev.r1flink.local;

import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.InferenceResult;

import java.io.PrintStream;

/** Human-readable results for the terminal: the reasoning indented and marked, then the answer, then the numbers. */
public final class ResultPrinter {

    private final PrintStream out;

    public ResultPrinter(PrintStream out) {
        this.out = out;
    }

    /** Generated tokens per second of one request, from submit to completion (prefill included). */
    public static double tokensPerSecond(InferenceResult r) {
        long generated = (long) r.getReasoningTokens() + r.getAnswerTokens();
        return r.getTotalMicros() <= 0 ? 0 : generated * 1e6 / r.getTotalMicros();
    }

    public void print(InferenceResult r, String progress) {
        out.printf("%s%s  [%s, %s]%n", progress == null ? "" : progress + " ", r.getId(), r.getModel(), r.getFinishReason());
        if (r.getError() != null) out.println("  error: " + r.getError());
        if (!r.getReasoning().isEmpty()) {
            out.println("  <think>");
            for (String line : r.getReasoning().strip().split("\n", -1)) out.println("  | " + line);
            out.println("  </think>");
        }
        if (!r.getAnswer().isEmpty()) {
            for (String line : r.getAnswer().strip().split("\n", -1)) out.println("  " + line);
        }
        out.printf("  tokens: prompt %d, reasoning %d, answer %d | %.1f tok/s | first token %.0f ms | total %.0f ms%s%n",
                r.getPromptTokens(), r.getReasoningTokens(), r.getAnswerTokens(), tokensPerSecond(r),
                r.getTimeToFirstTokenMicros() / 1e3, r.getTotalMicros() / 1e3,
                r.getTaskManager().isEmpty() ? "" : " | " + r.getTaskManager() + "#" + r.getSubtask());
        out.flush();
    }

    public void print(DeadLetter d) {
        out.printf("dead letter %s-%d@%d%s: %s: %s%n", d.getTopic(), d.getPartition(), d.getOffset(),
                d.getEventId() == null ? "" : " (id " + d.getEventId() + ")", d.getKind(), d.getReason());
        out.flush();
    }
}
