package dev.r1flink.local;

import dev.r1flink.job.avro.DeltaPart;
import dev.r1flink.job.avro.ReasoningDelta;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prints reasoning traces as they grow from the deltas topic: each prompt's deltas in sequence order, each once
 * (a replay after a failover resends deltas under the same sequence numbers; those are dropped), a line prefix
 * {@code [id]} whenever the output switches to another prompt.
 */
public final class DeltaPrinter {

    private final PrintStream out;
    private final Map<String, Integer> next = new HashMap<>();
    private final Map<String, TreeMap<Integer, ReasoningDelta>> early = new HashMap<>();
    private final Map<String, DeltaPart> part = new HashMap<>();
    private String current;
    private int finished;

    public DeltaPrinter(PrintStream out) {
        this.out = out;
    }

    /** Takes one delta as read; prints it (and any it unblocks) when it is the prompt's next one. */
    public void accept(ReasoningDelta d) {
        String id = d.getId();
        int want = next.getOrDefault(id, 0);
        if (d.getSequence() < want) {
            return; // seen already
        }
        TreeMap<Integer, ReasoningDelta> waiting = early.computeIfAbsent(id, k -> new TreeMap<>());
        waiting.putIfAbsent(d.getSequence(), d);
        while (!waiting.isEmpty() && waiting.firstKey() == want) {
            print(waiting.pollFirstEntry().getValue());
            want++;
        }
        next.put(id, want);
        if (waiting.isEmpty()) early.remove(id);
        out.flush();
    }

    /** Generations whose last delta was printed. */
    public int finished() {
        return finished;
    }

    private void print(ReasoningDelta d) {
        String id = d.getId();
        DeltaPart was = part.get(id);
        if (!id.equals(current)) {
            if (current != null) out.println();
            out.print("[" + id + "] ");
            current = id;
        }
        if (was == null && d.getPart() == DeltaPart.REASONING) out.print("<think> ");
        if (was == DeltaPart.REASONING && d.getPart() == DeltaPart.ANSWER) out.print(" </think> ");
        if (was == null && d.getPart() == DeltaPart.ANSWER) out.print("(no reasoning) ");
        part.put(id, d.getPart());
        out.print(d.getText().replace("\n", "\n" + " ".repeat(id.length() + 3)));
        if (d.getLast()) {
            out.printf(" [done: %d reasoning + %d answer tokens]%n", d.getReasoningTokens(), d.getAnswerTokens());
            current = null;
            finished++;
        }
    }
}
