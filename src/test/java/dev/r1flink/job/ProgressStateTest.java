package dev.r1flink.job;

import dev.r1flink.engine.GenerationProgress;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The progress entries' encoding: exact round trip, 4 bytes a token, corrupt entries refused with a reason. */
class ProgressStateTest {

    @Test
    void anEntryRoundTripsExactlyAndCostsFourBytesAToken() throws IOException {
        int[] tokens = new Random(1).ints(4096, 0, 151_936).toArray();
        GenerationProgress p = new GenerationProgress(0x1234_5678_9abc_def0L, -42L, tokens);
        byte[] b = ProgressState.encode("evt-000042", p);
        ProgressState.Entry e = ProgressState.decode(b);
        assertEquals("evt-000042", e.id());
        assertEquals(p, e.progress());
        assertArrayEquals(tokens, e.progress().tokens());
        assertEquals(4 * 4096 + 25 + "evt-000042".length(), b.length, "tokens as ints plus a fixed header");
        // the figure docs/reliability.md quotes: 32 prompts of 4,096 tokens per subtask and checkpoint
        long t0 = System.nanoTime();
        for (int i = 0; i < 320; i++) ProgressState.encode("evt-000042", p);
        System.out.printf("progress state: %d bytes per 4,096-token prompt, %d bytes for 32, encoded in %.2f ms%n",
                b.length, 32L * b.length, (System.nanoTime() - t0) / 1e6 / 10);
    }

    @Test
    void corruptEntriesAreRefusedWithAReason() {
        byte[] good = ProgressState.encode("id", new GenerationProgress(1, 2, new int[] {3, 4, 5}));
        byte[] version = good.clone();
        version[0] = 9;
        assertEquals("progress state entry of version 9; this job reads version 1",
                assertThrows(IOException.class, () -> ProgressState.decode(version)).getMessage());
        byte[] count = good.clone();
        count[1 + 4 + 2 + 16 + 3] = 100; // claims 100 tokens in a 37-byte entry
        assertThrows(IOException.class, () -> ProgressState.decode(count));
        assertThrows(IOException.class, () -> ProgressState.decode(Arrays.copyOf(good, good.length - 2)));
    }
}
