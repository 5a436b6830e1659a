package dev.r1flink.job;

import org.apache.flink.runtime.throwable.ThrowableAnnotation;
import org.apache.flink.runtime.throwable.ThrowableType;

import java.io.IOException;

/**
 * The model file cannot be loaded: missing, unreadable, truncated, corrupt, or not a model this engine runs. A
 * restart would read the same bytes and fail the same way, so Flink is told not to restart
 * ({@link ThrowableType#NonRecoverableError}): the job fails at once with this message, instead of looping through
 * its restart strategy.
 */
@ThrowableAnnotation(ThrowableType.NonRecoverableError)
public final class ModelFileException extends IOException {

    private static final long serialVersionUID = 1L;

    public ModelFileException(String modelPath, Throwable cause) {
        super("cannot load model.path=" + modelPath + ": " + describe(cause), cause);
    }

    private static String describe(Throwable t) {
        if (t instanceof java.nio.file.NoSuchFileException) return "no such file";
        if (t instanceof java.nio.file.AccessDeniedException) return "permission denied";
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
