package dev.r1flink.cli;

import dev.r1flink.job.PromptCodec;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.job.avro.ResultFinishReason;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.local.KafkaClients;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code produce} and {@code consume} against the real broker. */
class ProduceConsumeITCase {

    @TempDir
    Path tmp;

    @Test
    void produceWritesAvroEventsAndConsumePrintsOnlyCommittedResults() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(1, "r1.prompts", "r1.results");
            Path jsonl = tmp.resolve("p.jsonl");
            Files.writeString(jsonl, "# comment\n{\"id\": \"a\", \"prompt\": \"first\", \"params\": {\"seed\": 5}}\n\n"
                    + "just a plain line\n");
            assertEquals(0, Main.commandLine().execute("produce", "-b", kafka.bootstrapServers(), jsonl.toString()));
            List<PromptEvent> got = new ArrayList<>();
            try (KafkaConsumer<byte[], byte[]> c = KafkaClients.committedReader(kafka.bootstrapServers(), "t", true, Map.of())) {
                c.subscribe(List.of("r1.prompts"));
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (got.size() < 2 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                        got.add(PromptCodec.decode(r.value(), dev.r1flink.job.InputFormat.AVRO, 0));
                    }
                }
            }
            assertEquals(2, got.size());
            assertEquals("a", got.get(0).getId());
            assertEquals(5L, got.get(0).getParams().getSeed());
            assertEquals("line-4", got.get(1).getId());
            assertEquals("just a plain line", got.get(1).getPrompt());

            // one committed and one aborted result: consume must print only the committed one
            try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(kafka.bootstrapServers(),
                    Map.of("transactional.id", "consume-test"))) {
                p.initTransactions();
                p.beginTransaction();
                p.send(new ProducerRecord<>("r1.results", result("committed-one").toByteBuffer().array()));
                p.commitTransaction();
                p.beginTransaction();
                p.send(new ProducerRecord<>("r1.results", result("aborted-one").toByteBuffer().array()));
                p.flush();
                p.abortTransaction();
            }
            ConsumeCommand consume = new ConsumeCommand();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            consume.out = new PrintStream(buf, true, StandardCharsets.UTF_8);
            assertEquals(0, new picocli.CommandLine(consume).execute("-b", kafka.bootstrapServers(), "--idle", "2"));
            String out = buf.toString(StandardCharsets.UTF_8);
            assertTrue(out.contains("committed-one"), out);
            assertTrue(out.contains("| thinking about committed-one"), out);
            assertTrue(out.contains("the answer"), out);
            assertFalse(out.contains("aborted-one"), out);
        }
    }

    @Test
    void consumeDeltasPrintsEachTraceOnceInOrder() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(1, "t.deltas");
            // a replay resends sequences 0 and 1 (one of them in JSON), and sequence 3 arrives before 2
            List<dev.r1flink.job.avro.ReasoningDelta> ds = List.of(delta(0, true, "Two and ", false),
                    delta(1, true, "two.", false), delta(0, true, "Two and ", false), delta(1, true, "two.", false),
                    delta(3, false, "4", true), delta(2, false, "The answer: ", false));
            try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(kafka.bootstrapServers(), Map.of())) {
                int i = 0;
                for (var d : ds) {
                    var format = i++ == 2 ? dev.r1flink.job.DeltaFormat.JSON : dev.r1flink.job.DeltaFormat.AVRO;
                    p.send(new ProducerRecord<>("t.deltas", d.getId().getBytes(StandardCharsets.UTF_8),
                            dev.r1flink.job.DeltaStream.encode(d, format)));
                }
                p.flush();
            }
            ConsumeCommand consume = new ConsumeCommand();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            consume.out = new PrintStream(buf, true, StandardCharsets.UTF_8);
            assertEquals(0, new picocli.CommandLine(consume).execute("-b", kafka.bootstrapServers(), "--deltas",
                    "-t", "t.deltas", "--idle", "2"));
            String out = buf.toString(StandardCharsets.UTF_8);
            assertEquals("[q1] <think> Two and two. </think> The answer: 4 [done: 5 reasoning + 3 answer tokens]",
                    out.strip(), out);
        }
    }

    private static dev.r1flink.job.avro.ReasoningDelta delta(int seq, boolean reasoning, String text, boolean last) {
        return dev.r1flink.job.avro.ReasoningDelta.newBuilder().setId("q1").setSequence(seq)
                .setPart(reasoning ? dev.r1flink.job.avro.DeltaPart.REASONING : dev.r1flink.job.avro.DeltaPart.ANSWER)
                .setText(text).setReasoningTokens(5).setAnswerTokens(last ? 3 : 0).setLast(last).build();
    }

    @Test
    void clientPropertiesReachTheBrokerForProduceAndConsume() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.startWithScram("r1", "s3cret")) {
            kafka.createTopics(1, "r1.prompts", "r1.results");
            List<String> login = new ArrayList<>();
            kafka.clientProperties().forEach((k, v) -> {
                login.add("-X");
                login.add(k + "=" + v);
            });
            Path jsonl = tmp.resolve("p.jsonl");
            Files.writeString(jsonl, "{\"id\": \"s1\", \"prompt\": \"over SASL\"}\n");
            List<String> produce = new ArrayList<>(List.of("produce", "-b", kafka.bootstrapServers()));
            produce.addAll(login);
            produce.add(jsonl.toString());
            assertEquals(0, Main.commandLine().execute(produce.toArray(String[]::new)));
            try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(kafka.bootstrapServers(),
                    new java.util.HashMap<>(kafka.clientProperties()) {{ put("transactional.id", "sasl-test"); }})) {
                p.initTransactions();
                p.beginTransaction();
                p.send(new ProducerRecord<>("r1.results", result("over-sasl").toByteBuffer().array()));
                p.commitTransaction();
            }
            ConsumeCommand consume = new ConsumeCommand();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            consume.out = new PrintStream(buf, true, StandardCharsets.UTF_8);
            List<String> args = new ArrayList<>(List.of("-b", kafka.bootstrapServers(), "--idle", "2"));
            args.addAll(login);
            assertEquals(0, new picocli.CommandLine(consume).execute(args.toArray(String[]::new)));
            assertTrue(buf.toString(StandardCharsets.UTF_8).contains("over-sasl"), buf.toString(StandardCharsets.UTF_8));
        }
    }

    static InferenceResult result(String id) {
        return InferenceResult.newBuilder().setId(id).setModel("m").setReasoning("thinking about " + id)
                .setAnswer("the answer").setFinishReason(ResultFinishReason.STOP).setPromptTokens(3)
                .setReasoningTokens(3).setAnswerTokens(2).setQueuedMicros(10).setTimeToFirstTokenMicros(100)
                .setTotalMicros(1000).setSeed(1).setTaskManager("tm").setSubtask(0).setMetadata(Map.of()).build();
    }
}
