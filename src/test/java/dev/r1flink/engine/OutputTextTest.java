package dev.r1flink.engine;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class OutputTextTest {
    private final List<String> reasoningDeltas = new ArrayList<>();
    private final List<String> answerDeltas = new ArrayList<>();
    private final StreamListener collect = (d, r) -> (r ? reasoningDeltas : answerDeltas).add(d);

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aCharacterSplitAcrossTokensIsNeverStreamedInHalves() {
        OutputText t = new OutputText(collect, List.of());
        t.switchToAnswer();
        byte[] euro = b("€"); // 3 bytes
        t.append(new byte[] {euro[0]});
        t.append(new byte[] {euro[1]});
        assertTrue(answerDeltas.isEmpty());
        t.append(new byte[] {euro[2], 'x'});
        assertEquals(List.of("€x"), answerDeltas);
        byte[] emoji = b("😀"); // 4 bytes, a surrogate pair in Java
        t.append(new byte[] {emoji[0], emoji[1]});
        t.append(new byte[] {emoji[2], emoji[3]});
        t.finish();
        assertEquals("€x😀", String.join("", answerDeltas));
        assertEquals("€x😀", t.answer.toString());
    }

    @Test
    void invalidBytesBecomeReplacementCharacters() {
        OutputText t = new OutputText(collect, List.of());
        t.switchToAnswer();
        t.append(new byte[] {(byte) 0xe2, (byte) 0x82, 'a', (byte) 0xff, (byte) 0xc0, (byte) 0x80});
        t.append(new byte[] {(byte) 0xe2});
        t.finish();
        // truncated 3-byte sequence, 'a', invalid byte, overlong 2-byte encoding, dangling lead byte
        assertEquals("\uFFFDa\uFFFD\uFFFD\uFFFD", t.answer.toString());
        assertEquals(t.answer.toString(), String.join("", answerDeltas));
    }

    @Test
    void stopStringsAreHeldBackAndCut() {
        OutputText t = new OutputText(collect, List.of("STOP", "##"));
        t.switchToAnswer();
        assertFalse(t.append(b("Hello S")));
        assertEquals("Hello ", String.join("", answerDeltas), "'S' might start STOP");
        assertFalse(t.append(b("T")));
        assertFalse(t.append(b("x #")));
        assertEquals("Hello STx ", String.join("", answerDeltas));
        assertTrue(t.append(b("# tail")));
        t.finish();
        assertEquals("Hello STx ", t.answer.toString());
        assertEquals("Hello STx ", String.join("", answerDeltas));
    }

    @Test
    void stopStringsDoNotApplyToReasoning() {
        OutputText t = new OutputText(collect, List.of("STOP"));
        assertFalse(t.append(b("I should not say STOP here")));
        t.switchToAnswer();
        assertTrue(t.append(b("fine STOP")));
        t.finish();
        assertEquals("I should not say STOP here", t.reasoning.toString());
        assertEquals("fine ", t.answer.toString());
    }

    @Test
    void whitespaceAroundThinkEndIsDroppedFromStreamAndResultAlike() {
        OutputText t = new OutputText(collect, List.of());
        t.append(b("Let me think"));
        t.append(b(".\n"));
        t.append(b("\n"));
        assertEquals("Let me think.", String.join("", reasoningDeltas));
        t.switchToAnswer();
        t.append(b("\n\n"));
        t.append(b("42"));
        t.append(b("\n"));
        t.finish();
        assertEquals("Let me think.", t.reasoning.toString());
        assertEquals("42\n", t.answer.toString());
        assertEquals("Let me think.", String.join("", reasoningDeltas));
        assertEquals("42\n", String.join("", answerDeltas));
    }

    @Test
    void aFailingListenerIsRecordedNotThrown() {
        OutputText t = new OutputText((d, r) -> { throw new IllegalStateException("sink down"); }, List.of());
        t.append(b("x"));
        assertNotNull(t.listenerFailure());
    }
}
