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

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
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
 *   jobs/local-demo.yaml jobs/local-demo.prompts.jsonl 8 4 [key=value ...]
 * </pre>
 *
 * Arguments: job definition, prompt file (JSONL), repeats of the prompt file per segment, segment pairs, then
 * option overrides (e.g. {@code model.path=...}). The job (parallelism 1, a MiniCluster and the embedded broker
 * in this process) and one bare engine over the same loaded weights stay up for the whole run; after an untimed
 * warm-up round of each, timed segments alternate bare/job, job/bare, ... so the machine's drift hits both alike.
 * Each pair's prompts carry their own tag, so neither engine finds them in its prefix cache from an earlier
 * segment. A job segment's clock starts when its prompts are published and stops when the last result is read
 * committed (it includes the source's pickup and the last checkpoint's commit). Prints each pair's rates and
 * ratio, their median and mean, and where the process's CPU went in each segment.
 */
public final class JobVsEngineBenchmark {

    public static void main(String[] args) throws Exception {
        Configuration conf = R1FlinkJob.withDefaults(JobDefinition.load(new File(args[0]),
                JobDefinition.overrides(List.of(args).subList(4, args.length))));
        conf.set(CoreOptions.DEFAULT_PARALLELISM, 1);
        conf.set(JobOptions.SLOTS_PER_TASKMANAGER, 1);
        List<PromptEvent> base = LocalDemo.prompts(Path.of(args[1]));
        int repeats = Integer.parseInt(args[2]);
        int pairs = Integer.parseInt(args[3]);
        JobSettings s = JobSettings.from(conf);
        ThreadCpu cpu = new ThreadCpu();
        EngineFactory f = s.newEngineFactory();
        try (ModelRegistry.Lease lease = ModelRegistry.acquire(f, s.modelPath, s.engineOptions);
             Engine engine = f.start(lease.model(), s.engineOptions, s.threadsPerEngine());
             JobUnderTest job = JobUnderTest.start(conf)) {
            List<PromptEvent> warm = segment(base, 1, "warm-up").subList(0, Math.min(base.size(), s.asyncCapacity));
            bare(engine, s, warm);
            job.run(warm);
            cpu.reset();
            System.out.printf("prompts per segment %d, engine threads %d, in flight %d%n", base.size() * repeats,
                    s.threadsPerEngine(), s.asyncCapacity);
            double[] ratios = new double[pairs];
            double bareSum = 0, jobSum = 0;
            for (int i = 0; i < pairs; i++) {
                List<PromptEvent> prompts = segment(base, repeats, "pair " + i);
                double bare, viaJob;
                if (i % 2 == 0) {
                    bare = bare(engine, s, prompts);
                    cpu.report("pair " + i + " bare");
                    viaJob = job.run(prompts);
                    cpu.report("pair " + i + " job ");
                } else {
                    viaJob = job.run(prompts);
                    cpu.report("pair " + i + " job ");
                    bare = bare(engine, s, prompts);
                    cpu.report("pair " + i + " bare");
                }
                ratios[i] = viaJob / bare;
                bareSum += bare;
                jobSum += viaJob;
                System.out.printf(java.util.Locale.ROOT, "pair %d: bare %.2f tok/s, job %.2f tok/s, ratio %.3f%n",
                        i, bare, viaJob, ratios[i]);
            }
            if (engine instanceof dev.r1flink.engine.BatchingEngine be) {
                System.out.println("bare engine: " + InferenceFunction.describe(be.stats()));
            }
            double[] sorted = ratios.clone();
            java.util.Arrays.sort(sorted);
            double median = pairs % 2 == 1 ? sorted[pairs / 2] : (sorted[pairs / 2 - 1] + sorted[pairs / 2]) / 2;
            System.out.printf(java.util.Locale.ROOT, "bare engine: %.2f tok/s (mean of segments)%njob:         %.2f "
                    + "tok/s%nratio:       median %.3f, mean %.3f, pairs %s%n", bareSum / pairs, jobSum / pairs, median,
                    java.util.Arrays.stream(ratios).average().orElse(0), java.util.Arrays.toString(ratios));
        }
    }

