package dev.r1flink;

import dev.r1flink.job.JobDefinition;
import dev.r1flink.job.JobOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.YamlParserUtils;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.kafka.common.utils.AppInfoParser;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * docker-compose.yml cannot be run here (no Docker engine), so this checks what can drift without anyone noticing:
 * image versions against the versions the build uses, the topics it creates against the job definitions, the
 * listener the jobs connect to, the mounts the jobs' paths rely on, and conf/config.yaml against the default job.
 */
class DeploymentFilesTest {

    private static final Path ROOT = Path.of("").toAbsolutePath();

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    private static Map<String, Object> compose() throws Exception {
        return YamlParserUtils.loadYamlFile(ROOT.resolve("docker-compose.yml").toFile());
    }

    /** A service with YAML merge keys ({@code <<: *anchor}) resolved, as Compose does. */
    private static Map<String, Object> service(Map<String, Object> compose, String name) {
        Map<String, Object> s = new java.util.LinkedHashMap<>(map(map(compose.get("services")).get(name)));
        Object merge = s.remove("<<");
        if (merge != null) {
            Map<String, Object> merged = new java.util.LinkedHashMap<>(map(merge));
            merged.putAll(s);
            return merged;
        }
        return s;
    }

    private static String env(Map<String, Object> service, String key) {
        return String.valueOf(map(service.get("environment")).get(key));
    }

    /** The job definition the one-shot submitter runs by default ({@code ${R1_JOB:-...}}). */
    private static Path defaultJob(Map<String, Object> compose) {
        String args = String.valueOf(service(compose, "submitter").get("command"));
        Matcher m = Pattern.compile("\\$\\{R1_JOB:-([^}]+)}").matcher(args);
        assertTrue(m.find(), "submitter names its job as ${R1_JOB:-default}: " + args);
        return ROOT.resolve("jobs").resolve(m.group(1) + ".yaml");
    }

    @Test
    void imagesMatchTheVersionsTheBuildUses() throws Exception {
        Map<String, Object> c = compose();
        String flink = EnvironmentInformation.getVersion();
        String kafka = AppInfoParser.getVersion();
        for (String name : List.of("jobmanager", "taskmanager", "submitter")) {
            Map<String, Object> s = service(c, name);
            assertEquals("flink:" + flink + "-java17", s.get("image"), name);
            assertEquals("flink-metrics-prometheus-" + flink + ".jar", env(s, "ENABLE_BUILT_IN_PLUGINS"), name);
        }
        assertEquals("apache/kafka:" + kafka, service(c, "kafka").get("image"));
        assertEquals("apache/kafka:" + kafka, service(c, "topics").get("image"));
    }

    @Test
    void theTopicsCreatedAreTheOnesEveryClusterJobUses() throws Exception {
        Map<String, Object> c = compose();
        String script = String.valueOf(service(c, "topics").get("command"));
        Matcher m = Pattern.compile("for t in ([^;]+);").matcher(script);
        assertTrue(m.find(), script);
        Set<String> created = new TreeSet<>(List.of(m.group(1).trim().split("\\s+")));
        try (var files = Files.list(ROOT.resolve("jobs"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".yaml")).toList()) {
                Configuration job = JobDefinition.load(p.toFile(), Map.of());
                Set<String> used = new TreeSet<>(List.of(job.get(JobOptions.PROMPTS_TOPIC),
                        job.get(JobOptions.RESULTS_TOPIC), job.get(JobOptions.DEAD_LETTER_TOPIC)));
                assertEquals(created, used, p.getFileName() + " uses topics docker-compose.yml does not create");
            }
        }
    }

    @Test
    void theDefaultJobFitsTheComposeClusterAndConf() throws Exception {
        Map<String, Object> c = compose();
        Path jobFile = defaultJob(c);
        assertTrue(Files.isRegularFile(jobFile), jobFile + " (the submitter's default) exists");
        Configuration job = JobDefinition.load(jobFile.toFile(), Map.of());
        Map<String, Object> kafka = service(c, "kafka");
        assertTrue(env(kafka, "KAFKA_ADVERTISED_LISTENERS").contains("PLAINTEXT://" + job.get(JobOptions.BOOTSTRAP_SERVERS)),
                "the job connects to the broker's in-network listener");
        Duration max = Duration.ofMillis(Long.parseLong(env(kafka, "KAFKA_TRANSACTION_MAX_TIMEOUT_MS")));
        assertTrue(job.get(JobOptions.TRANSACTION_TIMEOUT).compareTo(max) <= 0,
                "kafka.transaction-timeout must not exceed the broker's transaction.max.timeout.ms");
        List<?> tmVolumes = (List<?>) service(c, "taskmanager").get("volumes");
        assertTrue(tmVolumes.stream().anyMatch(v -> String.valueOf(v).startsWith("./models:/models")));
        assertTrue(job.get(JobOptions.MODEL_PATH).startsWith("/models/"), "the model path is under the mounted /models");
        List<?> submitterVolumes = (List<?>) service(c, "submitter").get("volumes");
        assertTrue(submitterVolumes.stream().anyMatch(v -> String.valueOf(v).startsWith("./target/r1-flink-job.jar:")));
        assertTrue(Files.readString(ROOT.resolve("pom.xml")).contains("<finalName>r1-flink-job</finalName>"),
                "the build produces the jar the submitter mounts");

        Configuration conf = new Configuration();
        flatten("", YamlParserUtils.loadYamlFile(ROOT.resolve("conf/config.yaml").toFile()), conf);
        assertEquals(conf.getString("taskmanager.numberOfTaskSlots", "1"),
                String.valueOf(job.get(JobOptions.SLOTS_PER_TASKMANAGER)),
                "engine.slots-per-taskmanager of the default job = taskmanager.numberOfTaskSlots in conf/config.yaml "
                        + "(each slot's engine takes that share of the cores)");
        assertTrue(conf.getString("env.java.opts.all", "").contains("--add-modules jdk.incubator.vector"),
                "TaskManagers need the Vector API module");
    }

    private static void flatten(String prefix, Map<String, Object> m, Configuration out) {
        for (var e : m.entrySet()) {
            String k = prefix + e.getKey();
            if (e.getValue() instanceof Map<?, ?> sub) {
                flatten(k + ".", map(sub), out);
            } else {
                out.setString(k, String.valueOf(e.getValue()));
            }
        }
    }

    @Test
    void everyClusterJobSaysHowItsTaskManagersMustBeSized() throws Exception {
        // Job definitions whose slots differ from conf/config.yaml must say so in their header, or users running
        // them on the compose cluster get engines that oversubscribe the cores.
        try (var files = Files.list(ROOT.resolve("jobs"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".yaml") && !f.getFileName().toString()
                    .startsWith("local-")).toList()) {
                String text = Files.readString(p);
                assertTrue(text.contains("taskmanager.numberOfTaskSlots") && text.contains("taskmanager.memory.process.size"),
                        p.getFileName() + " states the TaskManager slots and memory it needs");
            }
        }
    }
}
