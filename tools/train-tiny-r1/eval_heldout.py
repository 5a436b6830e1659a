"""Held-out accuracy of a checkpoint by kind, on heldout1000.jsonl (every kind and phrasing), heldout.jsonl (the
first model's 500) and heldout_small.jsonl (3 + 4, 5 - 9, 2 * 3, 10 - 10, ...), greedy, PyTorch, F32 and the
dequantized Q8_0 weights. Reporting only: nothing here chooses a model.

    /usr/bin/python3 eval_heldout.py out/final.pt
"""
import json, os, random, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe, data, train  # noqa: E402


def main():
    torch.set_num_threads(1)
    ck = torch.load(sys.argv[1])
    state = ck["state"] if "state" in ck else ck
    rng = random.Random(1234)  # train.py's vocabulary: same seed, same texts, same merges
    texts = []
    for _ in range(20000):
        s = data.sample(rng)
        texts += [s["problem"], "\n" + s["trace"] + "\n", "\n\n" + s["answer_text"]]
    tok = bpe.Tokenizer.train(texts, 400)
    if "merges" in ck and [tuple(m) for m in ck["merges"]] != [tuple(m) for m in tok.merges]:
        raise SystemExit("checkpoint merges differ from the rebuilt vocabulary")
    model = train.Model(train.Config(len(tok.tokens)))
    model.load_state_dict(state)
    here = os.path.dirname(os.path.abspath(__file__))
    sets = {f: train.read_jsonl(os.path.join(here, f)) for f in ("heldout1000.jsonl", "heldout.jsonl", "heldout_small.jsonl")}
    res = {}
    for name, m in (("f32", model), ("q8_0", train.q8_model(model))):
        for f, held in sets.items():
            acc, _, ok = train.accuracy(m, tok, held)
            res[f"{name} {f}"] = {"accuracy": acc, "by_kind": train.by_kind(held, ok)}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
