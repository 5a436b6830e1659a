package dev.r1flink.job;

/** Wire format of the deltas topic. */
public enum DeltaFormat {
    /** Avro single-object encoding of {@code ReasoningDelta}, like the results. */
    AVRO,
    /** JSON with the Avro field names. */
    JSON
}
