package dev.r1flink.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class SharedTestDataTest {

    @Test
    void missingDataFailsOnCi(@TempDir Path tmp) {
        Path missing = tmp.resolve("no-such-dir");
        assertThrows(AssertionFailedError.class, () -> SharedTestData.require(missing, "x", true));
        assertThrows(AssertionFailedError.class, () -> SharedTestData.require(null, "x", true));
    }

    @Test
    void missingDataSkipsOffCi(@TempDir Path tmp) {
        Path missing = tmp.resolve("no-such-dir");
        assertThrows(TestAbortedException.class, () -> SharedTestData.require(missing, "x", false));
        assertThrows(TestAbortedException.class, () -> SharedTestData.require(null, "x", false));
    }

    @Test
    void presentDataIsReturned(@TempDir Path tmp) {
        assertEquals(tmp, SharedTestData.require(tmp, "x", true));
        assertEquals(tmp, SharedTestData.require(tmp, "x", false));
    }
}
