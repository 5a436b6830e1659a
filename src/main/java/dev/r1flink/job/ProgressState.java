package dev.r1flink.job;

import dev.r1flink.engine.Generation;
import dev.r1flink.engine.GenerationProgress;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.OperatorStateStore;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The progress of the generations an inference subtask has in flight, kept in operator state so that a restored
 * job continues each prompt from the tokens it had at the checkpoint instead of from its first token.
 *
 * <pre>{@code
 * progress = ProgressState.restore(ctx.getOperatorStateStore());   // initializeState
 * request = request.withResumeFrom(progress.claim(id));             // per re-delivered prompt (null: none saved)
 * progress.snapshot(inFlightGenerationsById);                        // snapshotState
 * }</pre>
 *
 * <p>Union list state: after a restore, at any parallelism, every subtask sees every saved progress, so a prompt
 * finds its progress wherever the async operator's own restored queue hands it. The restored prompts are all
 * re-submitted while the operator opens, before its first checkpoint, so what a subtask has not claimed by then
 * belongs to another subtask and is dropped at its first snapshot. A progress is verified by the engine against the
 * request (fingerprint), so a stale or foreign one costs a fresh start, never a wrong result.
 *
 * <p>Size: per in-flight prompt, 4 bytes per generated token plus 25 bytes and its id; 32 prompts of 4,096 tokens
 * are 513 KiB per subtask and checkpoint. On restore each subtask reads the union of all subtasks' entries.
 */
public final class ProgressState {

    private static final Logger LOG = LoggerFactory.getLogger(ProgressState.class);
    static final String STATE_NAME = "r1-generation-progress";
    private static final byte VERSION = 1;

    private final ListState<byte[]> state;
    private final Map<String, GenerationProgress> restored = new HashMap<>();
    private long bytesLastSnapshot;

    private ProgressState(ListState<byte[]> state) {
        this.state = state;
    }

    /** Registers the state and reads what a restored checkpoint holds (the union over all former subtasks). */
    public static ProgressState restore(OperatorStateStore store, boolean isRestored) throws Exception {
        ListState<byte[]> s = store.getUnionListState(
                new ListStateDescriptor<>(STATE_NAME, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        ProgressState p = new ProgressState(s);
        if (isRestored) {
            long tokens = 0;
            int unreadable = 0;
            for (byte[] b : s.get()) {
                Entry e;
                try {
                    e = decode(b);
                } catch (IOException bad) {
                    unreadable++; // its prompt starts over: slower, not wrong
                    continue;
                }
                GenerationProgress old = p.restored.get(e.id);
                if (old == null || old.step() < e.progress.step()) {
                    p.restored.put(e.id, e.progress);
                }
            }
            for (GenerationProgress g : p.restored.values()) tokens += g.step();
            LOG.info("restored the progress of {} generations ({} tokens); {} unreadable entries skipped",
                    p.restored.size(), tokens, unreadable);
        }
        return p;
    }

    /** The saved progress of prompt {@code id}, once (null if none); thread-safe with {@link #snapshot}. */
    public synchronized GenerationProgress claim(String id) {
        return restored.remove(id);
    }

    /** Number of restored progresses not claimed yet. */
    public synchronized int unclaimed() {
        return restored.size();
    }

    /**
     * Saves the progress of {@code inFlight} (prompt id -> its generation) and drops restored progress nobody
     * here claimed (see the class comment).
     */
    public synchronized void snapshot(Map<String, Generation> inFlight) throws Exception {
        List<byte[]> entries = new ArrayList<>(inFlight.size());
        long bytes = 0;
        for (Map.Entry<String, Generation> e : inFlight.entrySet()) {
            GenerationProgress p = e.getValue().progress();
            if (p == null || p.step() == 0) {
                continue;
            }
            byte[] b = encode(e.getKey(), p);
            bytes += b.length;
            entries.add(b);
        }
        state.update(entries);
        bytesLastSnapshot = bytes;
        if (!restored.isEmpty()) {
            restored.clear();
        }
    }

    /** Bytes of progress written by the last snapshot (the operator's own share of the checkpoint). */
    public synchronized long bytesLastSnapshot() {
        return bytesLastSnapshot;
    }

    /** Empties the state (progress checkpoints switched off). */
    public synchronized void clear() {
        state.clear();
        restored.clear();
    }

    record Entry(String id, GenerationProgress progress) {
    }

    static byte[] encode(String id, GenerationProgress p) {
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        int[] tokens = p.tokens();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 + 4 + idBytes.length + 8 + 8 + 4 + 4 * tokens.length);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeInt(idBytes.length);
            out.write(idBytes);
            out.writeLong(p.fingerprint());
            out.writeLong(p.seed());
            out.writeInt(tokens.length);
            for (int t : tokens) out.writeInt(t);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static Entry decode(byte[] b) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
            byte v = in.readByte();
            if (v != VERSION) {
                throw new IOException("progress state entry of version " + v + "; this job reads version " + VERSION);
            }
            int idLength = in.readInt();
            if (idLength < 0 || idLength > b.length) throw new IOException("corrupt progress entry: id length " + idLength);
            byte[] id = in.readNBytes(idLength);
            long fingerprint = in.readLong();
            long seed = in.readLong();
            int n = in.readInt();
            if (n < 0 || n > b.length / 4) throw new IOException("corrupt progress entry: " + n + " tokens");
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = in.readInt();
            return new Entry(new String(id, StandardCharsets.UTF_8), new GenerationProgress(fingerprint, seed, tokens));
        }
    }
}
