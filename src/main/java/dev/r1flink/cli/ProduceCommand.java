package dev.r1flink.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.r1flink.job.JobOptions;
import dev.r1flink.job.PromptCodec;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.KafkaClients;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ./r1-flink produce}: JSONL prompt events (file or stdin) to the prompts topic. */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = {"Publishes prompt events: one JSON object a line ({\"id\": ..., \"prompt\": ..., \"params\": "
                + "{...}, \"metadata\": {...}}), from FILE or stdin. Lines that are plain text (not starting with {) "
                + "become prompts with ids LINE-<n>. Sent as Avro single-object encoding unless --json."})
public final class ProduceCommand implements Callable<Integer> {

    @Mixin
    KafkaTarget target = new KafkaTarget();

    @Parameters(arity = "0..1", paramLabel = "FILE", description = "JSONL file; - or absent: stdin.")
    String file;

    @Option(names = {"-t", "--topic"}, description = "Topic (default: kafka.prompts-topic, r1.prompts).")
    String topic;

    @Option(names = "--json", description = "Send the JSON text as is (for jobs with input.format=JSON or AUTO).")
    boolean json;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        Configuration c = target.configuration();
        String t = KafkaTarget.topic(c, topic, JobOptions.PROMPTS_TOPIC);
        BufferedReader in = file == null || file.equals("-")
                ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8);
        int n = 0;
        int line = 0;
        try (in; KafkaProducer<byte[], byte[]> p = KafkaClients.producer(c.get(JobOptions.BOOTSTRAP_SERVERS), target.clientProperties(c))) {
            String s;
            while ((s = in.readLine()) != null) {
                line++;
                String text = s.strip();
                if (text.isEmpty() || text.startsWith("#")) continue;
                ObjectNode o;
                if (text.startsWith("{")) {
                    JsonNode node = JSON.readTree(text);
                    if (!node.isObject()) throw new IllegalArgumentException("line " + line + ": not a JSON object");
                    o = (ObjectNode) node;
                } else {
                    o = JSON.createObjectNode().put("id", "line-" + line).put("prompt", text);
                }
                PromptEvent e;
                try {
                    e = PromptCodec.fromJson(o, System.currentTimeMillis());
                } catch (IllegalArgumentException ex) {
                    throw new IllegalArgumentException("line " + line + ": " + ex.getMessage(), ex);
                }
                byte[] value = json ? JSON.writeValueAsBytes(o) : PromptCodec.encode(e);
                p.send(new ProducerRecord<>(t, e.getId().getBytes(StandardCharsets.UTF_8), value));
                n++;
            }
            p.flush();
        }
        System.err.printf("produced %d prompt events to %s%n", n, t);
        return 0;
    }
}
