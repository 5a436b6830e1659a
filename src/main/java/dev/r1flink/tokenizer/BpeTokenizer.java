package dev.r1flink.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Byte-level BPE tokenizer over a {@link Vocabulary}, giving the same tokens as llama.cpp's {@code llama_tokenize}
 * (and Hugging Face's tokenizer) for the pre-tokenizers of {@link PreTokenizer}.
 *
 * <pre>{@code
 * BpeTokenizer tokenizer = new BpeTokenizer(Vocabulary.load(path));
 * int[] ids = tokenizer.encode("Hello world", false, false);   // [9707, 1879]
 * String text = tokenizer.decode(ids);                          // "Hello world"
 * }</pre>
 *
 * <p>Encoding, in order:
 * <ol>
 *   <li>Special tokens are split out of the text, longest first. {@link TokenType#USER_DEFINED} tokens
 *       ({@code <think>}, {@code </think>}) always are; {@link TokenType#CONTROL} ones ({@code <｜User｜>}) only with
 *       {@code parseSpecial}, so text from a user cannot smuggle in control tokens.</li>
 *   <li>Each remaining stretch of text is split into words by the {@link PreTokenizer} named in the vocabulary.</li>
 *   <li>Each word's UTF-8 bytes start as one symbol per byte; adjacent symbols are merged lowest merge rank first
 *       (leftmost on ties) until no adjacent pair has a merge. A priority queue over a linked list of symbols keeps
 *       this O(n log n) in the word length.</li>
 * </ol>
 *
 * <p>Decoding maps normal tokens back to bytes through the GPT-2 byte mapping and user-defined tokens to their text.
 * Control tokens decode to nothing unless {@code special} is set, as llama.cpp's {@code llama_token_to_piece}: a
 * model's {@code <｜end▁of▁sentence｜>} should not show up in its answer, but a debugging tool may want to see it.
 * No clean-up of spaces before punctuation is done, so {@code decode(encode(text)) == text} for every text.
 * Immutable and thread-safe.
 */
public final class BpeTokenizer {

    private final Vocabulary vocab;
    private final PreTokenizer preTokenizer;
    private final int[] byteTokens;   // [256] byte -> token of its single GPT-2 char, or -1
    private final byte[][] pieces;    // [n] bytes a token decodes to with special=false
    private final int[] userDefined;  // specials split out even when special tokens are not parsed
    private final int[] allSpecial;   // all specials, longest first

    public BpeTokenizer(Vocabulary vocab) {
        this(vocab, PreTokenizer.forName(vocab.pre()));
    }

    public BpeTokenizer(Vocabulary vocab, PreTokenizer preTokenizer) {
        this.vocab = vocab;
        this.preTokenizer = preTokenizer;
        byteTokens = new int[256];
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = vocab.tokenId(String.valueOf(ByteUnicode.toChar(b)));
        }
        int n = vocab.size();
        pieces = new byte[n][];
        for (int id = 0; id < n; id++) {
            pieces[id] = switch (vocab.tokenType(id)) {
                case NORMAL -> decodeByteLevel(vocab.tokenText(id));
                case USER_DEFINED -> vocab.tokenText(id).getBytes(StandardCharsets.UTF_8);
                default -> new byte[0];
            };
        }
        allSpecial = vocab.specialTokens();
        userDefined = Arrays.stream(allSpecial).filter(id -> vocab.tokenType(id) == TokenType.USER_DEFINED).toArray();
    }

    /** Loads the vocabulary of a GGUF file and builds its tokenizer. */
    public static BpeTokenizer load(java.nio.file.Path gguf) throws java.io.IOException {
        return new BpeTokenizer(Vocabulary.load(gguf));
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    public PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    // ---- encode ----

    /**
     * Tokens of {@code text}.
     *
     * @param addBos       start with the BOS token (whatever {@link Vocabulary#addBos()} says)
     * @param parseSpecial recognise control tokens written in the text; user-defined ones are recognised anyway
     */
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (addBos) {
            out.add(vocab.bos());
        }
        encodeInto(text, parseSpecial, out);
        return out.toArray();
    }

    /** Tokens of {@code text} without BOS, control tokens not parsed: what a user's message becomes. */
    public int[] encode(String text) {
        return encode(text, false, false);
    }

    void encodeInto(String text, boolean parseSpecial, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        // Fragments: token >= 0 for a special token, else the raw text [start, end).
        List<int[]> fragments = new ArrayList<>();
        fragments.add(new int[] {-1, 0, text.length()});
        for (int special : parseSpecial ? allSpecial : userDefined) {
            String st = vocab.tokenText(special);
            if (text.indexOf(st) < 0) {
                continue;
            }
            List<int[]> next = new ArrayList<>(fragments.size() + 4);
            for (int[] f : fragments) {
                if (f[0] >= 0) {
                    next.add(f);
                    continue;
                }
                int pos = f[1];
                int end = f[2];
                while (pos < end) {
                    int match = text.indexOf(st, pos);
                    if (match < 0 || match + st.length() > end) {
                        break;
                    }
                    if (match > pos) {
                        next.add(new int[] {-1, pos, match});
                    }
                    next.add(new int[] {special, match, match + st.length()});
                    pos = match + st.length();
                }
                if (pos < end) {
                    next.add(new int[] {-1, pos, end});
                }
            }
            fragments = next;
        }
        Merger merger = new Merger();
        for (int[] f : fragments) {
            if (f[0] >= 0) {
                out.add(f[0]);
            } else {
                for (String word : preTokenizer.split(text.substring(f[1], f[2]))) {
                    encodeWord(word, merger, out);
                }
            }
        }
    }

    /** BPE of one pre-tokenized word, special tokens not looked for (for tests against a reference merge loop). */
    int[] encodeWord(String word) {
        IntList out = new IntList(word.length());
        encodeWord(word, new Merger(), out);
        return out.toArray();
    }

    private void encodeWord(String word, Merger merger, IntList out) {
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        if (preTokenizer.ignoreMerges()) {
            int whole = vocab.tokenId(ByteUnicode.encode(word));
            if (whole >= 0) {
                out.add(whole);
                return;
            }
        }
        merger.merge(utf8, out);
    }

    /**
     * The merge loop over one word. Symbols form a linked list over the word's bytes; the queue holds candidate
     * pairs keyed (rank << 32 | left index), so the lowest rank pops first and ties go to the leftmost pair. An entry
     * is stale when its left symbol was merged away or the pair at that position no longer has that rank.
     */
    private final class Merger {
        private int[] id = new int[64];   // [n] token of each symbol, -1 if its byte has no token
        private int[] prev = new int[64]; // [n]
        private int[] next = new int[64]; // [n]; -1 ends the list
        private boolean[] dead = new boolean[64];
        private long[] heap = new long[128];
        private int heapSize;

        void merge(byte[] bytes, IntList out) {
            int n = bytes.length;
            if (id.length < n) {
                int cap = Integer.highestOneBit(n) << 1;
                id = new int[cap];
                prev = new int[cap];
                next = new int[cap];
                dead = new boolean[cap];
            }
            for (int i = 0; i < n; i++) {
                id[i] = byteTokens[bytes[i] & 0xFF];
                prev[i] = i - 1;
                next[i] = i + 1 < n ? i + 1 : -1;
                dead[i] = false;
            }
            heapSize = 0;
            for (int i = 0; i + 1 < n; i++) {
                offer(i, i + 1);
            }
            while (heapSize > 0) {
                long top = poll();
                int rank = (int) (top >>> 32);
                int left = (int) top;
                int right = next[left];
                if (dead[left] || right < 0) {
                    continue;
                }
                long m = pairMerge(left, right);
                if (m < 0 || (int) (m >>> 32) != rank) {
                    continue; // stale: one side changed since this pair was queued
                }
                id[left] = (int) m;
                dead[right] = true;
                next[left] = next[right];
                if (next[right] >= 0) {
                    prev[next[right]] = left;
                }
                if (prev[left] >= 0) {
                    offer(prev[left], left);
                }
                if (next[left] >= 0) {
                    offer(left, next[left]);
                }
            }
            for (int i = 0; i >= 0; i = next[i]) {
                if (id[i] >= 0) {
                    out.add(id[i]); // a byte without a token is dropped, as llama.cpp does
                }
            }
        }

        private long pairMerge(int left, int right) {
            return id[left] < 0 || id[right] < 0 ? -1L : vocab.merge(id[left], id[right]);
        }

        private void offer(int left, int right) {
            long m = pairMerge(left, right);
            if (m < 0) {
                return;
            }
            long key = (m & 0xFFFFFFFF00000000L) | left;
            if (heapSize == heap.length) {
                heap = Arrays.copyOf(heap, heapSize * 2);
            }
            // sift up
            int i = heapSize++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= key) {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = key;
        }

        private long poll() {
            long top = heap[0];
            long last = heap[--heapSize];
            int i = 0;
            int half = heapSize >>> 1;
            while (i < half) {
                int child = 2 * i + 1;
                if (child + 1 < heapSize && heap[child + 1] < heap[child]) {
                    child++;
                }
                if (last <= heap[child]) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = last;
            return top;
        }
    }

    // ---- decode ----

    /**
     * The bytes token {@code id} stands for: may be part of a UTF-8 character. Control tokens give their text only
     * with {@code special}; unused and byte-type tokens give nothing.
     */
    public byte[] tokenBytes(int id, boolean special) {
        TokenType t = vocab.tokenType(id);
        if (special && (t == TokenType.CONTROL || t == TokenType.UNKNOWN)) {
            return vocab.tokenText(id).getBytes(StandardCharsets.UTF_8);
        }
        return pieces[id].clone();
    }

    /** {@link #tokenBytes(int, boolean)} without control token texts. */
    public byte[] tokenBytes(int id) {
        return tokenBytes(id, false);
    }

    /** Text of {@code ids}; invalid UTF-8 becomes U+FFFD. Control tokens give their text only with {@code special}. */
    public String decode(int[] ids, boolean special) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            appendPiece(id, special, buf);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** Text of {@code ids}, control tokens left out. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /** The text of one token for display (a partial UTF-8 character shows as U+FFFD). */
    public String tokenPiece(int id, boolean special) {
        return new String(tokenBytes(id, special), StandardCharsets.UTF_8);
    }

    /** A streaming decoder that emits whole characters only. */
    public Detokenizer detokenizer(boolean special) {
        return new Detokenizer(this, special);
    }

    void appendPiece(int id, boolean special, ByteArrayOutputStream out) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " out of range [0, " + pieces.length + ")");
        }
        TokenType t = vocab.tokenType(id);
        if (special && (t == TokenType.CONTROL || t == TokenType.UNKNOWN)) {
            out.writeBytes(vocab.tokenText(id).getBytes(StandardCharsets.UTF_8));
        } else {
            out.writeBytes(pieces[id]);
        }
    }

    /**
     * Bytes of a byte-level BPE string. A char outside the GPT-2 mapping (which no converted vocabulary has in a
     * normal token) is kept as its own UTF-8 bytes; llama.cpp would write an {@code [UNK_BYTE_..]} marker.
     */
    private static byte[] decodeByteLevel(String text) {
        byte[] out = new byte[text.length()];
        int n = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int b = ByteUnicode.toByte(c);
            if (b >= 0) {
                out[n++] = (byte) b;
            } else {
                int cp = text.codePointAt(i);
                byte[] raw = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                out = Arrays.copyOf(out, out.length + raw.length);
                System.arraycopy(raw, 0, out, n, raw.length);
                n += raw.length;
                i += Character.charCount(cp) - 1;
            }
        }
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    /** Growable int array. */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        void addAll(int[] vs) {
            for (int v : vs) {
                add(v);
            }
        }

        int size() {
            return n;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
