package dev.r1flink.sql;

import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.PredictFunction;

import java.util.Collection;

/** {@code 'async' = 'false'}: the asynchronous function, one row at a time (no batching: use it for checks only). */
public final class R1SyncPredictFunction extends PredictFunction {

    private static final long serialVersionUID = 1L;

    private final R1PredictFunction async;

    R1SyncPredictFunction(R1PredictFunction async) {
        this.async = async;
    }

    @Override
    public void open(FunctionContext context) throws Exception {
        async.open(context);
    }

    @Override
    public Collection<RowData> predict(RowData row) {
        return async.asyncPredict(row).join();
    }

    @Override
    public void close() throws Exception {
        async.close();
    }
}
