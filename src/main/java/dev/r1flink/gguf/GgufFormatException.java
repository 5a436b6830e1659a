package dev.r1flink.gguf;

import java.io.IOException;

/** A GGUF file that is malformed, truncated, or asks for more than it holds. The message names the problem. */
public final class GgufFormatException extends IOException {
    public GgufFormatException(String message) {
        super(message);
    }
}
