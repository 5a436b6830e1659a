package dev.r1flink.sql;

import dev.r1flink.job.JobOptions;
import dev.r1flink.job.JobSettings;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.config.ExecutionConfigOptions;
import org.apache.flink.table.catalog.ResolvedCatalogModel;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.factories.ModelProviderFactory;
import org.apache.flink.table.ml.ModelProvider;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * R1 as a Flink SQL model: {@code CREATE MODEL r1 INPUT (prompt STRING) OUTPUT (answer STRING) WITH ('provider' =
 * 'r1', 'model.path' = 'bundled:tiny-r1-arith')}, then {@code ML_PREDICT(TABLE prompts, MODEL r1,
 * DESCRIPTOR(prompt))}. Found through {@code META-INF/services/org.apache.flink.table.factories.Factory}.
 *
 * <pre>{@code
 * tEnv.createModel("r1", ModelDescriptor.forProvider("r1")
 *         .inputSchema(Schema.newBuilder().column("prompt", DataTypes.STRING()).build())
 *         .outputSchema(Schema.newBuilder().column("answer", DataTypes.STRING()).build())
 *         .option(JobOptions.MODEL_PATH, "bundled:tiny-r1-arith")
 *         .build());
 * }</pre>
 *
 * <p>Its options are the model, engine and generation options of the DataStream job ({@link JobOptions}; the
 * generation ones also by their short names: {@code temperature}, {@code top-p}, {@code seed}, {@code max-tokens},
 * {@code max-reasoning-tokens}, {@code system-prompt}), plus {@link #DEADLINE}. They are checked here, when a
 * statement using the model is planned; nothing is loaded until the predict function opens on a TaskManager.
 */
public final class R1ModelProviderFactory implements ModelProviderFactory {

    public static final String IDENTIFIER = "r1";

    public static final ConfigOption<Duration> DEADLINE = ConfigOptions.key("deadline")
            .durationType().noDefaultValue()
            .withDescription("Longest time from a row's arrival to its result; then the generation is cancelled and "
                    + "the row comes out with finish_reason TIMEOUT. Must stay below ML_PREDICT's timeout (whose "
                    + "expiry fails the job); default: 90% of it.");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(JobOptions.MODEL_PATH);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> s = new LinkedHashSet<>(JobOptions.MODEL_SETTINGS);
        s.remove(JobOptions.MODEL_PATH);
        s.add(DEADLINE);
        return s;
    }

    @Override
    public ModelProvider createModelProvider(Context context) {
        FactoryUtil.ModelProviderFactoryHelper helper = FactoryUtil.createModelProviderFactoryHelper(this, context);
        helper.validate();
        ResolvedCatalogModel model = context.getCatalogModel();
        String name = context.getObjectIdentifier().asSummaryString();
        Map<String, String> options = new HashMap<>(model.getOptions());
        options.remove(FactoryUtil.PROVIDER.key());
        Configuration conf = Configuration.fromMap(options);
        JobSettings settings;
        try {
            settings = JobSettings.from(conf);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("model " + name + ": " + e.getMessage(), e);
        }
        RowBinding binding = RowBinding.of(name, model.getResolvedInputSchema(), model.getResolvedOutputSchema());
        return new R1ModelProvider(name, settings, binding, conf.getOptional(DEADLINE).orElse(null),
                context.getConfiguration().get(ExecutionConfigOptions.TABLE_EXEC_ASYNC_ML_PREDICT_TIMEOUT));
    }

    /**
     * The deadline for a call whose operator times out after {@code operatorTimeout}: the model's {@code deadline},
     * which must be shorter, or 90% of it.
     */
    static Duration deadline(String model, Duration configured, Duration operatorTimeout) {
        if (configured == null) return Duration.ofMillis(Math.max(1, operatorTimeout.toMillis() * 9 / 10));
        if (configured.isNegative() || configured.isZero() || configured.compareTo(operatorTimeout) >= 0) {
            throw new ValidationException("model " + model + ": deadline must be in (0, " + operatorTimeout
                    + "), below ML_PREDICT's timeout (its expiry fails the job), got " + configured
                    + "; raise the call's 'timeout' or lower 'deadline'");
        }
        return configured;
    }

    /** ML_PREDICT's timeout: the call's {@code timeout}, else the session's table.exec.async-ml-predict.timeout. */
    static Duration operatorTimeout(ReadableConfig call, Duration session) {
        return call.getOptional(org.apache.flink.table.api.config.MLPredictRuntimeConfigOptions.ASYNC_TIMEOUT)
                .orElse(session);
    }
}
