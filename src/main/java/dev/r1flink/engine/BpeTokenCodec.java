package dev.r1flink.engine;

import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.ChatTemplate;
import dev.r1flink.tokenizer.Vocabulary;


/**
 * The model's own tokenizer as the engine sees it, with DeepSeek-R1's {@link ChatTemplate}:
 * {@code <BOS>{system}<｜User｜>{prompt}<｜Assistant｜><think>\n}. User and system text are encoded with special
 * tokens <em>not</em> parsed, so a prompt cannot forge a turn marker; only {@code raw} requests parse them. A
 * vocabulary without R1's turn tokens (not an R1 model) gets its prompt text alone.
 */
public final class BpeTokenCodec implements TokenCodec {
    private final BpeTokenizer tokenizer;
    private final Vocabulary vocab;
    private final byte[][] pieces;    // [vocab] bytes of each token, copied once: decoding allocates nothing
    private final ChatTemplate chat;  // null: not an R1 vocabulary
    private final int thinkStart;
    private final int thinkEnd;

    public BpeTokenCodec(BpeTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.vocab = tokenizer.vocabulary();
        this.pieces = new byte[vocab.size()][];
        for (int i = 0; i < pieces.length; i++) {
            pieces[i] = tokenizer.tokenBytes(i);
        }
        ChatTemplate t;
        try {
            t = new ChatTemplate(tokenizer);
        } catch (IllegalArgumentException notR1) {
            t = null;
        }
        this.chat = t;
        this.thinkStart = vocab.tokenId(ChatTemplate.THINK_TEXT);
        this.thinkEnd = vocab.tokenId(ChatTemplate.END_THINK_TEXT);
    }

    public BpeTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public int[] encodePrompt(GenerationRequest request, boolean thinkPrefix) {
        if (request.raw()) {
            return tokenizer.encode(request.prompt(), vocab.addBos(), true);
        }
        if (chat == null) {
            String text = request.system() == null ? request.prompt() : request.system() + request.prompt();
            return tokenizer.encode(text, vocab.addBos(), false);
        }
        return chat.apply(request.system(), request.prompt(), thinkPrefix);
    }

    @Override
    public int[] encode(String text) {
        return tokenizer.encode(text, false, true);
    }

    @Override
    public byte[] tokenBytes(int token) {
        return pieces[token];
    }

    @Override
    public boolean isEndOfGeneration(int token) {
        return vocab.isEndOfGeneration(token);
    }

    @Override
    public int thinkStart() {
        return thinkStart;
    }

    @Override
    public int thinkEnd() {
        return thinkEnd;
    }
}
