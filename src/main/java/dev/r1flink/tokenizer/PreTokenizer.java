package dev.r1flink.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the words that byte-level BPE merges within, as selected by {@code tokenizer.ggml.pre}.
 *
 * <pre>{@code
 * PreTokenizer pre = PreTokenizer.forName("deepseek-r1-qwen");
 * List<String> words = pre.split("Hello world!");   // ["Hello", " world", "!"]
 * }</pre>
 *
 * <p>A pre-tokenizer is a list of regexes applied one after the other, as llama.cpp's {@code unicode_regex_split}
 * and Hugging Face's {@code Sequence} of {@code Split(behavior=Isolated)} do: each regex splits every piece the
 * previous ones left, and the text between two matches becomes a piece of its own. The regexes are the ones llama.cpp
 * lists per {@code LLAMA_VOCAB_PRE_TYPE} (taken from each model's {@code tokenizer.json}), written for
 * {@link java.util.regex}:
 * <ul>
 *   <li>{@code \s} and {@code \S} are the Unicode White_Space property ({@link Pattern#UNICODE_CHARACTER_CLASS}), as
 *       in Hugging Face's regex engine and in llama.cpp (which maps non-ASCII white space to {@code \v} first).</li>
 *   <li>{@code \p{L} \p{N} \p{P} \p{S} \p{M}} are Java's general categories (Unicode 13 on JDK 17). llama.cpp uses
 *       its own, newer tables; code points assigned after Unicode 13 may split differently.</li>
 *   <li>Case-insensitive contractions are spelled {@code '[sS]|'[tT]|...}, llama.cpp's form, so that {@code 'ſ}
 *       (long s) is not a contraction.</li>
 *   <li>DeepSeek LLM's {@code \s+$} (white space at the end of a piece) is done by hand: as a regex it backtracks
 *       quadratically on a long run of spaces that is not at the end, and a prompt can be any text.</li>
 *   <li>Non-ASCII white space inside a literal class (DeepSeek LLM's {@code 　-。} and {@code ࠀ-一} ranges) matches
 *       here as the regex says; llama.cpp rewrites such code points to {@code \v} before matching, so they never
 *       match a literal class there. DeepSeek V3's {@code \p{S}} includes {@code ~} here, as in Unicode; llama.cpp's
 *       ASCII symbol table leaves it out. Both only matter for rare texts; the golden vectors agree.</li>
 * </ul>
 */
public final class PreTokenizer {

    /** Qwen2 / DeepSeek-R1-Distill-Qwen: like Llama 3 but one digit per word. */
    private static final String QWEN2 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Llama 3 (and R1-Distill-Llama): up to three digits per word. */
    private static final String LLAMA3 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /**
     * DeepSeek LLM's letter class: the cased letters its tokenizer.json lists (not all of \p{L}: no Armenian small
     * letters, for one), code point by code point.
     */
    private static final String DEEPSEEK_LLM_LETTERS = "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}"
            + "\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}"
            + "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}"
            + "\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
            + "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
            + "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}"
            + "\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}"
            + "\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
            + "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}"
            + "\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}"
            + "\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}"
            + "\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}"
            + "\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
            + "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
            + "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
            + "\\x{1E900}-\\x{1E943}";

    /** Marks the {@code \s+$} step, which {@link #split} does without a regex. */
    private static final String TRAILING_WHITESPACE = "\\s+$";

    /** DeepSeek LLM (7B/67B): newlines alone, letters, ASCII/full-width punctuation, trailing space, CJK, digits. */
    private static final String[] DEEPSEEK_LLM = {
            "[\\r\\n]",
            "\\s?[" + DEEPSEEK_LLM_LETTERS + "]+",
            "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
            TRAILING_WHITESPACE,
            "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
            "\\p{N}+",
    };

    /** DeepSeek V3 / R1 (671B): up to three digits, CJK and kana runs, then a GPT-4-like regex. */
    private static final String[] DEEPSEEK_V3 = {
            "\\p{N}{1,3}",
            "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                    + "| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    };

    private final String name;
    private final Pattern[] patterns;
    private final boolean ignoreMerges;

    private PreTokenizer(String name, boolean ignoreMerges, String... regexes) {
        this.name = name;
        this.ignoreMerges = ignoreMerges;
        this.patterns = new Pattern[regexes.length];
        for (int i = 0; i < regexes.length; i++) {
            // null marks the hand-written trailing white space step
            patterns[i] = regexes[i] == TRAILING_WHITESPACE ? null
                    : Pattern.compile(regexes[i], Pattern.UNICODE_CHARACTER_CLASS);
        }
    }

    /** The names {@link #forName} accepts. */
    public static List<String> supportedNames() {
        return List.of("qwen2", "deepseek-r1-qwen", "llama-bpe", "llama3", "llama-v3", "deepseek-llm", "deepseek-v3");
    }

    /**
     * The pre-tokenizer for a {@code tokenizer.ggml.pre} value, mapped as llama.cpp maps it.
     *
     * @throws IllegalArgumentException for a name not in {@link #supportedNames()}; llama.cpp would fall back to a
     *                                  default regex, which would silently give different tokens than the model saw
     */
    public static PreTokenizer forName(String pre) {
        String p = pre == null ? "" : pre.toLowerCase(Locale.ROOT);
        return switch (p) {
            case "qwen2", "deepseek-r1-qwen" -> new PreTokenizer(p, false, QWEN2);
            // Llama 3's tokenizer.json sets ignore_merges: a word that is a token is not merged up from bytes.
            case "llama-bpe", "llama3", "llama-v3" -> new PreTokenizer(p, true, LLAMA3);
            case "deepseek-llm" -> new PreTokenizer(p, false, DEEPSEEK_LLM);
            case "deepseek-v3" -> new PreTokenizer(p, false, DEEPSEEK_V3);
            default -> throw new IllegalArgumentException("unsupported tokenizer.ggml.pre '" + pre
                    + "'; supported: " + String.join(", ", supportedNames()));
        };
    }

    public String name() {
        return name;
    }

    /** True if a word that is itself a token is emitted as that token without running the merges. */
    public boolean ignoreMerges() {
        return ignoreMerges;
    }

    /** Splits {@code text} into words; concatenated they give {@code text} back. */
    public List<String> split(String text) {
        List<String> words = new ArrayList<>();
        if (text.isEmpty()) {
            return words;
        }
        // [n] piece end offsets (exclusive) into text; pieces are contiguous from 0.
        int[] ends = {text.length()};
        int n = 1;
        for (Pattern pattern : patterns) {
            int[] next = new int[Math.max(16, n * 2)];
            int m = 0;
            Matcher matcher = pattern == null ? null : pattern.matcher(text);
            int start = 0;
            for (int i = 0; i < n; i++) {
                int end = ends[i];
                if (matcher == null) {
                    // \s+$: the first match is the run of white space that ends the piece, if any.
                    int ws = end;
                    while (ws > start) {
                        int cp = Character.codePointBefore(text, ws);
                        if (!isWhiteSpace(cp)) {
                            break;
                        }
                        ws -= Character.charCount(cp);
                    }
                    if (ws > start && ws < end) {
                        next = add(next, m++, ws);
                    }
                    next = add(next, m++, end);
                    start = end;
                    continue;
                }
                // Default region bounds are opaque and anchoring: the piece is the whole input for this regex.
                matcher.region(start, end);
                int done = start;
                while (matcher.find()) {
                    if (matcher.end() == matcher.start()) {
                        continue; // none of the regexes can match empty; guard against a loop anyway
                    }
                    if (matcher.start() > done) {
                        next = add(next, m++, matcher.start());
                    }
                    next = add(next, m++, matcher.end());
                    done = matcher.end();
                }
                if (done < end) {
                    next = add(next, m++, end);
                }
                start = end;
            }
            ends = next;
            n = m;
        }
        int start = 0;
        for (int i = 0; i < n; i++) {
            words.add(text.substring(start, ends[i]));
            start = ends[i];
        }
        return words;
    }

    /** Unicode White_Space, what {@code \s} means under {@link Pattern#UNICODE_CHARACTER_CLASS}. */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    private static int[] add(int[] a, int i, int v) {
        if (i == a.length) {
            a = java.util.Arrays.copyOf(a, a.length * 2);
        }
        a[i] = v;
        return a;
    }

    @Override
    public String toString() {
        return "PreTokenizer[" + name + "]";
    }
}
