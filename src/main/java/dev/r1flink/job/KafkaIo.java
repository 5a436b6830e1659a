package dev.r1flink.job;

import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.InferenceResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

import java.util.Properties;

/** The production source and sinks, from {@link JobOptions}. */
public final class KafkaIo {

    private KafkaIo() {
    }

    public static KafkaSource<RawRecord> source(Configuration c) {
        OffsetsInitializer start;
        switch (c.get(JobOptions.STARTING_OFFSETS)) {
            case EARLIEST: start = OffsetsInitializer.earliest(); break;
            case LATEST: start = OffsetsInitializer.latest(); break;
            default: start = OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST); break;
        }
        KafkaSourceBuilder<RawRecord> b = KafkaSource.<RawRecord>builder()
                .setProperties(clientProperties(c))
                .setBootstrapServers(c.get(JobOptions.BOOTSTRAP_SERVERS))
                .setTopics(c.get(JobOptions.PROMPTS_TOPIC))
                .setGroupId(c.get(JobOptions.GROUP_ID))
                .setStartingOffsets(start)
                .setDeserializer(new RawRecordDeserializer())
                // only prompts whose producer transaction committed
                .setProperty("isolation.level", "read_committed");
        if (c.get(JobOptions.BOUNDED)) b.setBounded(OffsetsInitializer.latest());
        return b.build();
    }

    /** {@link JobOptions#KAFKA_PROPERTIES}, set first so the builders' own settings override them. */
    static Properties clientProperties(Configuration c) {
        Properties p = new Properties();
        p.putAll(c.get(JobOptions.KAFKA_PROPERTIES));
        return p;
    }

    /** Results, in Kafka transactions committed with Flink's checkpoints: each result exactly once. */
    public static KafkaSink<InferenceResult> resultsSink(Configuration c) {
        return KafkaSink.<InferenceResult>builder()
                .setKafkaProducerConfig(clientProperties(c))
                .setBootstrapServers(c.get(JobOptions.BOOTSTRAP_SERVERS))
                .setRecordSerializer(new AvroKafkaSerializer<>(c.get(JobOptions.RESULTS_TOPIC),
                        InferenceResult.class, InferenceResult::getId))
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(c.get(JobOptions.TRANSACTIONAL_ID_PREFIX) + "-results")
                .setProperty("transaction.timeout.ms",
                        String.valueOf(c.get(JobOptions.TRANSACTION_TIMEOUT).toMillis()))
                .build();
    }

    /** Dead letters, transactional too, so a replay after a failure does not duplicate them. */
    public static KafkaSink<DeadLetter> deadLetterSink(Configuration c) {
        return KafkaSink.<DeadLetter>builder()
                .setKafkaProducerConfig(clientProperties(c))
                .setBootstrapServers(c.get(JobOptions.BOOTSTRAP_SERVERS))
                .setRecordSerializer(new AvroKafkaSerializer<>(c.get(JobOptions.DEAD_LETTER_TOPIC),
                        DeadLetter.class, DeadLetter::getEventId))
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(c.get(JobOptions.TRANSACTIONAL_ID_PREFIX) + "-dead-letters")
                .setProperty("transaction.timeout.ms",
                        String.valueOf(c.get(JobOptions.TRANSACTION_TIMEOUT).toMillis()))
                .build();
    }
}
