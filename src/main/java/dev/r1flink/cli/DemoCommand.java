package dev.r1flink.cli;

import dev.r1flink.job.JobDefinition;
import dev.r1flink.job.JobOptions;
import dev.r1flink.job.R1FlinkJob;
import dev.r1flink.local.LocalDemo;
import dev.r1flink.model.BundledModels;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ./r1-flink demo}: broker + Flink + job in this process, sample prompts in, results printed. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs everything in one process: Kafka's broker (KRaft, 127.0.0.1 only), a local Flink "
                + "cluster and the R1 job; publishes the sample prompts, prints each result (reasoning, answer, "
                + "tokens/s) as it is committed, and exits when all are done."})
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--job", paramLabel = "FILE", description = "Job definition (default: jobs/local-demo.yaml); its "
            + "topics and settings also serve --sql.")
    Path job;

    @Option(names = "--sql", description = "Run the SQL job (jobs/local-demo.sql: Kafka -> ML_PREDICT with the r1 "
            + "model -> Kafka) instead of the DataStream job, on the same broker and local cluster.")
    boolean sql;

    @Option(names = "--sql-file", paramLabel = "FILE", description = "SQL file for --sql (default: jobs/local-demo.sql).")
    Path sqlFile;

    @Option(names = "--model", paramLabel = "GGUF", description = "Model: a GGUF file (a real R1 model) or bundled:NAME; overrides model.path "
            + "(default: the bundled tiny-r1-arith, a small model trained by the project that only does arithmetic).")
    String model;

    @Option(names = "--prompts", paramLabel = "JSONL", description = "Prompt events, one JSON object a line "
            + "(default: jobs/local-demo.prompts.jsonl).")
    Path prompts;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", description = "Overrides a job option, e.g. -D parallelism.default=2.")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--stream", description = "Show each reasoning trace live as it grows (the job writes the "
            + "deltas topic, kafka.deltas-topic, default r1.deltas), then one line per committed result.")
    boolean stream;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "1800", description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    static Path home() {
        return Path.of(System.getProperty("r1.home", ".")).toAbsolutePath().normalize();
    }

    @Override
    public Integer call() throws Exception {
        Path home = home();
        Path jobFile = job != null ? job : home.resolve("jobs/local-demo.yaml");
        Map<String, String> o = JobDefinition.overrides(overrides);
        if (model != null) o.put(JobOptions.MODEL_PATH.key(), model);
        Configuration conf = R1FlinkJob.withDefaults(JobDefinition.load(jobFile.toFile(), o));
        conf.getOptional(JobOptions.MODEL_PATH).ifPresent(p -> {
            Path mp = Path.of(p);
            if (!mp.isAbsolute() && !p.contains(":")) conf.set(JobOptions.MODEL_PATH, home.resolve(mp).toString());
        });
        String about = BundledModels.about(conf.getOptional(JobOptions.MODEL_PATH).orElse(null));
        if (about != null) System.out.println(about);
        Path promptFile = prompts != null ? prompts : home.resolve("jobs/local-demo.prompts.jsonl");
        LocalDemo demo = new LocalDemo(conf, LocalDemo.prompts(promptFile), System.out).streaming(stream);
        if (sql || sqlFile != null) {
            Map<String, String> vars = new java.util.HashMap<>();
            conf.getOptional(JobOptions.MODEL_PATH).ifPresent(p -> vars.put("model-path", p));
            conf.getOptional(JobOptions.MODEL_NAME).ifPresent(n -> vars.put("model-name", n));
            demo.runSql(sqlFile != null ? sqlFile : home.resolve("jobs/local-demo.sql"), vars,
                    Duration.ofSeconds(timeoutSeconds));
        } else {
            demo.run(Duration.ofSeconds(timeoutSeconds));
        }
        return 0;
    }
}
