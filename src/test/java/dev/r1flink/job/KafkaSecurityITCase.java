package dev.r1flink.job;

import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.local.EmbeddedKafka;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenario 7 (Kafka security passthrough): a broker whose only client listener is SASL_PLAINTEXT with
 * SCRAM-SHA-256 refuses clients without (or with wrong) credentials; the job, given the credentials in its job
 * definition file under {@code kafka.properties}, reads prompts and writes results and dead letters.
 */
class KafkaSecurityITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    Path tmp;

    static Admin admin(EmbeddedKafka kafka, Map<String, String> props) {
        Properties p = new Properties();
        p.putAll(props);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        return Admin.create(p);
    }

    @Test
    void theJobAuthenticatesWithTheDefinitionsPropertiesAndOthersAreRefused() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.startWithScram("r1-job", "r1-secret")) {
            // Refused: no credentials (plaintext against a SASL listener), and a wrong password.
            try (Admin none = admin(kafka, Map.of())) {
                assertThrows(ExecutionException.class, () -> none.describeCluster().nodes().get(10, TimeUnit.SECONDS));
            }
            try (Admin wrong = admin(kafka, EmbeddedKafka.scramClientProperties("r1-job", "not-the-secret"))) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> wrong.describeCluster().nodes().get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof SaslAuthenticationException, String.valueOf(e.getCause()));
            }

            KafkaJobHarness h = new KafkaJobHarness(kafka, "sasl", 2);
            List<byte[]> values = new ArrayList<>();
            for (int i = 0; i < 20; i++) values.add(PromptCodec.encode(R1JobITCase.event("s" + i, "secure prompt " + i)));
            values.add("not a prompt".getBytes(StandardCharsets.UTF_8));
            h.send(values);

            Path job = tmp.resolve("secure-job.yaml");
            Files.writeString(job, String.join("\n",
                    "kafka:",
                    "  properties:",
                    "    security.protocol: SASL_PLAINTEXT",
                    "    sasl.mechanism: SCRAM-SHA-256",
                    "    sasl.jaas.config: 'org.apache.kafka.common.security.scram.ScramLoginModule required "
                            + "username=\"r1-job\" password=\"r1-secret\";'",
                    ""));
            Configuration conf = h.jobConfig();
            conf.addAll(JobDefinition.load(job.toFile(), Map.of()));
            assertEquals(kafka.clientProperties(), conf.get(JobOptions.KAFKA_PROPERTIES), "the file's properties parse");

            JobClient client = R1FlinkJob.start(StreamExecutionEnvironment.getExecutionEnvironment(conf), conf);
            try {
                List<InferenceResult> results = h.readResults(20, Duration.ofSeconds(120));
                assertEquals(20, results.size());
                assertEquals(20, results.stream().map(InferenceResult::getId).collect(Collectors.toSet()).size());
                List<DeadLetter> dead = h.readDeadLetters(1, Duration.ofSeconds(30));
                assertEquals(1, dead.size(), "the dead-letter sink authenticated too");
                assertEquals(Set.of("not a prompt"), dead.stream()
                        .map(d -> new String(R1JobITCase.bytes(d.getRaw()), StandardCharsets.UTF_8)).collect(Collectors.toSet()));
            } finally {
                client.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }
}
