package dev.r1flink.job;

import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.DeadLetterKind;
import dev.r1flink.job.avro.PromptEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * Decodes and checks each record; whatever cannot be served goes to the {@link #DEAD_LETTERS} side output with a
 * reason, and the job goes on. Counting prompt tokens needs the tokenizer, so this operator holds the model too
 * (the same {@link ModelRegistry} entry as the inference operator: no second copy).
 */
public final class ValidatePrompts extends ProcessFunction<RawRecord, ValidPrompt> {

    private static final long serialVersionUID = 1L;

    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters") { };

    private final JobSettings settings;
    private final EngineFactory factory;
    private transient ModelRegistry.Lease lease;
    private transient Counter deadLetters;

    public ValidatePrompts(JobSettings settings, EngineFactory factory) {
        this.settings = settings;
        this.factory = factory;
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        lease = ModelRegistry.acquire(factory, settings.modelPath, settings.engineOptions);
        deadLetters = getRuntimeContext().getMetricGroup().addGroup(InferenceMetrics.GROUP)
                .counter(InferenceMetrics.DEAD_LETTERS);
    }

    @Override
    public void close() {
        if (lease != null) lease.close();
    }

    @Override
    public void processElement(RawRecord r, Context ctx, Collector<ValidPrompt> out) {
        try {
            out.collect(validate(r));
        } catch (BadInputException e) {
            deadLetters.inc();
            ctx.output(DEAD_LETTERS, DeadLetter.newBuilder()
                    .setKind(e.kind())
                    .setReason(e.getMessage())
                    .setEventId(e.eventId())
                    .setRaw(ByteBuffer.wrap(r.value))
                    .setTopic(r.topic == null ? "" : r.topic)
                    .setPartition(r.partition)
                    .setOffset(r.offset)
                    .setTimestamp(Instant.ofEpochMilli(r.timestamp))
                    .build());
        }
    }

    ValidPrompt validate(RawRecord r) throws BadInputException {
        return validate(r, settings, lease.model());
    }

    /**
     * The whole decode/validate step, outside Flink: a prompt ready for inference, or BadInputException with the
     * reason. Contract (fuzzed by HostileInputFuzzTest): no input makes it throw anything else.
     */
    static ValidPrompt validate(RawRecord r, JobSettings settings, LoadedModel model) throws BadInputException {
        return check(PromptCodec.decode(r.value, settings.inputFormat, r.timestamp), settings, model);
    }

    /**
     * The checks after decoding, shared with the SQL model provider (which gets its prompts decoded by the
     * planner): a prompt ready for inference, or BadInputException with the reason. Throws nothing else.
     */
    public static ValidPrompt check(PromptEvent e, JobSettings settings, LoadedModel model) throws BadInputException {
        String id = e.getId();
        if (id.isEmpty()) throw new BadInputException(DeadLetterKind.INVALID_PARAMETERS, "empty id; give every event a unique id", null);
        if (e.getPrompt().isBlank()) {
            throw new BadInputException(DeadLetterKind.EMPTY_PROMPT, "the prompt is empty or blank", id);
        }
        if (e.getModel() != null && !settings.modelNames.contains(e.getModel())) {
            throw new BadInputException(DeadLetterKind.UNKNOWN_MODEL, "this job serves " + JobSettings.sortedNames(settings.modelNames)
                    + ", not \"" + e.getModel() + "\"; send it to a job running that model, or leave model unset", id);
        }
        GenerationRequest request;
        try {
            request = Requests.toRequest(e, settings);
        } catch (IllegalArgumentException ex) {
            throw new BadInputException(DeadLetterKind.INVALID_PARAMETERS, "out-of-range parameter: " + ex.getMessage(), id);
        }
        if (model.maxTokenBytes() > 0) {
            // Tokenizing megabytes only to learn they do not fit would stall this operator: bound it from below.
            long bytes = utf8Length(e.getPrompt()) + (e.getSystem() == null ? 0 : utf8Length(e.getSystem()));
            long atLeast = (bytes + model.maxTokenBytes() - 1) / model.maxTokenBytes();
            if (atLeast >= model.contextLength()) {
                throw new BadInputException(DeadLetterKind.PROMPT_TOO_LONG, "the prompt is " + bytes
                        + " bytes, at least " + atLeast + " tokens; the model's context holds " + model.contextLength()
                        + " (prompt + generation); shorten it", id);
            }
        }
        int promptTokens;
        try {
            promptTokens = model.promptTokens(request);
        } catch (RuntimeException ex) {
            throw new BadInputException(DeadLetterKind.INVALID_PARAMETERS, "the model cannot take this prompt: " + ex.getMessage(), id);
        }
        if (promptTokens >= model.contextLength()) {
            throw new BadInputException(DeadLetterKind.PROMPT_TOO_LONG, "the prompt is " + promptTokens
                    + " tokens; the model's context holds " + model.contextLength()
                    + " (prompt + generation); shorten it", id);
        }
        return new ValidPrompt(e, promptTokens);
    }

    /** Bytes of {@code s} in UTF-8 as {@code String.getBytes} encodes it (an unpaired surrogate as '?'), without encoding. */
    static long utf8Length(CharSequence s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else if (Character.isSurrogate(c)) n += 1;
            else n += 3;
        }
        return n;
    }
}
