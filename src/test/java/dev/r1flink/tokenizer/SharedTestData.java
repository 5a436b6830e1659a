package dev.r1flink.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates files under {@code ${r1.shared.dir}} (Surefire sets it to {@code ../shared}). When a file is missing the
 * test fails on CI ({@code CI=true}), where the data must be there, and is skipped with a message elsewhere.
 */
public final class SharedTestData {

    private SharedTestData() {
    }

    /** {@code ${r1.shared.dir}/relative}, which must exist. */
    public static Path require(String relative) {
        String dir = System.getProperty("r1.shared.dir");
        Path path = dir == null ? null : Path.of(dir).resolve(relative);
        return require(path, relative, "true".equalsIgnoreCase(System.getenv("CI")));
    }

    /** The decision itself, separate so that it can be tested: fail on CI, skip otherwise. */
    static Path require(Path path, String what, boolean ci) {
        if (path != null && Files.exists(path)) {
            return path;
        }
        String message = "shared test data " + what + " not found"
                + (path == null ? " (system property r1.shared.dir is not set)" : " at " + path);
        if (ci) {
            fail(message + "; CI=true, so this is a failure");
        }
        assumeTrue(false, message + "; skipping");
        return path;
    }

    /** The vocab test data directory, {@code testdata/vocab}. */
    public static Path vocabDir() {
        return require("testdata/vocab");
    }
}
