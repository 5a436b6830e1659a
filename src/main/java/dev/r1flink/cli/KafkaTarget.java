package dev.r1flink.cli;

import dev.r1flink.job.JobDefinition;
import dev.r1flink.job.JobOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Where the produce/consume commands talk to: a job definition's Kafka settings, or these options. */
final class KafkaTarget {

    @Option(names = "--job", paramLabel = "FILE", description = "Take brokers and topics from this job definition.")
    Path job;

    @Option(names = {"-b", "--bootstrap-servers"}, paramLabel = "HOST:PORT", description = "Kafka brokers (default: from --job, else localhost:9092).")
    String bootstrapServers;

    @Option(names = {"-X", "--kafka-property"}, paramLabel = "KEY=VALUE", description = "A Kafka client property, "
            + "e.g. -X security.protocol=SASL_SSL (added to the job definition's kafka.properties; wins over them).")
    Map<String, String> properties = new java.util.LinkedHashMap<>();

    Configuration configuration() throws IOException {
        Configuration c = job == null ? new Configuration() : JobDefinition.load(job.toFile(), Map.of());
        if (bootstrapServers != null) c.set(JobOptions.BOOTSTRAP_SERVERS, bootstrapServers);
        return c;
    }

    /** Client properties (SASL/SSL and the like): the job definition's {@code kafka.properties}, then {@code -X}. */
    Map<String, String> clientProperties(Configuration c) {
        Map<String, String> all = new java.util.LinkedHashMap<>(c.getOptional(JobOptions.KAFKA_PROPERTIES).orElse(Map.of()));
        all.putAll(properties);
        return all;
    }

    static String topic(Configuration c, String explicit, ConfigOption<String> option) {
        return explicit != null ? explicit : c.get(option);
    }
}
