"""Held-out accuracy of a checkpoint or an F32 GGUF by kind, on heldout1000.jsonl (every kind and phrasing),
heldout.jsonl (the first model's 500) and heldout_small.jsonl (3 + 4, 5 - 9, 2 * 3, 10 - 10, ...), greedy,
PyTorch, F32 and the dequantized Q8_0 weights. Reporting only: nothing here chooses a model.

    /usr/bin/python3 eval_heldout.py out/final.pt
    /usr/bin/python3 eval_heldout.py ../../src/main/resources/dev/r1flink/models/tiny-r1-arith-f32.gguf
"""
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402


def main():
    torch.set_num_threads(1)
    if sys.argv[1].endswith(".gguf"):
        model, tok = train.load_gguf(sys.argv[1])
    else:
        ck = torch.load(sys.argv[1])
        state = ck["state"] if "state" in ck else ck
        tok = train.vocabulary(1234)  # train.py's vocabulary: same seed, same texts, same merges
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
