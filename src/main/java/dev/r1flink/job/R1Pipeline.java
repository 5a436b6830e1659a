package dev.r1flink.job;

import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.InferenceResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.util.concurrent.TimeUnit;

/**
 * The job's dataflow, independent of where records come from and go to:
 *
 * <pre>
 * source -> validate -> rebalance -> inference (async, unordered; capacity = in flight per slot) -> results sink
 *              |                                                                         (exactly once)
 *              \-> dead letters (side output) -> dead-letter sink
 * </pre>
 *
 * {@link R1FlinkJob#main} wires Kafka; tests wire whatever they like.
 */
public final class R1Pipeline {

    private R1Pipeline() {
    }

    /** Adds the pipeline to {@code env}; returns the result stream (already sunk into {@code results}). */
    public static DataStream<InferenceResult> build(StreamExecutionEnvironment env, Source<RawRecord, ?, ?> source,
                                                    Sink<InferenceResult> results, Sink<DeadLetter> deadLetters,
                                                    JobSettings settings, EngineFactory factory) {
        DataStream<RawRecord> raw = env.fromSource(source, WatermarkStrategy.noWatermarks(), "prompts")
                .uid("prompts-source");
        SingleOutputStreamOperator<ValidPrompt> valid = raw
                .process(new ValidatePrompts(settings, factory), TypeInformation.of(ValidPrompt.class))
                .name("decode-validate").uid("decode-validate");
        valid.getSideOutput(ValidatePrompts.DEAD_LETTERS)
                .sinkTo(deadLetters).name("dead-letters").uid("dead-letters-sink");
        // Round-robin to the inference slots: a prompt topic with fewer (or skewed) partitions than slots must not
        // leave engines idle.
        DataStream<InferenceResult> out = AsyncDataStream.unorderedWait(valid.rebalance(),
                        new InferenceFunction(settings, factory),
                        settings.asyncTimeout.toMillis(), TimeUnit.MILLISECONDS, settings.asyncCapacity)
                .name("r1-inference").uid("r1-inference");
        out.sinkTo(results).name("results").uid("results-sink");
        return out;
    }
}
