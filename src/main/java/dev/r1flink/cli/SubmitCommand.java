package dev.r1flink.cli;

import org.apache.flink.api.common.JobID;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.client.program.PackagedProgramUtils;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ./r1-flink submit}: the job jar to a running Flink cluster, over its REST API. */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = {"Builds the job graph from the job jar and a job definition (read here, on this machine) and "
                + "submits it to a Flink cluster's REST endpoint. Model paths are as the TaskManagers see them."})
public final class SubmitCommand implements Callable<Integer> {

    @Option(names = {"-m", "--jobmanager"}, paramLabel = "HOST:PORT", defaultValue = "localhost:8081",
            description = "JobManager REST address (default: ${DEFAULT-VALUE}).")
    String jobManager;

    @Option(names = "--jar", paramLabel = "JAR", description = "Job jar (default: target/r1-flink-job.jar).")
    Path jar;

    @Option(names = "--job", paramLabel = "FILE", required = true, description = "Job definition, e.g. jobs/r1-distill-qwen-1.5b.yaml.")
    Path job;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", description = "Overrides a job option.")
    List<String> overrides = new ArrayList<>();

    @Option(names = {"-s", "--from-savepoint"}, paramLabel = "PATH", description = "Restore from this savepoint.")
    String savepoint;

    @Option(names = {"-p", "--parallelism"}, defaultValue = "1", description = "Parallelism when the job definition sets none.")
    int parallelism;

    @Override
    public Integer call() throws Exception {
        JobID id = submit();
        System.out.println("submitted job " + id + " to http://" + jobManager);
        return 0;
    }

    JobID submit() throws Exception {
        File jarFile = (jar != null ? jar : DemoCommand.home().resolve("target/r1-flink-job.jar")).toFile();
        if (!jarFile.isFile()) throw new IllegalArgumentException("no job jar at " + jarFile + "; run mvn package");
        List<String> args = new ArrayList<>(List.of("--job", job.toAbsolutePath().toString()));
        for (String o : overrides) args.add("-D" + o);
        Configuration conf = new Configuration();
        int colon = jobManager.lastIndexOf(':');
        conf.set(RestOptions.ADDRESS, colon < 0 ? jobManager : jobManager.substring(0, colon));
        conf.set(RestOptions.PORT, colon < 0 ? 8081 : Integer.parseInt(jobManager.substring(colon + 1)));
        // The job's main runs in this JVM, which bundles the Kafka connector (org.apache.flink.*: always loaded from
        // here). Its Kafka, Avro and Jackson classes must then come from here too, or the job jar's copies clash.
        conf.set(CoreOptions.ALWAYS_PARENT_FIRST_LOADER_PATTERNS_ADDITIONAL,
                List.of("org.apache.kafka.", "org.apache.avro.", "com.fasterxml.jackson."));
        PackagedProgram program = PackagedProgram.newBuilder()
                .setJarFile(jarFile)
                .setArguments(args.toArray(String[]::new))
                .setConfiguration(conf)
                .setSavepointRestoreSettings(savepoint == null ? SavepointRestoreSettings.none()
                        : SavepointRestoreSettings.forPath(savepoint))
                .build();
        // The job's main runs here in the jar's own class loader; keep it from leaking into this thread.
        ClassLoader caller = Thread.currentThread().getContextClassLoader();
        try {
            JobGraph graph;
            try {
                graph = PackagedProgramUtils.createJobGraph(program, conf, parallelism, false);
            } finally {
                Thread.currentThread().setContextClassLoader(caller);
            }
            try (RestClusterClient<StandaloneClusterId> client = new RestClusterClient<>(conf, StandaloneClusterId.getInstance())) {
                return client.submitJob(graph).get();
            }
        } finally {
            program.close();
        }
    }
}
