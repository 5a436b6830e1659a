"""Generated arithmetic problems with R1-style step-by-step traces.

Every sample is (problem, trace, answer_text, value). The trace works column by column from the units,
writing the running result after every column ("→ ...") so the final line is a copy, not a reversal:
a small transformer copies reliably but reverses digit strings poorly.
"""
import random

PLACES = ["units", "tens", "hundreds", "thousands", "ten-thousands"]
NAMES = ["Tom", "Anna", "Li", "Sara", "Omar", "Mia", "Ben", "Zoe"]
ITEMS = ["apples", "books", "coins", "stamps", "marbles", "cards", "pens", "shells"]


def digits_rev(n):
    return [int(c) for c in reversed(str(n))]


def add_lines(a, b):
    da, db = digits_rev(a), digits_rev(b)
    lines, carry, res = [], 0, ""
    for i in range(max(len(da), len(db))):
        x = da[i] if i < len(da) else 0
        y = db[i] if i < len(db) else 0
        s = x + y + carry
        res = str(s % 10) + res
        lines.append(f"{PLACES[i]}: {x}+{y}+{carry}={s}, carry {s // 10} → {res}")
        carry = s // 10
    if carry:
        res = str(carry) + res
        lines.append(f"last carry {carry} → {res}")
    return lines


def sub_lines(a, b):
    da, db = digits_rev(a), digits_rev(b)
    lines, borrow, res = [], 0, ""
    for i in range(len(da)):
        x = da[i]
        y = db[i] if i < len(db) else 0
        if x - y - borrow < 0:
            d = x + 10 - y - borrow
            lines.append(f"{PLACES[i]}: {x + 10}-{y}-{borrow}={d}, borrow 1 → {d}{res}")
            borrow = 1
        else:
            d = x - y - borrow
            lines.append(f"{PLACES[i]}: {x}-{y}-{borrow}={d}, borrow 0 → {d}{res}")
            borrow = 0
        res = str(d) + res
    stripped = res.lstrip("0") or "0"
    if stripped != res:
        lines.append(f"drop leading zeros → {stripped}")
    return lines


def mul_lines(a, k):
    da = digits_rev(a)
    lines, carry, res = [], 0, ""
    for i, x in enumerate(da):
        p = x * k + carry
        res = str(p % 10) + res
        lines.append(f"{PLACES[i]}: {x}×{k}+{carry}={p}, carry {p // 10} → {res}")
        carry = p // 10
    if carry:
        res = str(carry) + res
        lines.append(f"last carry {carry} → {res}")
    return lines


def rand_num(rng, ndig):
    lo = 10 ** (ndig - 1) if ndig > 1 else 0
    return rng.randint(lo, 10 ** ndig - 1)


def two_operands(rng, maxd=4):
    while True:
        la, lb = rng.randint(1, maxd), rng.randint(1, maxd)
        if max(la, lb) >= 2:  # multi-digit
            return rand_num(rng, la), rand_num(rng, lb)


def sample(rng):
    """One problem: dict(kind, problem, trace, answer_text, answer)."""
    r = rng.random()
    if r < 0.30:
        a, b = two_operands(rng)
        kind, op, v = "add", "+", a + b
        problem = rng.choice(["What is {a} + {b}?", "Calculate {a} + {b}.", "Add {a} and {b}."]).format(a=a, b=b)
        intro = f"We add {a} and {b} column by column."
        lines = add_lines(a, b)
    elif r < 0.55:
        a, b = two_operands(rng)
        a, b = max(a, b), min(a, b)
        kind, op, v = "sub", "-", a - b
        problem = rng.choice(["What is {a} - {b}?", "Calculate {a} - {b}.", "Subtract {b} from {a}."]).format(a=a, b=b)
        intro = f"We subtract {b} from {a} column by column."
        lines = sub_lines(a, b)
    elif r < 0.80:
        a, b = rand_num(rng, rng.randint(2, 4)), rng.randint(2, 9)
        kind, op, v = "mul", "×", a * b
        problem = rng.choice(["What is {a} × {b}?", "Calculate {a} × {b}.", "Multiply {a} by {b}."]).format(a=a, b=b)
        intro = f"We multiply {a} by {b} digit by digit."
        lines = mul_lines(a, b)
    else:
        name, item = rng.choice(NAMES), rng.choice(ITEMS)
        w = rng.randrange(3)
        if w == 0:
            a, b = two_operands(rng, 3)
            kind, op, v = "word-add", "+", a + b
            problem = f"{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?"
            intro = f"{name} starts with {a} {item} and gets {b} more, so we add {a} and {b}."
            lines = add_lines(a, b)
        elif w == 1:
            a, b = two_operands(rng, 3)
            a, b = max(a, b), min(a, b)
            kind, op, v = "word-sub", "-", a - b
            problem = f"{name} has {a} {item} and gives away {b}. How many {item} are left?"
            intro = f"{name} starts with {a} {item} and gives away {b}, so we subtract {b} from {a}."
            lines = sub_lines(a, b)
        else:
            a, b = rand_num(rng, rng.randint(2, 3)), rng.randint(2, 9)
            kind, op, v = "word-mul", "×", a * b
            problem = f"{name} buys {b} boxes with {a} {item} in each box. How many {item} does {name} buy?"
            intro = f"There are {b} boxes of {a} {item}, so we multiply {a} by {b}."
            lines = mul_lines(a, b)
    trace = intro + "\n" + "\n".join(lines)
    answer_text = f"{a} {op} {b} = {v}, so the answer is \\boxed{{{v}}}."
    return dict(kind=kind, problem=problem, trace=trace, answer_text=answer_text, answer=v)


def heldout(n=500, seed=20261128):
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        s = sample(rng)
        if s["problem"] not in seen:
            seen.add(s["problem"])
            out.append(s)
    return out


if __name__ == "__main__":
    rng = random.Random(0)
    for _ in range(6):
        s = sample(rng)
        print(s["problem"]); print(s["trace"]); print(s["answer_text"]); print()
