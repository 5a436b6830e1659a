package dev.r1flink.local;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Flink session cluster without flink-dist: a JobManager ({@code StandaloneSessionClusterEntrypoint}) and
 * TaskManagers ({@code TaskManagerRunner}) as separate JVMs on 127.0.0.1, sized the way Flink's scripts size them
 * ({@code BashJavaUtils}). {@link #close()} stops them all and waits until no process is left.
 */
public final class StandaloneCluster implements AutoCloseable {

    private static final String RESULT_PREFIX = "BASH_JAVA_UTILS_EXEC_RESULT:";

    private final Path dir;
    private final int restPort;
    private final List<Process> processes = new ArrayList<>();

    private StandaloneCluster(Path dir, int restPort) {
        this.dir = dir;
        this.restPort = restPort;
    }

    /**
     * Starts a JobManager and {@code taskManagers} TaskManagers with {@code slots} slots each.
     *
     * @param classpath Flink's classes (the cluster's "lib/"); the job's own classes come with its jar
     * @param jvmFlags  flags for every process (e.g. --add-modules jdk.incubator.vector, --add-opens)
     * @param extra     more config.yaml entries
     */
    public static StandaloneCluster start(Path dir, String classpath, List<String> jvmFlags, int taskManagers,
                                          int slots, Map<String, String> extra) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        int restPort = EmbeddedKafka.freePort();
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("jobmanager.rpc.address", "127.0.0.1");
        conf.put("jobmanager.rpc.port", String.valueOf(EmbeddedKafka.freePort()));
        conf.put("jobmanager.bind-host", "127.0.0.1");
        conf.put("taskmanager.bind-host", "127.0.0.1");
        conf.put("taskmanager.host", "127.0.0.1");
        conf.put("rest.address", "127.0.0.1");
        conf.put("rest.bind-address", "127.0.0.1");
        conf.put("rest.port", String.valueOf(restPort));
        conf.put("jobmanager.memory.process.size", "1g");
        conf.put("taskmanager.memory.process.size", "1536m");
        conf.put("taskmanager.memory.managed.fraction", "0.0");
        conf.put("taskmanager.network.memory.buffer-debloat.enabled", "true"); // fast savepoints: docs/reliability.md
        conf.put("taskmanager.numberOfTaskSlots", String.valueOf(slots));
        conf.put("io.tmp.dirs", dir.resolve("tmp").toString());
        conf.putAll(extra);
        Path confDir = dir.resolve("conf");
        Files.createDirectories(confDir);
        Files.createDirectories(dir.resolve("tmp"));
        StringBuilder yaml = new StringBuilder();
        conf.forEach((k, v) -> yaml.append(k).append(": ").append(v).append('\n'));
        Files.writeString(confDir.resolve("config.yaml"), yaml);

        StandaloneCluster c = new StandaloneCluster(dir, restPort);
        try {
            List<String> jm = resourceParams(classpath, "GET_JM_RESOURCE_PARAMS", confDir);
            c.launch("jobmanager", classpath, jvmFlags, jm.get(0), "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                    confDir, jm.get(1));
            for (int i = 0; i < taskManagers; i++) {
                List<String> tm = resourceParams(classpath, "GET_TM_RESOURCE_PARAMS", confDir);
                c.launch("taskmanager-" + i, classpath, jvmFlags, tm.get(0), "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                        confDir, tm.get(1));
            }
            c.awaitTaskManagers(taskManagers, Duration.ofMinutes(2));
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    public String restAddress() {
        return "127.0.0.1:" + restPort;
    }

    public List<Process> processes() {
        return List.copyOf(processes);
    }

    /** JVM flags and dynamic properties, as Flink's start scripts compute them. */
    private static List<String> resourceParams(String classpath, String command, Path confDir)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(javaBin(), "-cp", classpath, "org.apache.flink.runtime.util.bash.BashJavaUtils",
                command, "--configDir", confDir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("BashJavaUtils " + command + " failed: " + out);
        }
        List<String> results = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith(RESULT_PREFIX)) results.add(line.substring(RESULT_PREFIX.length()).strip());
        }
        if (results.size() != 2) throw new IOException("unexpected BashJavaUtils output: " + out);
        return results;
    }

    private void launch(String name, String classpath, List<String> jvmFlags, String memoryFlags, String mainClass,
                        Path confDir, String dynamicProperties) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin());
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of(memoryFlags.split("\\s+")));
        cmd.add("-Dlog.file=" + dir.resolve(name + ".log"));
        cmd.addAll(List.of("-cp", classpath, mainClass, "--configDir", confDir.toString()));
        if (!dynamicProperties.isEmpty()) cmd.addAll(List.of(dynamicProperties.split("\\s+")));
        processes.add(new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".out").toFile()).start());
    }

    private void awaitTaskManagers(int n, Duration timeout) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + restAddress() + "/overview"))
                .timeout(Duration.ofSeconds(5)).build();
        Pattern tms = Pattern.compile("\"taskmanagers\"\\s*:\\s*(\\d+)");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (Process p : processes) {
                if (!p.isAlive()) throw new IOException("a cluster process exited (" + p.exitValue() + "); see " + dir);
            }
            try {
                Matcher m = tms.matcher(http.send(req, HttpResponse.BodyHandlers.ofString()).body());
                if (m.find() && Integer.parseInt(m.group(1)) >= n) return;
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(250);
        }
        throw new IOException("the cluster did not come up in " + timeout + "; see " + dir);
    }

    /** Stops every process (SIGTERM, then SIGKILL after 30 s), children included, and waits for them. */
    @Override
    public void close() {
        List<ProcessHandle> all = new ArrayList<>();
        for (Process p : processes) {
            p.descendants().forEach(all::add);
            all.add(p.toHandle());
        }
        all.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + 30_000_000_000L;
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
                try {
                    h.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // reported by isAlive() to whoever checks
                }
            }
        }
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
