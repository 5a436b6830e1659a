package dev.r1flink.job;

import dev.r1flink.engine.Engine;
import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.engine.GenerationResult;
import dev.r1flink.engine.StreamListener;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.local.KafkaClients;
import dev.r1flink.local.LocalDemo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * End-to-end generated tokens/s of the job vs the bare engine, same prompts, same model, same engine threads and
 * the same number of requests in flight (async.capacity). Not a test: run it by hand, e.g.
 *
 * <pre>
 * mvn -q -o test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java --add-modules jdk.incubator.vector --add-opens java.base/java.util=ALL-UNNAMED \
 *   -cp target/classes:target/test-classes:$(cat /tmp/cp.txt) dev.r1flink.job.JobVsEngineBenchmark \
 *   jobs/local-demo.yaml jobs/local-demo.prompts.jsonl 4 [key=value ...]
 * </pre>
 *
 * The bare engine runs once to warm the JIT, then before and after the job (their mean is the baseline); the job
 * likewise serves one untimed round of requests (other prompt text, so no prefix is cached) before the timed one.
 * Arguments: job definition, prompt file (JSONL), repeats of the prompt file, then option overrides (e.g.
 * {@code model.path=...}). Prints both rates and their ratio. The job run uses parallelism 1 and starts the clock
 * when the prompts are published to the already running job, stopping it when the last result is read committed
 * (so one checkpoint interval of commit latency is included: use a run of minutes, not seconds).
 */
public final class JobVsEngineBenchmark {

