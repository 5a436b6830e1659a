package dev.r1flink.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code r1-flink demo} end to end, exactly as the README runs it: broker + local Flink in this JVM, the real engine
 * on the bundled tiny-r1-arith model, the sample prompts of {@code jobs/}.
 */
class DemoCommandITCase {

    @Test
    void demoPrintsEverySampleResultAndExits() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int rc;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            rc = Main.commandLine().execute("demo", "--timeout", "300");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertEquals(0, rc, out);
        for (int i = 1; i <= 12; i++) assertTrue(out.contains("demo-" + i + "  [tiny-r1-arith, "), "result demo-" + i);
        assertTrue(out.contains("[12/12]"), "progress counts to 12");
        assertTrue(out.contains("tiny-r1-arith: a demo model that only does arithmetic")
                && out.contains("point --model at a real R1 GGUF"), "says what the bundled model can do: " + out);
        assertTrue(out.contains("tok/s"), out);
        // the model really reasons: greedy, it gets these sample problems right (their expected answers), the
        // `*` product, the long multiplication, the negative difference and the 6-digit sum without spaces included
        for (String boxed : new String[] {"\\boxed{432}", "\\boxed{3089}", "\\boxed{495}", "\\boxed{248}",
                "\\boxed{405}", "\\boxed{23300}", "\\boxed{48}", "\\boxed{29495}", "\\boxed{-14}",
                "\\boxed{250137}"}) {
            assertTrue(out.contains(boxed), "answer " + boxed + " in\n" + out);
        }
        assertTrue(out.contains("done: 12 results, 0 dead letters"), out);
    }

    @Test
    void demoStreamShowsEachTraceAsItGrows() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int rc;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            rc = Main.commandLine().execute("demo", "--stream", "--timeout", "300");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertEquals(0, rc, out);
        for (int i = 1; i <= 12; i++) {
            assertTrue(out.contains("[demo-" + i + "] <think> "), "trace of demo-" + i + " starts streaming");
            assertTrue(out.contains("result demo-" + i + " committed"), "result demo-" + i);
        }
        // deltas of several prompts interleave
        assertTrue(out.split("\\[demo-").length > 30, "many deltas, interleaved:\n" + out);
        assertTrue(out.contains(" </think> "), out);
        assertTrue(out.contains("done: 12 results, 0 dead letters"), out);
    }

    @Test
    void sqlDemoRunsTheSqlJobOnTheSameBrokerAndCluster() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int rc;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            rc = Main.commandLine().execute("demo", "--sql", "--timeout", "300");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertEquals(0, rc, out);
        assertTrue(out.contains("running " + Path.of("jobs/local-demo.sql").toAbsolutePath().normalize()), out);
        for (int i = 1; i <= 12; i++) assertTrue(out.contains("demo-" + i + "  [tiny-r1-arith, "), "result demo-" + i);
        // the SQL file keeps its own, shorter token budget (224): the short problems' answers
        for (String boxed : new String[] {"\\boxed{432}", "\\boxed{3089}", "\\boxed{495}", "\\boxed{248}"}) {
            assertTrue(out.contains(boxed), "answer " + boxed + " in\n" + out);
        }
        assertTrue(out.contains("done: 12 results, 0 dead letters"), out);
    }
}
