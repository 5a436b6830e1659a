package dev.r1flink.sql;

import dev.r1flink.job.avro.GenerationParams;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.job.Seeds;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeFamily;
import org.apache.flink.table.types.logical.LogicalTypeRoot;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a model's columns map to R1's prompt and result, checked when the statement is planned. INPUT: the first
 * column is the prompt (a string); further columns are bound by name ({@link In}). OUTPUT: any subset of
 * {@link Out}, by name, in any order.
 */
final class RowBinding implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Input columns besides the prompt. */
    enum In {
        ID(Kind.TEXT, "the row's id: results carry it, and the default seed is a hash of it"),
        SYSTEM_PROMPT(Kind.TEXT, "this row's system prompt"),
        SEED(Kind.INTEGER, "this row's sampling seed"),
        MAX_TOKENS(Kind.INTEGER, "this row's cap on generated tokens"),
        MAX_REASONING_TOKENS(Kind.INTEGER, "this row's thinking budget"),
        TEMPERATURE(Kind.REAL, "this row's temperature"),
        TOP_P(Kind.REAL, "this row's nucleus sampling mass");

        final Kind kind;
        final String doc;

        In(Kind kind, String doc) {
            this.kind = kind;
            this.doc = doc;
        }
    }

    /** Output columns. */
    enum Out {
        REASONING(Kind.TEXT), ANSWER(Kind.TEXT), FINISH_REASON(Kind.TEXT), ERROR(Kind.TEXT),
        PROMPT_TOKENS(Kind.INTEGER), REASONING_TOKENS(Kind.INTEGER), ANSWER_TOKENS(Kind.INTEGER),
        TTFT_MS(Kind.INTEGER), TOTAL_MS(Kind.INTEGER), SEED(Kind.BIGINT);

        final Kind kind;

        Out(Kind kind) {
            this.kind = kind;
        }
    }

    enum Kind {
        TEXT("STRING"), INTEGER("INT or BIGINT"), BIGINT("BIGINT"), REAL("FLOAT or DOUBLE");

        final String sql;

        Kind(String sql) {
            this.sql = sql;
        }

        boolean accepts(LogicalType t) {
            switch (this) {
                case TEXT: return t.is(LogicalTypeFamily.CHARACTER_STRING);
                case INTEGER: return t.is(LogicalTypeRoot.INTEGER) || t.is(LogicalTypeRoot.BIGINT);
                case BIGINT: return t.is(LogicalTypeRoot.BIGINT);
                default: return t.is(LogicalTypeRoot.FLOAT) || t.is(LogicalTypeRoot.DOUBLE);
            }
        }
    }

    private final In[] inputs;          // [column] role of input column i > 0 (index 0 is the prompt)
    private final LogicalType[] inputTypes;
    private final Out[] outputs;        // [column] role of output column i
    private final LogicalType[] outputTypes;

    private RowBinding(In[] inputs, LogicalType[] inputTypes, Out[] outputs, LogicalType[] outputTypes) {
        this.inputs = inputs;
        this.inputTypes = inputTypes;
        this.outputs = outputs;
        this.outputTypes = outputTypes;
    }

    /** @throws ValidationException naming the column and what is offered */
    static RowBinding of(String model, ResolvedSchema input, ResolvedSchema output) {
        List<Column> in = input.getColumns();
        if (in.isEmpty() || !Kind.TEXT.accepts(in.get(0).getDataType().getLogicalType())) {
            throw new ValidationException("model " + model + ": the first INPUT column must be the prompt, a STRING; "
                    + "got " + (in.isEmpty() ? "no input columns" : in.get(0).getName() + " "
                    + in.get(0).getDataType()));
        }
        In[] inputs = new In[in.size()];
        LogicalType[] inputTypes = new LogicalType[in.size()];
        inputTypes[0] = in.get(0).getDataType().getLogicalType();
        for (int i = 1; i < in.size(); i++) {
            Column c = in.get(i);
            In role = role(In.class, c.getName());
            if (role == null) {
                throw new ValidationException("model " + model + ": unknown INPUT column " + c.getName()
                        + "; after the prompt, r1 takes " + offered(In.values()));
            }
            LogicalType t = c.getDataType().getLogicalType();
            if (!role.kind.accepts(t)) {
                throw new ValidationException("model " + model + ": INPUT column " + c.getName() + " must be "
                        + role.kind.sql + ", got " + t);
            }
            inputs[i] = role;
            inputTypes[i] = t;
        }
        List<Column> out = output.getColumns();
        if (out.isEmpty()) {
            throw new ValidationException("model " + model + ": no OUTPUT columns; r1 offers " + offered(Out.values()));
        }
        Out[] outputs = new Out[out.size()];
        LogicalType[] outputTypes = new LogicalType[out.size()];
        for (int i = 0; i < out.size(); i++) {
            Column c = out.get(i);
            Out role = role(Out.class, c.getName());
            if (role == null) {
                throw new ValidationException("model " + model + ": unknown OUTPUT column " + c.getName()
                        + "; r1 offers " + offered(Out.values()));
            }
            LogicalType t = c.getDataType().getLogicalType();
            if (!role.kind.accepts(t)) {
                throw new ValidationException("model " + model + ": OUTPUT column " + c.getName() + " must be "
                        + role.kind.sql + ", got " + t + "; r1 offers " + offered(Out.values()));
            }
            outputs[i] = role;
            outputTypes[i] = t;
        }
        return new RowBinding(inputs, inputTypes, outputs, outputTypes);
    }

    private static <E extends Enum<E>> E role(Class<E> roles, String column) {
        for (E e : roles.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(column)) return e;
        }
        return null;
    }

    private static String offered(Enum<?>[] roles) {
        return java.util.Arrays.stream(roles).map(r -> r.name().toLowerCase(Locale.ROOT) + " "
                + (r instanceof In i ? i.kind.sql : ((Out) r).kind.sql)).collect(Collectors.joining(", "));
    }

    boolean binds(In role) {
        for (In r : inputs) if (r == role) return true;
        return false;
    }

    /**
     * The row as a prompt event. Without an id column the id is derived from the prompt (and system prompt), so
     * the default seed, a hash of the id, depends on the text alone and a replay reproduces the result.
     */
    PromptEvent event(RowData row) {
        String prompt = row.isNullAt(0) ? "" : row.getString(0).toString();
        String id = null, system = null;
        GenerationParams.Builder p = GenerationParams.newBuilder();
        boolean params = false;
        for (int i = 1; i < inputs.length; i++) {
            if (row.isNullAt(i)) continue;
            switch (inputs[i]) {
                case ID: id = row.getString(i).toString(); break;
                case SYSTEM_PROMPT: system = row.getString(i).toString(); break;
                case SEED: p.setSeed(integer(row, i)); params = true; break;
                case MAX_TOKENS: p.setMaxTokens(clampInt(integer(row, i))); params = true; break;
                case MAX_REASONING_TOKENS: p.setMaxReasoningTokens(clampInt(integer(row, i))); params = true; break;
                case TEMPERATURE: p.setTemperature((float) real(row, i)); params = true; break;
                case TOP_P: p.setTopP((float) real(row, i)); params = true; break;
                default: throw new IllegalStateException(inputs[i].name());
            }
        }
        if (id == null && !binds(In.ID)) id = textId(system, prompt);
        return PromptEvent.newBuilder()
                .setId(id == null ? "" : id)
                .setPrompt(prompt)
                .setSystem(system)
                .setParams(params ? p.build() : null)
                .setCreatedAt(java.time.Instant.EPOCH)
                .build();
    }

    /** {@code sql-} and the hash of system prompt and prompt, hex. */
    static String textId(String system, String prompt) {
        return "sql-" + Long.toHexString(Seeds.ofEventId((system == null ? "" : system) + '\u0000' + prompt));
    }

    private long integer(RowData row, int i) {
        return inputTypes[i].is(LogicalTypeRoot.BIGINT) ? row.getLong(i) : row.getInt(i);
    }

    /** Out-of-range values stay out of range (and get refused by validation) instead of wrapping. */
    private static int clampInt(long v) {
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
    }

    private double real(RowData row, int i) {
        return inputTypes[i].is(LogicalTypeRoot.DOUBLE) ? row.getDouble(i) : row.getFloat(i);
    }

    /** The result projected onto the model's OUTPUT columns. */
    RowData output(InferenceResult r) {
        GenericRowData row = new GenericRowData(outputs.length);
        for (int i = 0; i < outputs.length; i++) {
            switch (outputs[i]) {
                case REASONING: row.setField(i, text(r.getReasoning())); break;
                case ANSWER: row.setField(i, text(r.getAnswer())); break;
                case FINISH_REASON: row.setField(i, text(r.getFinishReason().name())); break;
                case ERROR: row.setField(i, text(r.getError())); break;
                case PROMPT_TOKENS: row.setField(i, number(i, r.getPromptTokens())); break;
                case REASONING_TOKENS: row.setField(i, number(i, r.getReasoningTokens())); break;
                case ANSWER_TOKENS: row.setField(i, number(i, r.getAnswerTokens())); break;
                case TTFT_MS: row.setField(i, number(i, r.getTimeToFirstTokenMicros() / 1000)); break;
                case TOTAL_MS: row.setField(i, number(i, r.getTotalMicros() / 1000)); break;
                case SEED: row.setField(i, r.getSeed()); break;
                default: throw new IllegalStateException(outputs[i].name());
            }
        }
        return row;
    }

    private static StringData text(String s) {
        return s == null ? null : StringData.fromBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    private Object number(int column, long v) {
        return outputTypes[column].is(LogicalTypeRoot.BIGINT) ? (Object) v : (Object) (int) v;
    }

    /** The OUTPUT column names, for messages. */
    List<String> outputNames() {
        List<String> l = new ArrayList<>();
        for (Out o : outputs) l.add(o.name().toLowerCase(Locale.ROOT));
        return l;
    }
}