    public static void main(String[] args) throws Exception {
        Configuration conf = R1FlinkJob.withDefaults(JobDefinition.load(new File(args[0]),
                JobDefinition.overrides(List.of(args).subList(3, args.length))));
        conf.set(CoreOptions.DEFAULT_PARALLELISM, 1);
        conf.set(JobOptions.SLOTS_PER_TASKMANAGER, 1);
        List<PromptEvent> base = LocalDemo.prompts(Path.of(args[1]));
        int repeats = Integer.parseInt(args[2]);
        List<PromptEvent> prompts = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
            for (PromptEvent e : base) {
                PromptEvent c = PromptEvent.newBuilder(e).setId(e.getId() + "-" + r).build();
                prompts.add(c);
            }
        }
        JobSettings s = JobSettings.from(conf);
        // Warm the JIT first, then bracket the job run with two bare runs (the machine's load drifts).
        ThreadCpu cpu = new ThreadCpu();
        bare(s, prompts.subList(0, Math.min(prompts.size(), s.asyncCapacity)), cpu, "bare engine (warm-up)");
        double bare1 = bare(s, prompts, cpu, "bare engine (1)");
        double job = job(conf, prompts, s.asyncCapacity, cpu);
        double bare2 = bare(s, prompts, cpu, "bare engine (2)");
        double bare = (bare1 + bare2) / 2;
        System.out.printf("prompts %d, engine threads %d, in flight %d%n", prompts.size(), s.threadsPerEngine(), s.asyncCapacity);
        System.out.printf("bare engine: %.2f tok/s (runs %.2f, %.2f)%njob:         %.2f tok/s%nratio:       %.3f%n",
                bare, bare1, bare2, job, job / bare);
    }

    static double bare(JobSettings s, List<PromptEvent> prompts, ThreadCpu cpu, String phase) throws Exception {
        EngineFactory f = s.newEngineFactory();
        try (ModelRegistry.Lease lease = ModelRegistry.acquire(f, s.modelPath, s.engineOptions);
             Engine engine = f.start(lease.model(), s.engineOptions, s.threadsPerEngine())) {
            Semaphore inFlight = new Semaphore(s.asyncCapacity);
            List<java.util.concurrent.CompletableFuture<GenerationResult>> all = new ArrayList<>();
            cpu.reset();
            long t0 = System.nanoTime();
            for (PromptEvent e : prompts) {
                GenerationRequest req = Requests.toRequest(e, s);
                inFlight.acquire();
                var g = engine.submit(req, StreamListener.NONE);
                g.result().whenComplete((r, t) -> inFlight.release());
                all.add(g.result());
            }
            long tokens = 0;
            for (var r : all) tokens += r.join().generatedTokens();
            double rate = tokens / ((System.nanoTime() - t0) / 1e9);
            cpu.report(phase); // before close: the engine's threads end with it
            if (engine instanceof dev.r1flink.engine.BatchingEngine be) {
                System.out.println("bare engine: " + InferenceFunction.describe(be.stats()));
            }
            return rate;
        }
    }

    static double job(Configuration base, List<PromptEvent> prompts, int capacity, ThreadCpu cpu) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Configuration c = new Configuration(base);
            c.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            c.set(JobOptions.STARTING_OFFSETS, "earliest");
            kafka.createTopics(1, c.get(JobOptions.PROMPTS_TOPIC), c.get(JobOptions.RESULTS_TOPIC),
                    c.get(JobOptions.DEAD_LETTER_TOPIC));
            JobClient job = R1FlinkJob.start(StreamExecutionEnvironment.createLocalEnvironment(c), c);
            try (KafkaConsumer<byte[], byte[]> reader = KafkaClients.committedReader(kafka.bootstrapServers(), "bench",
                    true, Map.of())) {
                reader.subscribe(List.of(c.get(JobOptions.RESULTS_TOPIC)));
                reader.poll(Duration.ofMillis(500));
                // wait until the job's tasks run (the engine loaded), so only serving is timed
                while (job.getJobStatus().get() != org.apache.flink.api.common.JobStatus.RUNNING) Thread.sleep(100);
                // Warm the job's own paths (source, operator hand-offs, sinks, commits) as the bare engine's JIT
                // warm-up run does for the engine: one round of requests in flight, untimed.
                List<PromptEvent> warm = new ArrayList<>();
                for (PromptEvent e : prompts.subList(0, Math.min(prompts.size(), capacity))) {
                    // other text, so the prefix cache holds nothing the timed prompts can reuse
                    warm.add(PromptEvent.newBuilder(e).setId(e.getId() + "-warm")
                            .setPrompt("(warm-up) " + e.getPrompt()).build());
                }
                publishAndRead(kafka, c, reader, warm);
                cpu.reset();
                long t0 = System.nanoTime();
                long tokens = publishAndRead(kafka, c, reader, prompts);
                double rate = tokens / ((System.nanoTime() - t0) / 1e9);
                cpu.report("job (timed part)");
                return rate;
            } finally {
                job.cancel().get();
            }
        }
    }

    /** Publishes {@code prompts} and reads results until one per prompt arrived; returns their generated tokens. */
    private static long publishAndRead(EmbeddedKafka kafka, Configuration c, KafkaConsumer<byte[], byte[]> reader,
                                       List<PromptEvent> prompts) throws Exception {
        try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(kafka.bootstrapServers(), Map.of())) {
            for (PromptEvent e : prompts) {
                e.setCreatedAt(Instant.now());
                p.send(new ProducerRecord<>(c.get(JobOptions.PROMPTS_TOPIC),
                        e.getId().getBytes(StandardCharsets.UTF_8), PromptCodec.encode(e)));
            }
        }
        long tokens = 0;
        int n = 0;
        while (n < prompts.size()) {
            for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(100))) {
                InferenceResult res = InferenceResult.getDecoder().decode(r.value());
                tokens += res.getReasoningTokens() + res.getAnswerTokens();
                n++;
            }
        }
        return tokens;
    }

    /**
     * CPU time of this process's threads (JIT and GC threads included) from {@code /proc/self/task}, so a run
     * shows where the cores went besides the engine. Linux only; prints nothing elsewhere.
     */
    static final class ThreadCpu {
        private Map<String, Long> last = snapshot();
        private long lastNanos = System.nanoTime();

        void reset() {
            last = snapshot();
            lastNanos = System.nanoTime();
        }

        void report(String phase) {
            Map<String, Long> now = snapshot();
            double wall = (System.nanoTime() - lastNanos) / 1e9;
            Map<String, Long> byName = new java.util.TreeMap<>();
            long total = 0;
            for (Map.Entry<String, Long> e : now.entrySet()) {
                long d = e.getValue() - last.getOrDefault(e.getKey(), 0L);
                if (d <= 0) continue;
                total += d;
                String name = e.getKey().substring(e.getKey().indexOf(' ') + 1).replaceAll("[0-9]+", "#");
                byName.merge(name, d, Long::sum);
            }
            double hz = 100.0; // USER_HZ
            StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT,
                    "cpu %s: %.1f s wall, %.1f s cpu (%.2f cores):", phase, wall, total / hz, total / hz / wall));
            List<Map.Entry<String, Long>> top = new ArrayList<>(byName.entrySet());
            top.sort(Map.Entry.<String, Long>comparingByValue().reversed());
            for (Map.Entry<String, Long> e : top.subList(0, Math.min(12, top.size()))) {
                b.append(String.format(java.util.Locale.ROOT, " %s %.1f%%;", e.getKey(), 100.0 * e.getValue() / total));
            }
            System.out.println(b);
            last = now;
            lastNanos = System.nanoTime();
        }

        /** "tid name" -> utime + stime in clock ticks. */
        private static Map<String, Long> snapshot() {
            Map<String, Long> m = new java.util.HashMap<>();
            File[] tasks = new File("/proc/self/task").listFiles();
            if (tasks == null) return m;
            for (File t : tasks) {
                try {
                    String stat = java.nio.file.Files.readString(t.toPath().resolve("stat"));
                    int open = stat.indexOf('('), close = stat.lastIndexOf(')');
                    String[] f = stat.substring(close + 2).split(" ");
                    m.put(t.getName() + " " + stat.substring(open + 1, close), Long.parseLong(f[11]) + Long.parseLong(f[12]));
                } catch (java.io.IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
            return m;
        }
    }
}
