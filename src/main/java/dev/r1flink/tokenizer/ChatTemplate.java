package dev.r1flink.tokenizer;

import java.util.List;
import java.util.Objects;

/**
 * The DeepSeek-R1 chat template, producing token ids directly:
 * {@code <｜begin▁of▁sentence｜>{system}<｜User｜>{prompt}<｜Assistant｜><think>\n}.
 *
 * <pre>{@code
 * ChatTemplate chat = new ChatTemplate(tokenizer);
 * int[] prompt = chat.apply("You are terse.", "Why is the sky blue?");   // ends with <think> \n
 * int[] noThink = chat.apply("", "Hi", false);                           // ends with <｜Assistant｜>
 * }</pre>
 *
 * <p>This is what R1's {@code tokenizer.chat_template} (and the R1-Distill ones) render with
 * {@code add_generation_prompt}: no spaces or newlines between the parts; the last system message is the system
 * prompt; a past assistant message is {@code <｜Assistant｜>} + its text after the last {@code </think>} +
 * {@code <｜end▁of▁sentence｜>}. Tool calls are not supported. The forced {@code <think>\n} opening of the answer
 * is on by default, as in the template; without it R1 models sometimes skip reasoning.
 *
 * <p>Control tokens are placed by id; user, system and assistant texts are encoded with special tokens not parsed,
 * so a user who types {@code <｜Assistant｜>} gets those characters, not the control token. (User-defined tokens
 * such as {@code <think>} are still recognised in text, as llama.cpp and Hugging Face do.) Encoding the parts
 * separately gives the same tokens as encoding the rendered string, because special tokens split the text anyway.
 */
public final class ChatTemplate {

    public static final String BOS_TEXT = "<｜begin▁of▁sentence｜>";
    public static final String EOS_TEXT = "<｜end▁of▁sentence｜>";
    public static final String USER_TEXT = "<｜User｜>";
    public static final String ASSISTANT_TEXT = "<｜Assistant｜>";
    public static final String THINK_TEXT = "<think>";
    public static final String END_THINK_TEXT = "</think>";

    /** Who said a message. */
    public enum Role { SYSTEM, USER, ASSISTANT }

    /** One chat message. */
    public record Message(Role role, String content) {
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }

        public static Message system(String content) {
            return new Message(Role.SYSTEM, content);
        }

        public static Message user(String content) {
            return new Message(Role.USER, content);
        }

        public static Message assistant(String content) {
            return new Message(Role.ASSISTANT, content);
        }
    }

    private final BpeTokenizer tokenizer;
    private final int bos;
    private final int eos;
    private final int user;
    private final int assistant;
    private final int think;
    private final int endThink;
    private final int[] newline;

    /**
     * @throws IllegalArgumentException if the vocabulary lacks one of R1's special tokens (not an R1 vocabulary)
     */
    public ChatTemplate(BpeTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        Vocabulary v = tokenizer.vocabulary();
        bos = require(v, BOS_TEXT);
        eos = require(v, EOS_TEXT);
        user = require(v, USER_TEXT);
        assistant = require(v, ASSISTANT_TEXT);
        think = require(v, THINK_TEXT);
        endThink = require(v, END_THINK_TEXT);
        newline = tokenizer.encode("\n", false, false);
    }

    private static int require(Vocabulary v, String text) {
        int id = v.tokenId(text);
        if (id < 0) {
            throw new IllegalArgumentException("vocabulary " + v + " has no '" + text
                    + "' token: not a DeepSeek-R1 vocabulary, the R1 chat template does not apply");
        }
        return id;
    }

    /** Prompt tokens for one user turn, with the {@code <think>\n} opening. {@code system} may be empty. */
    public int[] apply(String system, String prompt) {
        return apply(system, prompt, true);
    }

    /** Prompt tokens for one user turn; {@code thinkPrefix} opens the answer with {@code <think>\n}. */
    public int[] apply(String system, String prompt, boolean thinkPrefix) {
        return system == null || system.isEmpty()
                ? apply(List.of(Message.user(prompt)), thinkPrefix)
                : apply(List.of(Message.system(system), Message.user(prompt)), thinkPrefix);
    }

    /** Prompt tokens for a conversation, ending with the generation prompt for the assistant's next turn. */
    public int[] apply(List<Message> messages, boolean thinkPrefix) {
        BpeTokenizer.IntList out = new BpeTokenizer.IntList(64);
        out.add(bos);
        tokenizer.encodeInto(systemPrompt(messages), false, out);
        for (Message m : messages) {
            switch (m.role()) {
                case SYSTEM -> { }
                case USER -> {
                    out.add(user);
                    tokenizer.encodeInto(m.content(), false, out);
                }
                case ASSISTANT -> {
                    out.add(assistant);
                    tokenizer.encodeInto(answerPart(m.content()), false, out);
                    out.add(eos);
                }
            }
        }
        out.add(assistant);
        if (thinkPrefix) {
            out.add(think);
            out.addAll(newline);
        }
        return out.toArray();
    }

    /** The same prompt as text, as the Jinja template renders it (for display and debugging). */
    public String render(List<Message> messages, boolean thinkPrefix) {
        StringBuilder sb = new StringBuilder(BOS_TEXT).append(systemPrompt(messages));
        for (Message m : messages) {
            switch (m.role()) {
                case SYSTEM -> { }
                case USER -> sb.append(USER_TEXT).append(m.content());
                case ASSISTANT -> sb.append(ASSISTANT_TEXT).append(answerPart(m.content())).append(EOS_TEXT);
            }
        }
        sb.append(ASSISTANT_TEXT);
        if (thinkPrefix) {
            sb.append(THINK_TEXT).append('\n');
        }
        return sb.toString();
    }

    /** The template keeps the last system message. */
    private static String systemPrompt(List<Message> messages) {
        String system = "";
        for (Message m : messages) {
            if (m.role() == Role.SYSTEM) {
                system = m.content();
            }
        }
        return system;
    }

    /** A past assistant turn keeps only its answer: the text after the last {@code </think>}. */
    private static String answerPart(String content) {
        int i = content.lastIndexOf(END_THINK_TEXT);
        return i < 0 ? content : content.substring(i + END_THINK_TEXT.length());
    }

    public int bos() {
        return bos;
    }

    /** {@code <｜end▁of▁sentence｜>}: ends every assistant turn, and generation. */
    public int endOfSentence() {
        return eos;
    }

    public int user() {
        return user;
    }

    public int assistant() {
        return assistant;
    }

    /** {@code <think>}: opens the reasoning. */
    public int thinkStart() {
        return think;
    }

    /** {@code </think>}: ends the reasoning; the answer follows. */
    public int thinkEnd() {
        return endThink;
    }
}
