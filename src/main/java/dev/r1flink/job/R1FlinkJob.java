package dev.r1flink.job;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.File;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Entry point of the job jar ({@code flink run target/r1-flink-job.jar --job jobs/r1-1.5b.yaml -Dmodel.path=...}):
 * wires Kafka into {@link R1Pipeline}.
 *
 * <p>Arguments: {@code --job FILE} (a job definition), {@code -Dkey=value} or {@code -D key=value} overrides.
 */
public final class R1FlinkJob {

    private R1FlinkJob() {
    }

    public static void main(String[] args) throws Exception {
        Configuration conf = configuration(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        define(env, conf);
        env.execute(conf.get(JobOptions.JOB_NAME));
    }

    /** Parses the job's arguments into its configuration. */
    public static Configuration configuration(String[] args) throws Exception {
        File job = null;
        List<String> pairs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--job") && i + 1 < args.length) {
                job = new File(args[++i]);
            } else if (a.equals("-D") && i + 1 < args.length) {
                pairs.add(args[++i]);
            } else if (a.startsWith("-D")) {
                pairs.add(a.substring(2));
            } else {
                throw new IllegalArgumentException("unknown argument \"" + a + "\"; use --job FILE and -Dkey=value");
            }
        }
        return withDefaults(JobDefinition.load(job, JobDefinition.overrides(pairs)));
    }

    /**
     * Exactly-once results need checkpoints: a job that does not say how often gets one every 10 s. Checkpoints
     * are unaligned unless the job says otherwise: prompts are small and slow to serve, so the network buffers in
     * front of the inference operator hold hundreds of them, and an aligned barrier would wait behind all of them:
     * measured in docs/reliability.md, no result was committed for most of a 600-prompt run, and a failure then
     * replays all of it.
     */
    public static Configuration withDefaults(Configuration conf) {
        if (conf.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL).isEmpty()) {
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(10));
        }
        if (conf.getOptional(CheckpointingOptions.ENABLE_UNALIGNED).isEmpty()) {
            conf.set(CheckpointingOptions.ENABLE_UNALIGNED, true);
        }
        return conf;
    }

    /** Adds the Kafka-wired pipeline to {@code env}. */
    public static void define(StreamExecutionEnvironment env, Configuration conf) {
        JobSettings settings = JobSettings.from(conf);
        R1Pipeline.build(env, KafkaIo.source(conf), KafkaIo.resultsSink(conf), KafkaIo.deadLetterSink(conf),
                settings, settings.newEngineFactory());
    }

    /** Starts the job without waiting for it (local runs and tests). */
    public static JobClient start(StreamExecutionEnvironment env, Configuration conf) throws Exception {
        define(env, conf);
        return env.executeAsync(conf.get(JobOptions.JOB_NAME));
    }
}