    /** {@code repeats} copies of the prompts, ids and text tagged with {@code tag}. */
    static List<PromptEvent> segment(List<PromptEvent> base, int repeats, String tag) {
        List<PromptEvent> out = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
            for (PromptEvent e : base) {
                out.add(PromptEvent.newBuilder(e).setId(e.getId() + "-" + tag.replace(' ', '-') + "-" + r)
                        .setPrompt("(" + tag + ") " + e.getPrompt()).build());
            }
        }
        return out;
    }

    /** Runs {@code prompts} through the bare engine, {@code async.capacity} in flight; generated tokens/s. */
    static double bare(Engine engine, JobSettings s, List<PromptEvent> prompts) throws Exception {
        Semaphore inFlight = new Semaphore(s.asyncCapacity);
        List<java.util.concurrent.CompletableFuture<GenerationResult>> all = new ArrayList<>();
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
        return tokens / ((System.nanoTime() - t0) / 1e9);
    }

    /** The job on a MiniCluster with its own embedded broker, read with {@code read_committed}. */
    static final class JobUnderTest implements AutoCloseable {
        private final EmbeddedKafka kafka;
        private final Configuration conf;
        private final JobClient job;
        private final KafkaConsumer<byte[], byte[]> reader;

        private JobUnderTest(EmbeddedKafka kafka, Configuration conf, JobClient job, KafkaConsumer<byte[], byte[]> reader) {
            this.kafka = kafka;
            this.conf = conf;
            this.job = job;
            this.reader = reader;
        }

        static JobUnderTest start(Configuration base) throws Exception {
            EmbeddedKafka kafka = EmbeddedKafka.start();
            Configuration c = new Configuration(base);
            c.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            c.set(JobOptions.STARTING_OFFSETS, JobOptions.StartingOffsets.EARLIEST);
            kafka.createTopics(1, c.get(JobOptions.PROMPTS_TOPIC), c.get(JobOptions.RESULTS_TOPIC),
                    c.get(JobOptions.DEAD_LETTER_TOPIC));
            c.getOptional(JobOptions.DELTAS_TOPIC).ifPresent(t -> kafka.createTopics(1, t));
            JobClient job = R1FlinkJob.start(StreamExecutionEnvironment.createLocalEnvironment(c), c);
            KafkaConsumer<byte[], byte[]> reader = KafkaClients.committedReader(kafka.bootstrapServers(), "bench",
                    true, Map.of());
            reader.subscribe(List.of(c.get(JobOptions.RESULTS_TOPIC)));
            reader.poll(Duration.ofMillis(500));
            while (job.getJobStatus().get() != org.apache.flink.api.common.JobStatus.RUNNING) Thread.sleep(100);
            return new JobUnderTest(kafka, c, job, reader);
        }

        /** Publishes {@code prompts}, reads one result per prompt; generated tokens/s from publish to last read. */
        double run(List<PromptEvent> prompts) throws Exception {
            long t0 = System.nanoTime();
            long tokens = publishAndRead(kafka, conf, reader, prompts);
            return tokens / ((System.nanoTime() - t0) / 1e9);
        }

        @Override
        public void close() throws Exception {
            try {
                reader.close();
                job.cancel().get();
            } finally {
                kafka.close();
            }
        }
    }

    /** Publishes {@code prompts} and reads results until one per prompt arrived; returns their generated tokens. */
    private static long publishAndRead(EmbeddedKafka kafka, Configuration c, KafkaConsumer<byte[], byte[]> reader,
                                       List<PromptEvent> prompts) throws Exception {
        LocalDemo.publish(kafka.bootstrapServers(), c.get(JobOptions.PROMPTS_TOPIC), prompts);
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
