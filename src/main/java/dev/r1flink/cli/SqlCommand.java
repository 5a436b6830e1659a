package dev.r1flink.cli;

import dev.r1flink.job.JobDefinition;
import dev.r1flink.job.R1FlinkJob;
import dev.r1flink.sql.SqlScript;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ./r1-flink sql FILE}: a Flink SQL file (e.g. jobs/local-demo.sql) on a local cluster or a remote one. */
@Command(name = "sql", mixinStandardHelpOptions = true,
        description = {"Runs a Flink SQL file: its ${name} placeholders filled from -D name=value, then each "
                + "statement in order (SET, CREATE TABLE, CREATE MODEL ... WITH ('provider' = 'r1'), INSERT or "
                + "EXECUTE STATEMENT SET). Without -m on a local Flink cluster in this process, waiting for the job; "
                + "with -m the job is submitted to that cluster with the job jar, and the command returns."})
public final class SqlCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "SQL file, e.g. jobs/local-demo.sql.")
    Path file;

    @Option(names = {"-D", "--set"}, paramLabel = "NAME=VALUE", description = "Sets a ${NAME} placeholder.")
    List<String> values = new ArrayList<>();

    @Option(names = {"-m", "--jobmanager"}, paramLabel = "HOST:PORT",
            description = "Submit to this JobManager's REST address instead of running locally.")
    String jobManager;

    @Option(names = "--jar", paramLabel = "JAR", description = "Job jar shipped with -m (default: target/r1-flink-job.jar).")
    Path jar;

    @Option(names = "--explain", description = "Print the plan of the last statement instead of running it.")
    boolean explain;

    @Override
    public Integer call() throws Exception {
        Map<String, String> vars = JobDefinition.overrides(values);
        List<String> statements = SqlScript.statements(SqlScript.substitute(Files.readString(file), vars));
        if (statements.isEmpty()) throw new IllegalArgumentException(file + " holds no statement");
        Configuration conf = R1FlinkJob.withDefaults(new Configuration());
        StreamExecutionEnvironment env;
        if (jobManager == null) {
            env = StreamExecutionEnvironment.createLocalEnvironment(conf);
        } else {
            File jarFile = (jar != null ? jar : DemoCommand.home().resolve("target/r1-flink-job.jar")).toFile();
            if (!jarFile.isFile()) throw new IllegalArgumentException("no job jar at " + jarFile + "; run mvn package");
            int colon = jobManager.lastIndexOf(':');
            env = StreamExecutionEnvironment.createRemoteEnvironment(colon < 0 ? jobManager : jobManager.substring(0, colon),
                    colon < 0 ? 8081 : Integer.parseInt(jobManager.substring(colon + 1)), conf, jarFile.getPath());
        }
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        if (explain) {
            SqlScript.execute(tEnv, statements.subList(0, statements.size() - 1));
            System.out.println(SqlScript.explain(tEnv, statements.get(statements.size() - 1)));
            return 0;
        }
        TableResult result = SqlScript.execute(tEnv, statements);
        if (result.getJobClient().isEmpty()) {
            result.print();
            return 0;
        }
        JobClient job = result.getJobClient().get();
        if (jobManager != null) {
            System.out.println("submitted job " + job.getJobID() + " to http://" + jobManager);
            return 0;
        }
        System.out.println("job " + job.getJobID() + " running on the local cluster (Ctrl-C stops it)");
        job.getJobExecutionResult().get();
        System.out.println("job " + job.getJobID() + " finished");
        return 0;
    }
}
