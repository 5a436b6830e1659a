package dev.r1flink.tokenizer;

import dev.r1flink.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * A byte-level BPE vocabulary ({@code tokenizer.ggml.model = gpt2}) read from GGUF metadata: token texts and types,
 * merge ranks, special token ids, the pre-tokenizer name and the chat template.
 *
 * <pre>{@code
 * Vocabulary vocab = Vocabulary.load(Path.of("DeepSeek-R1-Distill-Qwen-1.5B-Q8_0.gguf"));
 * int think = vocab.tokenId("<think>");       // 151648, or -1 if absent
 * BpeTokenizer tokenizer = new BpeTokenizer(vocab);
 * }</pre>
 *
 * <p>Loading follows llama.cpp's {@code llama_vocab::load} where it changes what tokens mean: empty token texts become
 * {@code [EMPTY_<id>]}; tokens whose text marks an end of turn or fill-in-the-middle ({@code <|im_end|>},
 * {@code <｜end▁of▁sentence｜>}, {@code <|fim_pad|>}, ...) are forced to {@link TokenType#CONTROL}; the
 * end-of-generation set is the EOS and EOT tokens plus those texts. Immutable and thread-safe once built.
 */
public final class Vocabulary {

    public static final String KEY_MODEL = "tokenizer.ggml.model";
    public static final String KEY_PRE = "tokenizer.ggml.pre";
    public static final String KEY_TOKENS = "tokenizer.ggml.tokens";
    public static final String KEY_TOKEN_TYPE = "tokenizer.ggml.token_type";
    public static final String KEY_MERGES = "tokenizer.ggml.merges";
    public static final String KEY_BOS_ID = "tokenizer.ggml.bos_token_id";
    public static final String KEY_EOS_ID = "tokenizer.ggml.eos_token_id";
    public static final String KEY_EOT_ID = "tokenizer.ggml.eot_token_id";
    public static final String KEY_PAD_ID = "tokenizer.ggml.padding_token_id";
    public static final String KEY_ADD_BOS = "tokenizer.ggml.add_bos_token";
    public static final String KEY_CHAT_TEMPLATE = "tokenizer.chat_template";

    /** Texts llama.cpp takes as end of turn when no {@code eot_token_id} is given (first one found wins). */
    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>");
    /** Texts that end generation whatever the metadata says (llama.cpp's {@code special_eog_ids}). */
    private static final Set<String> EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>");
    /** Fill-in-the-middle pad, repo and file separator tokens: control tokens that also end generation. */
    private static final Set<String> FIM_EOG_TEXTS = Set.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>",
            "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>");
    /** Other fill-in-the-middle tokens llama.cpp forces to CONTROL. */
    private static final Set<String> FIM_TEXTS = Set.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
            "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>",
            "<SUF>", "▁<SUF>", "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
            "<|eom_id|>");

    private final String model;
    private final String pre;
    private final String[] tokens;          // [n] token text as stored (byte-level BPE chars for NORMAL tokens)
    private final TokenType[] types;        // [n]
    private final TokenIndex ids;           // token text -> id
    private final MergeTable merges;
    private final int mergeCount;
    private final int droppedMerges;
    private final int bos;
    private final int eos;
    private final int eot;
    private final int pad;
    private final boolean addBos;
    private final String chatTemplate;
    private final boolean[] endOfGeneration; // [n]
    private final int[] specialTokens;       // ids split out of text before BPE, longest text first

    private Vocabulary(GgufFile gguf) {
        model = gguf.getString(KEY_MODEL);
        if (!"gpt2".equals(model)) {
            throw new IllegalArgumentException(gguf.path() + ": " + KEY_MODEL + " is '" + model
                    + "'; only byte-level BPE ('gpt2') vocabularies are supported");
        }
        pre = gguf.getString(KEY_PRE, "default");
        tokens = gguf.getStringArray(KEY_TOKENS).clone();
        int n = tokens.length;
        int[] rawTypes = gguf.has(KEY_TOKEN_TYPE) ? gguf.getIntArray(KEY_TOKEN_TYPE) : null;
        if (rawTypes != null && rawTypes.length != n) {
            throw new IllegalArgumentException(gguf.path() + ": " + KEY_TOKEN_TYPE + " has " + rawTypes.length
                    + " entries for " + n + " tokens");
        }
        types = new TokenType[n];
        for (int i = 0; i < n; i++) {
            if (tokens[i].isEmpty()) {
                tokens[i] = "[EMPTY_" + i + "]";
            }
            types[i] = rawTypes == null ? TokenType.NORMAL : TokenType.fromId(rawTypes[i]);
        }
        ids = new TokenIndex(tokens);

        String[] mergeStrings = gguf.getStringArray(KEY_MERGES);
        merges = new MergeTable(mergeStrings.length);
        int dropped = 0;
        for (int rank = 0; rank < mergeStrings.length; rank++) {
            String merge = mergeStrings[rank];
            int space = merge.indexOf(' ', 1);
            int left = space < 0 ? -1 : ids.find(merge, 0, space);
            int right = space < 0 ? -1 : ids.find(merge, space + 1, merge.length());
            int result = space < 0 ? -1 : ids.findWithout(merge, space);
            // A merge whose parts or result are not tokens cannot produce a token; converted vocabularies have none.
            if (left < 0 || right < 0 || result < 0) {
                dropped++;
                continue;
            }
            merges.putIfAbsent(left, right, rank, result);
        }
        mergeCount = mergeStrings.length;
        droppedMerges = dropped;

        bos = specialId(gguf, KEY_BOS_ID, 11);
        eos = specialId(gguf, KEY_EOS_ID, 11);
        pad = specialId(gguf, KEY_PAD_ID, -1);
        int eotId = specialId(gguf, KEY_EOT_ID, -1);
        addBos = gguf.getBoolean(KEY_ADD_BOS, pre.equals("llama-bpe") || pre.equals("llama3") || pre.equals("llama-v3"));
        chatTemplate = gguf.getString(KEY_CHAT_TEMPLATE, null);

        if (eotId < 0) {
            for (String t : EOT_TEXTS) {
                if (ids.find(t) >= 0) {
                    eotId = ids.find(t);
                    break;
                }
            }
        }
        eot = eotId;
        endOfGeneration = new boolean[n];
        for (Set<String> texts : List.of(EOG_TEXTS, FIM_EOG_TEXTS, FIM_TEXTS, Set.copyOf(EOT_TEXTS))) {
            for (String t : texts) {
                int id = ids.find(t);
                if (id < 0) {
                    continue;
                }
                types[id] = TokenType.CONTROL;
                if (texts == EOG_TEXTS || texts == FIM_EOG_TEXTS) {
                    endOfGeneration[id] = true;
                }
            }
        }
        if (eos >= 0) {
            endOfGeneration[eos] = true;
        }
        if (eot >= 0) {
            endOfGeneration[eot] = true;
        }

        List<Integer> specials = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (types[i] == TokenType.CONTROL || types[i] == TokenType.USER_DEFINED || types[i] == TokenType.UNKNOWN) {
                specials.add(i);
            }
        }
        // Longest first so that "<｜end▁of▁sentence｜>" is taken before any shorter token inside it; ties by id.
        specials.sort((a, b) -> tokens[a].length() != tokens[b].length()
                ? Integer.compare(tokens[b].length(), tokens[a].length()) : Integer.compare(a, b));
        specialTokens = specials.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Reads the vocabulary of a GGUF file (model or vocab-only). */
    public static Vocabulary load(Path path) throws IOException {
        try (GgufFile gguf = GgufFile.open(path)) {
            return new Vocabulary(gguf);
        }
    }

    /** Reads the vocabulary from an open GGUF file's metadata. */
    public static Vocabulary from(GgufFile gguf) {
        return new Vocabulary(gguf);
    }

    /** An id key, or {@code defaultId} if absent; an id out of range is ignored as llama.cpp does. */
    private int specialId(GgufFile gguf, String key, int defaultId) {
        if (!gguf.has(key)) {
            return defaultId;
        }
        long id = gguf.getLong(key) & 0xFFFFFFFFL;
        return id < tokens.length ? (int) id : defaultId;
    }

    public int size() {
        return tokens.length;
    }

    /** {@code tokenizer.ggml.model}; always {@code gpt2}. */
    public String model() {
        return model;
    }

    /** {@code tokenizer.ggml.pre}, or {@code default} when absent. */
    public String pre() {
        return pre;
    }

    /** The token's text as stored: byte-level BPE chars ({@code Ġ} for a space) for normal tokens. */
    public String tokenText(int id) {
        return tokens[id];
    }

    public TokenType tokenType(int id) {
        return types[id];
    }

    /** The id of the token whose stored text is {@code text}, or -1. */
    public int tokenId(String text) {
        return ids.find(text);
    }

    public int bos() {
        return bos;
    }

    public int eos() {
        return eos;
    }

    /** End-of-turn token, or -1. For R1 models it is {@code <｜end▁of▁sentence｜>}, the same as {@link #eos()}. */
    public int eot() {
        return eot;
    }

    /** Padding token, or -1. */
    public int pad() {
        return pad;
    }

    /** {@code tokenizer.ggml.add_bos_token}: whether prompts should start with {@link #bos()}. */
    public boolean addBos() {
        return addBos;
    }

    /** {@code tokenizer.chat_template} (a Jinja template), or null. */
    public String chatTemplate() {
        return chatTemplate;
    }

    /** True for tokens that end generation: EOS, EOT, and end-of-turn or FIM separator tokens found by text. */
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && id < endOfGeneration.length && endOfGeneration[id];
    }

    /** Number of merges in the file. */
    public int mergeCount() {
        return mergeCount;
    }

    /** Merges skipped because a part or the result is not a token (0 for a well-formed vocabulary). */
    public int droppedMerges() {
        return droppedMerges;
    }

    /** Control, user-defined and unknown token ids, longest text first: the ones split out of raw text. */
    int[] specialTokens() {
        return specialTokens;
    }

    /** Merge rank of the adjacent pair (left, right) in the high 32 bits, merged token id in the low 32, or -1. */
    long merge(int left, int right) {
        return merges.get(left, right);
    }

    List<Integer> tokensOfType(TokenType type) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < types.length; i++) {
            if (types[i] == type) {
                out.add(i);
            }
        }
        return Collections.unmodifiableList(out);
    }

    @Override
    public String toString() {
        return "Vocabulary[" + model + ", pre=" + pre + ", " + tokens.length + " tokens, " + mergeCount
                + " merges, bos=" + bos + ", eos=" + eos + "]";
    }

    /**
     * Open-addressing hash map (left id, right id) -> (rank, merged id) on primitive arrays: the merge loop looks up
     * every adjacent pair, and boxed {@code Long} keys would make that the cost of tokenizing.
     */
    static final class MergeTable {
        private final long[] keys;   // [capacity] (left << 32 | right), or EMPTY
        private final long[] values; // [capacity] (rank << 32 | merged id)
        private final int mask;
        private static final long EMPTY = -1L;

        MergeTable(int expected) {
            int capacity = Integer.highestOneBit(Math.max(4, expected) * 2 - 1) << 1;
            keys = new long[capacity];
            values = new long[capacity];
            Arrays.fill(keys, EMPTY);
            mask = capacity - 1;
            shift = 64 - Integer.numberOfTrailingZeros(capacity);
        }

        private final int shift;

        /** Fibonacci hashing: the top bits of key * 2^64/phi. */
        private int slot(long key) {
            return (int) ((key * 0x9E3779B97F4A7C15L) >>> shift);
        }

        void putIfAbsent(int left, int right, int rank, int merged) {
            long key = ((long) left << 32) | (right & 0xFFFFFFFFL);
            int i = slot(key);
            while (keys[i] != EMPTY) {
                if (keys[i] == key) {
                    return; // the first (lowest) rank of a repeated merge wins
                }
                i = (i + 1) & mask;
            }
            keys[i] = key;
            values[i] = ((long) rank << 32) | (merged & 0xFFFFFFFFL);
        }

        long get(int left, int right) {
            long key = ((long) left << 32) | (right & 0xFFFFFFFFL);
            int i = slot(key);
            while (true) {
                long k = keys[i];
                if (k == key) {
                    return values[i];
                }
                if (k == EMPTY) {
                    return -1L;
                }
                i = (i + 1) & mask;
            }
        }
    }
}
