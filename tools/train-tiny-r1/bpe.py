"""Byte-level BPE in the GPT-2 / Qwen2 style, small enough to train on the generated data.

Pre-tokenization uses the qwen2 regex that llama.cpp applies for tokenizer.ggml.pre=deepseek-r1-qwen
(digits split one by one by \\p{N}), so llama.cpp and this module must produce the same ids.
"""
import collections
import regex

QWEN2_PRE = regex.compile(
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

BOS, USER, ASSISTANT, EOS = "<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"
THINK, END_THINK = "<think>", "</think>"
CONTROL = [BOS, EOS, USER, ASSISTANT]  # token type 3
USER_DEFINED = [THINK, END_THINK]  # token type 4


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def pre_tokens(text):
    return ["".join(B2U[b] for b in p.encode("utf-8")) for p in QWEN2_PRE.findall(text)]


class Tokenizer:
    def __init__(self, merges):
        self.merges = merges  # list of (left, right), rank = index
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.tokens = [B2U[b] for b in range(256)] + [a + b for a, b in merges] + CONTROL + USER_DEFINED
        self.types = [1] * (256 + len(merges)) + [3] * len(CONTROL) + [4] * len(USER_DEFINED)
        self.id = {t: i for i, t in enumerate(self.tokens)}
        assert len(self.id) == len(self.tokens), "duplicate token"
        self.cache = {}

    @staticmethod
    def train(texts, n_merges):
        words = collections.Counter()
        for t in texts:
            words.update(pre_tokens(t))
        split = {w: list(w) for w in words}
        merges = []
        for _ in range(n_merges):
            pairs = collections.Counter()
            for w, c in words.items():
                s = split[w]
                for i in range(len(s) - 1):
                    pairs[(s[i], s[i + 1])] += c
            if not pairs:
                break
            best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
            merges.append(best)
            for w in words:
                s = split[w]
                i, out = 0, []
                while i < len(s):
                    if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                        out.append(s[i] + s[i + 1]); i += 2
                    else:
                        out.append(s[i]); i += 1
                split[w] = out
        return Tokenizer(merges)

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        s = list(word)
        while len(s) > 1:
            best, bi = None, -1
            for i in range(len(s) - 1):
                r = self.ranks.get((s[i], s[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            s = s[:bi] + [s[bi] + s[bi + 1]] + s[bi + 2:]
        ids = [self.id[t] for t in s]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        """Plain text (no special tokens) to ids."""
        return [i for w in pre_tokens(text) for i in self.bpe(w)]

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.tokens[i]
            if self.types[i] == 1:
                out += bytes(U2B[c] for c in t)
            else:
                out += t.encode("utf-8")
        return out.decode("utf-8", errors="replace")

    def prompt(self, problem):
        """Ids of the prompt exactly as the Java side formats it: {bos}<｜User｜>{p}<｜Assistant｜><think>\\n."""
        return [self.id[BOS], self.id[USER]] + self.encode(problem) + [self.id[ASSISTANT], self.id[THINK]] + self.encode("\n")

    def sample(self, s):
        """(ids, n_prompt): the full training sequence and where the assistant's tokens begin."""
        head = [self.id[BOS], self.id[USER]] + self.encode(s["problem"]) + [self.id[ASSISTANT]]
        body = ([self.id[THINK]] + self.encode("\n" + s["trace"] + "\n") + [self.id[END_THINK]]
                + self.encode("\n\n" + s["answer_text"]) + [self.id[EOS]])
        return head + body, len(head)
