package dev.r1flink.job;

/** Wire format of prompt events. */
public enum InputFormat {
    /** Avro single-object encoding: {@code C3 01}, the 8-byte schema fingerprint, the binary body. */
    AVRO,
    /** A JSON object with the PromptEvent field names. */
    JSON,
    /** Either: single-object header means Avro, anything else is read as JSON. */
    AUTO
}
