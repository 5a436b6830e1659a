package dev.r1flink.engine;

/** Why a generation ended. */
public enum FinishReason {
    /** The model emitted end-of-sequence or a stop string matched. */
    STOP,
    /** {@code maxTokens} reached. */
    LENGTH,
    /** The thinking budget was reached, {@code </think>} was injected, and the answer then ended normally. */
    BUDGET,
    /** {@link Generation#cancel()} was called or the engine closed first. */
    CANCELLED,
    /** The request could not be served (e.g. prompt longer than the context); {@code error} says why. */
    ERROR
}
