package dev.r1flink.job;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.YamlParserUtils;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A job definition file ({@code jobs/*.yaml}): {@link JobOptions} and Flink options, nested or dotted, e.g.
 *
 * <pre>
 * kafka:
 *   bootstrap-servers: localhost:9092
 * model:
 *   path: /models/DeepSeek-R1-Distill-Qwen-1.5B-Q8_0.gguf
 * parallelism.default: 2
 * </pre>
 *
 * Overrides ({@code key=value}, from the command line) win over the file.
 */
public final class JobDefinition {

    private JobDefinition() {
    }

    public static Configuration load(File file, Map<String, String> overrides) throws IOException {
        Map<String, String> flat = new LinkedHashMap<>();
        if (file != null) {
            Map<String, Object> yaml;
            try {
                yaml = YamlParserUtils.loadYamlFile(file);
            } catch (Exception e) {
                throw new IOException("cannot read job definition " + file + ": " + e.getMessage(), e);
            }
            flatten("", yaml, flat);
        }
        flat.putAll(overrides);
        return Configuration.fromMap(flat);
    }

    /** Parses {@code key=value} strings. */
    public static Map<String, String> overrides(List<String> pairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String p : pairs) {
            int eq = p.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("expected key=value, got \"" + p + "\"");
            m.put(p.substring(0, eq).trim(), p.substring(eq + 1).trim());
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    private static void flatten(String prefix, Map<String, Object> m, Map<String, String> out) {
        for (Map.Entry<String, Object> e : m.entrySet()) {
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            Object v = e.getValue();
            if (v instanceof Map) {
                flatten(key, (Map<String, Object>) v, out);
            } else if (v instanceof List) {
                List<String> items = new ArrayList<>();
                for (Object o : (List<Object>) v) items.add(String.valueOf(o));
                out.put(key, items.stream().collect(Collectors.joining(";")));
            } else if (v != null) {
                out.put(key, String.valueOf(v));
            }
        }
    }
}
