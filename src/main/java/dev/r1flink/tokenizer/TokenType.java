package dev.r1flink.tokenizer;

/**
 * Token types as stored in {@code tokenizer.ggml.token_type} (llama.cpp's {@code llama_token_type}).
 *
 * <p>What each type means for this tokenizer:
 * <ul>
 *   <li>{@link #NORMAL}: byte-level BPE text; decodes through the GPT-2 byte mapping.</li>
 *   <li>{@link #CONTROL}: {@code <｜User｜>}, end of sentence, ...; found in text only when special tokens are parsed,
 *       decodes to its text only when asked for.</li>
 *   <li>{@link #USER_DEFINED}: added tokens such as {@code <think>}; always split out of text and always decoded
 *       as their text.</li>
 *   <li>{@link #UNKNOWN}: treated like {@link #CONTROL}.</li>
 *   <li>{@link #UNUSED}, {@link #BYTE}, {@link #UNDEFINED}: never produced by encoding, decode to nothing.</li>
 * </ul>
 */
public enum TokenType {
    UNDEFINED(0),
    NORMAL(1),
    UNKNOWN(2),
    CONTROL(3),
    USER_DEFINED(4),
    UNUSED(5),
    BYTE(6);

    private static final TokenType[] BY_ID = values();

    public final int id;

    TokenType(int id) {
        this.id = id;
    }

    /** The type stored as {@code id}; unknown ids are {@link #UNDEFINED}, as in llama.cpp. */
    public static TokenType fromId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : UNDEFINED;
    }
}
