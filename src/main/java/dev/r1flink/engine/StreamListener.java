package dev.r1flink.engine;

/** Receives text as it is generated; called on an engine thread, so it must return quickly. */
@FunctionalInterface
public interface StreamListener {
    /** {@code delta} is whole UTF-8 characters; {@code reasoning} tells which part it belongs to. */
    void onText(String delta, boolean reasoning);

    StreamListener NONE = (d, r) -> { };
}
