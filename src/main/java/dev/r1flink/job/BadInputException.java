package dev.r1flink.job;

import dev.r1flink.job.avro.DeadLetterKind;

/** Why an input record cannot be served; becomes a {@link dev.r1flink.job.avro.DeadLetter}. */
public final class BadInputException extends Exception {

    private static final long serialVersionUID = 1L;

    private final DeadLetterKind kind;
    private final String eventId;

    public BadInputException(DeadLetterKind kind, String reason, String eventId) {
        super(reason);
        this.kind = kind;
        this.eventId = eventId;
    }

    public DeadLetterKind kind() {
        return kind;
    }

    /** The event id when the record decoded far enough to have one; else null. */
    public String eventId() {
        return eventId;
    }
}
