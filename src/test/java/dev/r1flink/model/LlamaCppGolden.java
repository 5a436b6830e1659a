package dev.r1flink.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One golden file written by {@code tools/llamacpp-reference/golden.mjs}: what llama.cpp does with one synthetic
 * model and one prompt. {@code steps[i]} is llama.cpp's top-k after the prompt plus {@code ids[0..i-1]}; the ids
 * are llama.cpp's own greedy choices ({@code mode = greedy}) or a given sequence ({@code forced}).
 *
 * @param model     how the model was made: {@code shape}, {@code type}, {@code seed}, {@code synth} command line
 * @param topIds    [steps][k] token ids, best first
 * @param topLogits [steps][k] ln(p / pmax) = logit - max logit, so 0 for the first entry
 */
public record LlamaCppGolden(Map<String, Object> reference, Map<String, Object> model, String mode, String prompt,
        int[] promptIds, int[] ids, int[][] topIds, float[][] topLogits) {

    public String shape() {
        return (String) model.get("shape");
    }

    public String type() {
        return (String) model.get("type");
    }

    public long seed() {
        return ((Number) model.get("seed")).longValue();
    }

    /** The vocab GGUF the model's tokenizer came from, relative to the shared data directory. */
    public String vocab() {
        return (String) model.get("vocab");
    }

    public int steps() {
        return ids.length;
    }

    public static LlamaCppGolden load(String resource) {
        try (InputStream in = LlamaCppGolden.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static LlamaCppGolden parse(String json) {
        Map<String, Object> root = (Map<String, Object>) new Json(json).value();
        List<Object> steps = (List<Object>) root.get("steps");
        int[][] topIds = new int[steps.size()][];
        float[][] topLogits = new float[steps.size()][];
        for (int s = 0; s < steps.size(); s++) {
            List<Object> step = (List<Object>) steps.get(s);
            topIds[s] = new int[step.size()];
            topLogits[s] = new float[step.size()];
            for (int j = 0; j < step.size(); j++) {
                List<Object> pair = (List<Object>) step.get(j);
                topIds[s][j] = ((Number) pair.get(0)).intValue();
                topLogits[s][j] = ((Number) pair.get(1)).floatValue();
            }
        }
        return new LlamaCppGolden((Map<String, Object>) root.get("reference"), (Map<String, Object>) root.get("model"),
                (String) root.get("mode"), (String) root.get("prompt"), ints(root.get("promptIds")),
                ints(root.get("ids")), topIds, topLogits);
    }

    @SuppressWarnings("unchecked")
    private static int[] ints(Object list) {
        return ((List<Object>) list).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }

    /** Just enough JSON for these files (objects, arrays, strings with escapes, numbers, true/false/null). */
    private static final class Json {
        private final String s;
        private int i;

        Json(String s) {
            this.s = s;
        }

        Object value() {
            skip();
            char c = s.charAt(i);
            switch (c) {
                case '{': {
                    i++;
                    Map<String, Object> m = new LinkedHashMap<>();
                    skip();
                    if (s.charAt(i) == '}') {
                        i++;
                        return m;
                    }
                    while (true) {
                        skip();
                        String k = string();
                        skip();
                        expect(':');
                        m.put(k, value());
                        skip();
                        if (s.charAt(i++) == '}') {
                            return m;
                        }
                    }
                }
                case '[': {
                    i++;
                    List<Object> l = new ArrayList<>();
                    skip();
                    if (s.charAt(i) == ']') {
                        i++;
                        return l;
                    }
                    while (true) {
                        l.add(value());
                        skip();
                        if (s.charAt(i++) == ']') {
                            return l;
                        }
                    }
                }
                case '"':
                    return string();
                default:
                    if (s.startsWith("true", i)) {
                        i += 4;
                        return Boolean.TRUE;
                    }
                    if (s.startsWith("false", i)) {
                        i += 5;
                        return Boolean.FALSE;
                    }
                    if (s.startsWith("null", i)) {
                        i += 4;
                        return null;
                    }
                    int start = i;
                    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                        i++;
                    }
                    return Double.parseDouble(s.substring(start, i));
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': b.append('\n'); break;
                    case 't': b.append('\t'); break;
                    case 'r': b.append('\r'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: b.append(e);
                }
            }
        }

        private void expect(char c) {
            if (s.charAt(i) != c) {
                throw new IllegalArgumentException("expected '" + c + "' at " + i);
            }
            i++;
        }

        private void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }
}
