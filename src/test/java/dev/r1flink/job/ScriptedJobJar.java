package dev.r1flink.job;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/** Test jars for clusters in separate JVMs, which see the job's classes only through the jar they are given. */
public final class ScriptedJobJar {

    private ScriptedJobJar() {
    }

    /** The shaded job jar plus the scripted test engine: the cluster sees the job's classes only through it. */
    public static Path build(Path jobJar, Path out) throws IOException {
        Path testClasses = Path.of(ScriptedEngineFactory.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        try (ZipFile in = new ZipFile(jobJar.toFile()); ZipOutputStream zout = new ZipOutputStream(Files.newOutputStream(out))) {
            for (var it = in.entries(); it.hasMoreElements(); ) {
                ZipEntry e = it.nextElement();
                zout.putNextEntry(new ZipEntry(e.getName()));
                try (InputStream s = in.getInputStream(e)) {
                    s.transferTo(zout);
                }
                zout.closeEntry();
            }
            try (Stream<Path> files = Files.list(testClasses.resolve("dev/r1flink/job"))) {
                for (Path f : files.filter(f -> f.getFileName().toString().startsWith("Scripted")).toList()) {
                    zout.putNextEntry(new ZipEntry("dev/r1flink/job/" + f.getFileName()));
                    Files.copy(f, zout);
                    zout.closeEntry();
                }
            }
        }
        return out;
    }
}
