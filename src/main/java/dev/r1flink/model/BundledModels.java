package dev.r1flink.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * Models shipped inside the r1-flink jar, named by a {@code bundled:NAME} model path so that a job definition can
 * point at one on any machine (local demo, standalone cluster, containers) without a models folder.
 *
 * <pre>{@code
 * Path p = BundledModels.resolve("bundled:tiny-r1-arith");   // extracted once to a cache folder
 * Path q = BundledModels.resolve("/models/r1-7b-q4_k_m.gguf"); // any other path is returned as is
 * }</pre>
 *
 * <p>{@code tiny-r1-arith} is a 1.8M-parameter qwen2 model trained by {@code tools/train-tiny-r1}: it reasons through
 * arithmetic in R1's format ({@link #TINY_R1_ARITH_CAN}). It exists so the demo and the end-to-end tests show real
 * reasoning; real deployments point the model path at a real R1 GGUF.
 */
public final class BundledModels {

    public static final String SCHEME = "bundled:";
    public static final String DEFAULT = SCHEME + "tiny-r1-arith";
    private static final String RESOURCE_DIR = "/dev/r1flink/models/";
    /** Bundled name -> resource file. */
    private static final List<String[]> MODELS = List.of(
            new String[] {"tiny-r1-arith", "tiny-r1-arith-q8_0.gguf"},
            new String[] {"tiny-r1-arith-f32", "tiny-r1-arith-f32.gguf"});

    /** What tiny-r1-arith was trained to do (and nothing else), for people about to type their own prompts. */
    public static final String TINY_R1_ARITH_CAN = "a demo model that only does arithmetic: + and - of whole numbers up "
            + "to 6 digits (one-digit ones and negative results too), a number times a digit, products of two numbers up to 3 digits "
            + "(long multiplication), and word problems of the kind 'has 12 and gets 5 more', 'gives away 5', "
            + "'3 boxes of 12'; written as 'What is 12 * 4?', '12x4', '15 minus 29', 'Compute 250100+37' and the like";

    private BundledModels() {
    }

    /** A line saying what a bundled model can do, or null for any other model path. */
    public static String about(String modelPath) {
        return modelPath != null && modelPath.startsWith(SCHEME + "tiny-r1-arith")
                ? modelPath.substring(SCHEME.length()) + ": " + TINY_R1_ARITH_CAN + ". For real prompts point --model "
                        + "at a real R1 GGUF."
                : null;
    }

    public static List<String> names() {
        return MODELS.stream().map(m -> m[0]).toList();
    }

    /**
     * The file for a model path: {@code bundled:NAME} is extracted (once per jar content, atomically) under
     * {@code r1.model.cache} (default {@code java.io.tmpdir/r1-flink-models}); other paths are returned unchanged.
     *
     * @throws IllegalArgumentException naming the known models if {@code NAME} is not one of them
     */
    public static Path resolve(String modelPath) throws IOException {
        if (!modelPath.startsWith(SCHEME)) {
            return Path.of(modelPath);
        }
        String name = modelPath.substring(SCHEME.length());
        String file = MODELS.stream().filter(m -> m[0].equals(name)).map(m -> m[1]).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown bundled model '" + name + "' (bundled: "
                        + String.join(", ", names()) + ")"));
        try (InputStream in = BundledModels.class.getResourceAsStream(RESOURCE_DIR + file)) {
            if (in == null) {
                throw new IOException("bundled model " + file + " is missing from the classpath");
            }
            byte[] bytes = in.readAllBytes();
            Path dir = Path.of(System.getProperty("r1.model.cache",
                    Path.of(System.getProperty("java.io.tmpdir"), "r1-flink-models").toString()));
            // The content hash in the name keeps an older extracted copy from standing in for a newer jar's model.
            Path target = dir.resolve(Integer.toHexString(java.util.Arrays.hashCode(bytes)) + "-" + file);
            if (Files.isRegularFile(target) && Files.size(target) == bytes.length) {
                return target;
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, file, ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        }
    }
}
