package dev.r1flink.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.r1flink.job.PromptCodec;
import dev.r1flink.job.avro.PromptEvent;

import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Prompt events from JSONL (one PromptEvent JSON object a line; blank lines and {@code #} comments skipped). */
public final class SamplePrompts {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SamplePrompts() {
    }

    public static List<PromptEvent> read(BufferedReader in, String source) throws IOException {
        List<PromptEvent> out = new ArrayList<>();
        String line;
        int n = 0;
        long now = System.currentTimeMillis();
        while ((line = in.readLine()) != null) {
            n++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) continue;
            try {
                JsonNode node = JSON.readTree(t);
                if (!node.isObject()) throw new IllegalArgumentException("not a JSON object");
                out.add(PromptCodec.fromJson((ObjectNode) node, now));
            } catch (IOException | IllegalArgumentException e) {
                throw new IOException(source + ":" + n + ": " + e.getMessage(), e);
            }
        }
        return out;
    }
}
