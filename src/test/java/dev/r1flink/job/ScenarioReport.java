package dev.r1flink.job;

import dev.r1flink.job.avro.InferenceResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Compares the committed results of a run under a fault with an undisturbed reference run of the same prompts:
 * lost (a prompt without a result), duplicated (extra results for an id), different (reasoning, answer, token
 * counts, finish reason or seed not equal to the reference). Appends one line per scenario to
 * {@code target/reliability/results.tsv}, the numbers docs/reliability.md quotes.
 */
record ScenarioReport(String scenario, String fault, int sent, int results, int lost, int duplicated, int different,
                      double recoverSeconds) {

    static ScenarioReport compare(String scenario, String fault, Set<String> sentIds, List<InferenceResult> got,
                                  Map<String, InferenceResult> reference, double recoverSeconds) {
        Map<String, Integer> counts = new HashMap<>();
        int different = 0;
        for (InferenceResult r : got) {
            counts.merge(r.getId(), 1, Integer::sum);
            InferenceResult ref = reference.get(r.getId());
            if (ref == null || !sameOutput(ref, r)) different++;
        }
        int lost = 0;
        int duplicated = 0;
        for (String id : sentIds) {
            int c = counts.getOrDefault(id, 0);
            if (c == 0) lost++;
            duplicated += Math.max(0, c - 1);
        }
        return new ScenarioReport(scenario, fault, sentIds.size(), got.size(), lost, duplicated, different, recoverSeconds);
    }

    /** Everything the model decides; timings, subtask and TaskManager legitimately differ between runs. */
    static boolean sameOutput(InferenceResult a, InferenceResult b) {
        return a.getReasoning().equals(b.getReasoning()) && a.getAnswer().equals(b.getAnswer())
                && a.getPromptTokens() == b.getPromptTokens() && a.getReasoningTokens() == b.getReasoningTokens()
                && a.getAnswerTokens() == b.getAnswerTokens() && a.getFinishReason() == b.getFinishReason()
                && a.getSeed() == b.getSeed() && Objects.equals(a.getMetadata(), b.getMetadata());
    }

    ScenarioReport record() throws IOException {
        Path dir = Path.of("target", "reliability");
        Files.createDirectories(dir);
        String line = String.join("\t", scenario, fault, String.valueOf(sent), String.valueOf(results),
                String.valueOf(lost), String.valueOf(duplicated), String.valueOf(different),
                String.format("%.1f", recoverSeconds)) + "\n";
        Files.writeString(dir.resolve("results.tsv"), line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        System.out.print("RELIABILITY " + line);
        return this;
    }
}
