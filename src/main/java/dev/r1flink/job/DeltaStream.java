package dev.r1flink.job;

import dev.r1flink.engine.FinishReason;
import dev.r1flink.engine.GenerationResult;
import dev.r1flink.engine.StreamListener;
import dev.r1flink.job.avro.DeltaPart;
import dev.r1flink.job.avro.ReasoningDelta;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One inference subtask's writer of the deltas topic: a {@link StreamListener} per request ({@link #listener})
 * that batches the generated text into {@link ReasoningDelta}s, one every {@code flushTokens} tokens, sent by a
 * plain (not transactional) Kafka producer; {@link #flush} at each checkpoint makes every delta sent so far durable
 * before the checkpoint completes.
 *
 * <pre>{@code
 * DeltaStream deltas = DeltaStream.open(settings);                   // open()
 * DeltaStream.Listener l = deltas.listener(id);                        // per request: engine.submit(request, l)
 * l.finish(result);                                                    // when the generation completes
 * deltas.flush();                                                      // snapshotState
 * }</pre>
 *
 * <p>At least once, with identical replays: where a delta is cut depends only on the tokens (the listener sees the
 * same calls for a continued request as for an uninterrupted one), so a prompt generated again after a failover
 * resends the same deltas under the same sequence numbers, and consumers deduplicate by (id, sequence).
 */
public final class DeltaStream implements AutoCloseable {

    private final String topic;
    private final int flushTokens;
    private final DeltaFormat format;
    private final KafkaProducer<byte[], byte[]> producer;
    private final AtomicReference<Exception> sendFailure = new AtomicReference<>();

    DeltaStream(String topic, int flushTokens, DeltaFormat format, KafkaProducer<byte[], byte[]> producer) {
        this.topic = topic;
        this.flushTokens = flushTokens;
        this.format = format;
        this.producer = producer;
    }

    /** The subtask's delta writer, or null when the job has no deltas topic. */
    public static DeltaStream open(JobSettings s) {
        if (s.deltasTopic == null) {
            return null;
        }
        Map<String, Object> p = new HashMap<>(s.deltasProducer);
        p.putIfAbsent("acks", "all");
        // deltas are small and many: fewer, larger requests cost the broker and this TaskManager less CPU, and
        // 20 ms is nothing next to a token's time on a CPU
        p.putIfAbsent("linger.ms", "20");
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        return new DeltaStream(s.deltasTopic, s.deltasFlushTokens, s.deltasFormat, producer);
    }

    /** A fresh listener for the generation of prompt {@code id} (from its first token, or replaying). */
    public Listener listener(String id) {
        return new Listener(id);
    }

    /**
     * Waits until every delta sent so far is acknowledged; throws (failing the checkpoint) if one could not be
     * written, since its prompt may not be generated again.
     */
    public void flush() throws Exception {
        producer.flush();
        Exception e = sendFailure.getAndSet(null);
        if (e != null) {
            throw new IOException("a delta could not be written to " + topic + ": " + e, e);
        }
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(10));
    }

    private void send(ReasoningDelta d) {
        byte[] value = encode(d, format);
        producer.send(new ProducerRecord<>(topic, d.getId().getBytes(StandardCharsets.UTF_8), value), (md, e) -> {
            if (e != null) sendFailure.compareAndSet(null, e);
        });
    }

    /** Batches one generation's text; called on the engine thread, {@link #finish} on whichever completes it. */
    public final class Listener implements StreamListener {
        private final String id;
        private final StringBuilder pending = new StringBuilder();
        private boolean pendingReasoning = true;
        private int tokensSinceFlush;
        private int reasoningTokens;
        private int answerTokens;
        private int sequence;
        private boolean finished;

        private Listener(String id) {
            this.id = id;
        }

        @Override
        public synchronized void onText(String delta, boolean reasoning) {
            if (pending.length() > 0 && reasoning != pendingReasoning) {
                emit(false); // one part per delta: the reasoning ended
            }
            pendingReasoning = reasoning;
            pending.append(delta);
        }

        @Override
        public synchronized void onTokens(int reasoning, int answer) {
            reasoningTokens = reasoning;
            answerTokens = answer;
            if (++tokensSinceFlush >= flushTokens && pending.length() > 0) {
                emit(false);
            }
        }

        /**
         * The generation ended: the rest of its text, marked last. Not for a cancelled or failed one (engine
         * closing in a failover, timeout): where it stopped depends on timing, and a replay would send a different
         * delta under the same sequence number.
         */
        public synchronized void finish(GenerationResult r) {
            if (finished) return;
            finished = true;
            if (r.finishReason() == FinishReason.CANCELLED || r.finishReason() == FinishReason.ERROR) return;
            reasoningTokens = r.reasoningTokens();
            answerTokens = r.answerTokens();
            emit(true);
        }

        private void emit(boolean last) {
            send(ReasoningDelta.newBuilder().setId(id).setSequence(sequence++)
                    .setPart(pendingReasoning ? DeltaPart.REASONING : DeltaPart.ANSWER).setText(pending.toString())
                    .setReasoningTokens(reasoningTokens).setAnswerTokens(answerTokens).setLast(last).build());
            pending.setLength(0);
            tokensSinceFlush = 0;
        }
    }

    /** Serializes a delta in {@code format}. */
    public static byte[] encode(ReasoningDelta d, DeltaFormat format) {
        try {
            if (format == DeltaFormat.JSON) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                JsonEncoder enc = EncoderFactory.get().jsonEncoder(ReasoningDelta.getClassSchema(), out);
                new SpecificDatumWriter<>(ReasoningDelta.class).write(d, enc);
                enc.flush();
                return out.toByteArray();
            }
            ByteBuffer b = ReasoningDelta.getEncoder().encode(d);
            byte[] v = new byte[b.remaining()];
            b.get(v);
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a delta in either format (Avro single-object starts with C3 01, JSON with '{'). */
    public static ReasoningDelta decode(byte[] value) throws IOException {
        if (value.length >= 2 && (value[0] & 0xff) == 0xC3 && value[1] == 0x01) {
            return DECODER.decode(value);
        }
        var dec = DecoderFactory.get().jsonDecoder(ReasoningDelta.getClassSchema(),
                new String(value, StandardCharsets.UTF_8));
        return new SpecificDatumReader<>(ReasoningDelta.class).read(null, dec);
    }

    private static final BinaryMessageDecoder<ReasoningDelta> DECODER = ReasoningDelta.getDecoder();
}
