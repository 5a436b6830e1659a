package dev.r1flink.sql;

import dev.r1flink.job.JobSettings;
import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.PredictFunction;
import org.apache.flink.table.ml.AsyncPredictRuntimeProvider;
import org.apache.flink.table.ml.ModelProvider;
import org.apache.flink.table.ml.PredictRuntimeProvider;

import java.time.Duration;

/**
 * Makes the predict functions of one {@code CREATE MODEL}: asynchronous (the default; every row in flight, up to
 * ML_PREDICT's {@code max-concurrent-operations}, goes into the slot's batching engine) or synchronous
 * ({@code 'async' = 'false'}: one row at a time, no batching).
 */
final class R1ModelProvider implements AsyncPredictRuntimeProvider, PredictRuntimeProvider {

    private final String model;
    private final JobSettings settings;
    private final RowBinding binding;
    private final Duration deadline;
    private final Duration sessionTimeout;

    R1ModelProvider(String model, JobSettings settings, RowBinding binding, Duration deadline, Duration sessionTimeout) {
        this.model = model;
        this.settings = settings;
        this.binding = binding;
        this.deadline = deadline;
        this.sessionTimeout = sessionTimeout;
    }

    @Override
    public AsyncPredictFunction createAsyncPredictFunction(Context context) {
        Duration operatorTimeout = R1ModelProviderFactory.operatorTimeout(context.runtimeConfig(), sessionTimeout);
        return new R1PredictFunction(model, settings, binding,
                R1ModelProviderFactory.deadline(model, deadline, operatorTimeout));
    }

    @Override
    public PredictFunction createPredictFunction(Context context) {
        Duration d = deadline != null ? deadline : sessionTimeout;
        return new R1SyncPredictFunction(new R1PredictFunction(model, settings, binding, d));
    }

    @Override
    public ModelProvider copy() {
        return new R1ModelProvider(model, settings, binding, deadline, sessionTimeout);
    }
}
