package dev.r1flink.cli;

import dev.r1flink.job.DeltaStream;
import dev.r1flink.job.JobOptions;
import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.local.DeltaPrinter;
import dev.r1flink.local.KafkaClients;
import dev.r1flink.local.ResultPrinter;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;

/** {@code ./r1-flink consume}: pretty-prints committed results (and dead letters with --dead-letters). */
@Command(name = "consume", mixinStandardHelpOptions = true,
        description = {"Prints the job's results as they are committed (isolation.level=read_committed): reasoning, "
                + "answer, token counts and speed; with --deltas, the reasoning of each prompt as it grows. Without "
                + "--follow it stops once nothing new arrived for --idle seconds."})
public final class ConsumeCommand implements Callable<Integer> {

    @Mixin
    KafkaTarget target = new KafkaTarget();

    @Option(names = {"-t", "--topic"}, description = "Results topic (default: kafka.results-topic, r1.results).")
    String topic;

    @Option(names = "--dead-letters", description = "Also print the dead-letter topic.")
    boolean deadLetters;

    @Option(names = "--deltas", description = "Print reasoning traces as they grow, from the deltas topic "
            + "(kafka.deltas-topic of --job, or -t), instead of the results; deltas resent by a replay are dropped.")
    boolean deltas;

    @Option(names = {"-f", "--follow"}, description = "Keep waiting for new results until interrupted.")
    boolean follow;

    @Option(names = "--from-now", description = "Only results committed from now on (default: from the beginning).")
    boolean fromNow;

    @Option(names = {"-g", "--group"}, description = "Consumer group (default: a fresh one, so every run sees everything).")
    String group;

    @Option(names = {"-n", "--max"}, description = "Stop after this many results.")
    Integer max;

    @Option(names = "--idle", defaultValue = "5", description = "Seconds without records before stopping (without --follow; default ${DEFAULT-VALUE}).")
    int idleSeconds;

    PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        Configuration c = target.configuration();
        if (deltas) {
            return consumeDeltas(c);
        }
        String results = KafkaTarget.topic(c, topic, JobOptions.RESULTS_TOPIC);
        String dead = c.get(JobOptions.DEAD_LETTER_TOPIC);
        List<String> topics = new ArrayList<>(List.of(results));
        if (deadLetters) topics.add(dead);
        ResultPrinter printer = new ResultPrinter(out);
        int n = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.committedReader(c.get(JobOptions.BOOTSTRAP_SERVERS),
                group != null ? group : "r1-consume-" + UUID.randomUUID(), !fromNow, target.clientProperties(c))) {
            consumer.subscribe(topics);
            long lastSeen = System.nanoTime();
            while (max == null || n < max) {
                var records = consumer.poll(Duration.ofMillis(250));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    if (r.topic().equals(dead) && deadLetters && !dead.equals(results)) {
                        printer.print(DeadLetter.getDecoder().decode(r.value()));
                    } else {
                        printer.print(InferenceResult.getDecoder().decode(r.value()), null);
                        out.println();
                        n++;
                        if (max != null && n >= max) break;
                    }
                }
                if (!records.isEmpty()) lastSeen = System.nanoTime();
                else if (!follow && System.nanoTime() - lastSeen > idleSeconds * 1_000_000_000L) break;
            }
        }
        return 0;
    }

    private int consumeDeltas(Configuration c) throws Exception {
        String t = topic != null ? topic : c.getOptional(JobOptions.DELTAS_TOPIC).orElse(null);
        if (t == null) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "no deltas topic: the job file sets none (kafka.deltas-topic); name it with -t");
        }
        DeltaPrinter printer = new DeltaPrinter(out);
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.committedReader(c.get(JobOptions.BOOTSTRAP_SERVERS),
                group != null ? group : "r1-consume-" + UUID.randomUUID(), !fromNow, target.clientProperties(c))) {
            consumer.subscribe(List.of(t));
            long lastSeen = System.nanoTime();
            while (max == null || printer.finished() < max) {
                var records = consumer.poll(Duration.ofMillis(100));
                for (ConsumerRecord<byte[], byte[]> r : records) printer.accept(DeltaStream.decode(r.value()));
                if (!records.isEmpty()) lastSeen = System.nanoTime();
                else if (!follow && System.nanoTime() - lastSeen > idleSeconds * 1_000_000_000L) break;
            }
        }
        out.println();
        return 0;
    }
}
