package dev.r1flink.job;

import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.LocalDemo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What checkpointed progress and the deltas topic cost: end-to-end generated tokens/s of three copies of the same
 * job, side by side in this process (each with its own MiniCluster and broker), with neither, with progress
 * checkpoints only, and with deltas only. Not a test: run it by hand, e.g.
 *
 * <pre>
 * mvn -q -o test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java --add-modules jdk.incubator.vector --add-opens java.base/java.util=ALL-UNNAMED \
 *   -cp target/classes:target/test-classes:$(cat /tmp/cp.txt) dev.r1flink.job.ProgressOverheadBenchmark \
 *   jobs/local-demo.yaml jobs/local-demo.prompts.jsonl 4 6 execution.checkpointing.interval=1s
 * </pre>
 *
 * Arguments as {@link JobVsEngineBenchmark}: job definition, prompt file, repeats of the prompt file per segment,
 * rounds, then option overrides. After a warm-up of each, every round runs one segment on each job, the order
 * rotating per round so the machine's drift hits all alike; each segment's prompts carry their own tag (no prefix
 * cache across segments). Prints each round's rates, where the process's CPU went in each segment (the three
 * brokers and MiniClusters share this process), and the ratios progress/base and deltas/base (median, mean).
 */
public final class ProgressOverheadBenchmark {

    public static void main(String[] args) throws Exception {
        Configuration conf = R1FlinkJob.withDefaults(JobDefinition.load(new File(args[0]),
                JobDefinition.overrides(List.of(args).subList(4, args.length))));
        conf.set(CoreOptions.DEFAULT_PARALLELISM, 1);
        conf.set(JobOptions.SLOTS_PER_TASKMANAGER, 1);
        List<PromptEvent> base = LocalDemo.prompts(Path.of(args[1]));
        int repeats = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        String[] names = {"base", "progress", "deltas"};
        Configuration[] confs = new Configuration[3];
        for (int j = 0; j < 3; j++) {
            Configuration c = new Configuration(conf);
            c.set(JobOptions.CHECKPOINT_PROGRESS, j == 1);
            c.removeConfig(JobOptions.DELTAS_TOPIC);
            if (j == 2) c.set(JobOptions.DELTAS_TOPIC, "r1.deltas");
            confs[j] = c;
        }
        List<JobVsEngineBenchmark.JobUnderTest> jobs = new ArrayList<>();
        try {
            for (int j = 0; j < 3; j++) {
                JobVsEngineBenchmark.JobUnderTest job = JobVsEngineBenchmark.JobUnderTest.start(confs[j]);
                jobs.add(job);
                job.run(JobVsEngineBenchmark.segment(base, 1, "warm-up-" + names[j]));
            }
            System.out.printf("prompts per segment %d, checkpoint interval %s, deltas every %d tokens%n",
                    base.size() * repeats, conf.get(org.apache.flink.configuration.CheckpointingOptions.CHECKPOINTING_INTERVAL),
                    conf.get(JobOptions.DELTAS_FLUSH_TOKENS));
            double[][] rate = new double[3][rounds];
            JobVsEngineBenchmark.ThreadCpu cpu = new JobVsEngineBenchmark.ThreadCpu();
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < 3; k++) {
                    int j = (r + k) % 3;
                    cpu.reset();
                    rate[j][r] = jobs.get(j).run(JobVsEngineBenchmark.segment(base, repeats, "round " + r + " " + names[j]));
                    cpu.report("round " + r + " " + names[j]);
                }
                System.out.printf(Locale.ROOT, "round %d: base %.2f, progress %.2f, deltas %.2f tok/s%n", r,
                        rate[0][r], rate[1][r], rate[2][r]);
            }
            for (int j = 1; j < 3; j++) {
                double[] ratio = new double[rounds];
                for (int r = 0; r < rounds; r++) ratio[r] = rate[j][r] / rate[0][r];
                double[] sorted = ratio.clone();
                Arrays.sort(sorted);
                double median = rounds % 2 == 1 ? sorted[rounds / 2] : (sorted[rounds / 2 - 1] + sorted[rounds / 2]) / 2;
                System.out.printf(Locale.ROOT, "%s/base: median %.3f, mean %.3f, rounds %s%n", names[j], median,
                        Arrays.stream(ratio).average().orElse(0), Arrays.toString(ratio));
            }
        } finally {
            for (JobVsEngineBenchmark.JobUnderTest j : jobs) j.close();
        }
    }
}
