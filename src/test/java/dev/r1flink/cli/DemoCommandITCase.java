package dev.r1flink.cli;

import dev.r1flink.job.ScriptedEngineFactory;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code r1-flink demo} end to end (broker + local Flink in this JVM), with the scripted test engine. */
class DemoCommandITCase {

    @Test
    void demoPrintsEverySampleResultAndExits() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int rc;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            rc = Main.commandLine().execute("demo", "--timeout", "120",
                    "-D", "engine.factory=" + ScriptedEngineFactory.class.getName(),
                    "-D", "engine.options=scripted.context:512",
                    "-D", "parallelism.default=2");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertEquals(0, rc, out);
        for (int i = 1; i <= 8; i++) assertTrue(out.contains("demo-" + i + "  [r1-tiny, "), "result demo-" + i);
        assertTrue(out.contains("[8/8]"), "progress counts to 8");
        assertTrue(out.contains("<think>") && out.contains("tok/s"));
        assertTrue(out.contains("done: 8 results, 0 dead letters"), out);
    }
}
