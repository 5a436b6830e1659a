package dev.r1flink.engine;

import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.Vocabulary;

import java.util.Arrays;

/**
 * The model's own tokenizer as the engine sees it, with DeepSeek-R1's chat template:
 * {@code <BOS>{system}<｜User｜>{prompt}<｜Assistant｜><think>\n}. User and system text are encoded with special
 * tokens <em>not</em> parsed, so a prompt cannot forge a turn marker; only {@code raw} requests parse them. A
 * vocabulary without R1's turn tokens (e.g. a synthesized test model) gets the prompt text alone.
 */
public final class BpeTokenCodec implements TokenCodec {
    private final BpeTokenizer tokenizer;
    private final Vocabulary vocab;
    private final byte[][] pieces;    // [vocab] bytes of each token, copied once: decoding allocates nothing
    private final int user;
    private final int assistant;
    private final int thinkStart;
    private final int thinkEnd;

    public BpeTokenCodec(BpeTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.vocab = tokenizer.vocabulary();
        this.pieces = new byte[vocab.size()][];
        for (int i = 0; i < pieces.length; i++) {
            pieces[i] = tokenizer.tokenBytes(i);
        }
        this.user = vocab.tokenId("<｜User｜>");
        this.assistant = vocab.tokenId("<｜Assistant｜>");
        this.thinkStart = vocab.tokenId("<think>");
        this.thinkEnd = vocab.tokenId("</think>");
    }

    public BpeTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public int[] encodePrompt(GenerationRequest request, boolean thinkPrefix) {
        if (request.raw()) {
            return tokenizer.encode(request.prompt(), vocab.addBos(), true);
        }
        IntBuf out = new IntBuf();
        if (vocab.addBos() && vocab.bos() >= 0) {
            out.add(vocab.bos());
        }
        if (request.system() != null && !request.system().isEmpty()) {
            out.addAll(tokenizer.encode(request.system()));
        }
        if (user >= 0) out.add(user);
        out.addAll(tokenizer.encode(request.prompt()));
        if (assistant >= 0) out.add(assistant);
        if (thinkPrefix && thinkStart >= 0) {
            out.add(thinkStart);
            out.addAll(tokenizer.encode("\n"));
        }
        return out.toArray();
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

    private static final class IntBuf {
        int[] a = new int[64];
        int n;

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        void addAll(int[] vs) {
            for (int v : vs) add(v);
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
