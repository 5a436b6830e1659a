package dev.r1flink.cli;

import dev.r1flink.engine.ForwardModel;
import dev.r1flink.model.Batch;
import dev.r1flink.model.KvCache;
import dev.r1flink.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class BenchCommandTest {

    /** Test double: every row's logits favour token (pos mod 7); touches its KV cell like a real model. */
    static final class PositionModuloModel implements ForwardModel {
        @Override public int vocabularySize() { return 50; }
        @Override public int contextLength() { return 512; }
        @Override public int blockCount() { return 1; }
        @Override public int kvDim() { return 2; }
        @Override public void forward(Batch batch, KvCache cache, float[] logits, Parallel parallel) {
            int out = 0;
            for (int r = 0; r < batch.size(); r++) {
                cache.keys(0)[cache.cell(batch.seqIds[r], batch.positions[r]) * 2] = (short) batch.tokens[r];
                if (batch.wantLogits[r]) {
                    java.util.Arrays.fill(logits, out * 50, out * 50 + 50, 0f);
                    logits[out * 50 + batch.positions[r] % 7] = 1f;
                    out++;
                }
            }
        }
    }

    @Test
    void benchPrintsOneRowPerConcurrencyLevel() throws Exception {
        BenchCommand.ModelOpener saved = BenchCommand.opener;
        BenchCommand.opener = (path, backend) -> new PositionModuloModel();
        try {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            PrintStream old = System.out;
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            int rc;
            try {
                rc = Main.commandLine().execute("bench", "--model", "toy.gguf", "--concurrency", "1,4", "--npp", "16",
                        "--ntg", "8", "--threads", "1", "--kv-cache-mib", "1", "--json");
            } finally {
                System.setOut(old);
            }
            assertEquals(0, rc);
            String json = buf.toString(StandardCharsets.UTF_8);
            assertTrue(json.contains("\"concurrency\":1,") && json.contains("\"concurrency\":4,"), json);
            assertTrue(json.contains("\"generatedTokens\":32,"), "4 requests x 8 tokens: " + json);
            assertTrue(json.contains("\"promptTokens\":64,"), json);
        } finally {
            BenchCommand.opener = saved;
        }
    }

    @Test
    void measureCountsEveryToken() throws Exception {
        BenchCommand b = new BenchCommand();
        b.npp = 10;
        b.ntg = 5;
        b.threads = 1;
        b.maxBatchTokens = 64;
        b.kvCacheMib = 1;
        BenchCommand.Row r = b.measure(new PositionModuloModel(), 3, 6);
        assertEquals(30, r.generatedTokens());
        assertEquals(60, r.promptTokens());
        assertTrue(r.decodeTps() > 0 && r.prefillTps() > 0);
        assertTrue(r.itlP99Ms() >= r.itlP50Ms());
        b.print(List.of(r), new PrintStream(new ByteArrayOutputStream()));
    }
}
