package dev.r1flink.sql;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.jar.JarFile;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The packaged job jar: the r1 model provider found next to Kafka's table factories; Flink's Table API left out. */
class JobJarITCase {

    @Test
    void providerShipsInTheJobJarWithTheFactoryFilesMerged() throws Exception {
        File jar = new File(System.getProperty("r1.job.jar", "target/r1-flink-job.jar"));
        assertTrue(jar.isFile(), "packaged before the ITCases: " + jar);
        try (JarFile j = new JarFile(jar)) {
            String factories = new String(j.getInputStream(j.getEntry(
                    "META-INF/services/org.apache.flink.table.factories.Factory")).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(factories.contains(R1ModelProviderFactory.class.getName()), factories);
            assertTrue(factories.contains("org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicTableFactory"),
                    factories);
            assertTrue(j.getEntry(R1PredictFunction.class.getName().replace('.', '/') + ".class") != null);
            assertFalse(j.stream().anyMatch(e -> e.getName().startsWith("org/apache/flink/table/")),
                    "the cluster provides flink-table");
        }
    }
}
