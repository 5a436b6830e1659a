"""Generated arithmetic problems with R1-style step-by-step traces.

Every sample is (problem, trace, answer_text, value). The trace first restates the problem in one canonical
form (so the many ways of writing it meet in one place), then works column by column from the units, writing the
running result after every column ("→ ...") so the final line is a copy, not a reversal: a small transformer
copies reliably but reverses digit strings poorly. Long multiplication is built from the same steps: one
number-by-digit product per digit (each a copy of the one-digit multiplication trace), each added to the running
sum with the addition trace, the two numbers of every addition written out just before it so each column reads
digits from the line above.
"""
import random

PLACES = ["units", "tens", "hundreds", "thousands", "ten-thousands", "hundred-thousands", "millions"]
NAMES = ["Tom", "Anna", "Li", "Sara", "Omar", "Mia", "Ben", "Zoe"]
ITEMS = ["apples", "books", "coins", "stamps", "marbles", "cards", "pens", "shells"]

# operator spellings: (text between the numbers, weight)
ADD_OPS = [(" + ", 4), ("+", 2), (" plus ", 2)]
SUB_OPS = [(" - ", 4), ("-", 2), (" minus ", 2)]
MUL_OPS = [(" × ", 3), (" * ", 3), ("*", 1), (" x ", 2), (" times ", 2)]
# question templates around an expression "{e}"; the last ones are bare expressions
EXPR_TEMPLATES = [("What is {e}?", 4), ("What is {e}", 1), ("What's {e}?", 2), ("What's {e}", 1),
                  ("Calculate {e}.", 2), ("Calculate {e}", 1), ("Compute {e}.", 2), ("Compute {e}", 1),
                  ("How much is {e}?", 2), ("How much is {e}", 1), ("what is {e}?", 1), ("{e}", 1),
                  ("{e} =", 1), ("{e}=?", 1)]
ADD_WORDS = [("Add {a} and {b}.", 2), ("Add {a} and {b}", 1), ("What is the sum of {a} and {b}?", 1)]
SUB_WORDS = [("Subtract {b} from {a}.", 2), ("Subtract {b} from {a}", 1)]
MUL_WORDS = [("Multiply {a} by {b}.", 2), ("Multiply {a} by {b}", 1), ("Multiply {a} and {b}.", 1),
             ("What is the product of {a} and {b}?", 1)]
# kinds (reporting and the data mix): add, sub, sub-neg (the second number is larger), mul (by one digit, either
# order), mul-long (two numbers of 2-3 digits), word-add, word-sub, word-mul, and add-1d, sub-1d (two one-digit
# numbers: 3 + 4, 5 - 9, 0 - 0; the first things a new user types), sub-same (a number of 2-6 digits minus itself)
KINDS = ["add", "sub", "sub-neg", "mul", "mul-long", "word-add", "word-sub", "word-mul", "add-1d", "sub-1d", "sub-same"]
# share of the raw stream for add-1d and sub-1d together (before the data mix): their traces are one or two lines,
# so they cost little of the token budget; 100 pairs each, every phrasing
ONE_DIGIT_SHARE = 0.08
# share of multi-digit subtractions of a number from itself (10 - 10, kind sub-same): otherwise 1 in ~100,000
SAME_SHARE = 0.06


def pick(rng, options):
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


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
    """a - b column by column, a >= b. Each column writes x-y-borrow first and only then says whether it must
    borrow: deciding the borrow before writing the digits (the first model wrote 13-5-0 straight away) was where
    most subtraction errors came from."""
    da, db = digits_rev(a), digits_rev(b)
    lines, borrow, res = [], 0, ""
    for i in range(len(da)):
        x = da[i]
        y = db[i] if i < len(db) else 0
        if x - y - borrow < 0:
            d = x + 10 - y - borrow
            lines.append(f"{PLACES[i]}: {x}-{y}-{borrow} is below 0, so {x + 10}-{y}-{borrow}={d}, borrow 1 → {d}{res}")
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


def digits(n, singular=True):
    return "1 digit" if n == 1 and singular else f"{n} digits"


def compare(a, b, one_digit=True):
    """Which of a and b is larger, said the way one checks it: digit counts, then, for two of the same length, their
    digits pair by pair from the left until two differ ("from the left: hundreds 3=3, tens 8>2, so 385 > 321"; all
    equal: "so 14 = 14"), each pair compared only once both digits are written. one_digit=False: d066cf8's wording
    ("1 digits"; for the same length "the first digits that differ are the tens, 8 > 2", which named the place
    before writing its digits: leading digits that agree, as in 1875 - 1220, and a - a were its errors)."""
    sa, sb = str(a), str(b)
    if len(sa) != len(sb):
        return (f"{a} has {digits(len(sa), one_digit)} and {b} has {len(sb)}, so {a} {'>' if len(sa) > len(sb) else '<'} {b}")
    if one_digit:
        pairs = []
        for i, (x, y) in enumerate(zip(sa, sb)):
            pairs.append(f"{PLACES[len(sa) - 1 - i]} {x}{'=' if x == y else '>' if x > y else '<'}{y}")
            if x != y:
                break
        rel = "=" if a == b else ">" if a > b else "<"
        return f"{a} and {b} both have {digits(len(sa))}; from the left: {', '.join(pairs)}, so {a} {rel} {b}"
    for i, (x, y) in enumerate(zip(sa, sb)):
        if x != y:
            return (f"{a} and {b} both have {digits(len(sa), one_digit)}; the first digits that differ are the "
                    f"{PLACES[len(sa) - 1 - i]}, {x} {'>' if x > y else '<'} {y}, so {a} {'>' if x > y else '<'} {b}")
    return f"{a} = {b}"


def mul_lines(a, k):
    """a × k for one digit k; 0 and 1 in one line."""
    if k <= 1:
        return [f"any number times {k} is {a * k} → {a * k}"]
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


def long_mul_lines(a, b):
    """a × b (b of 2-3 digits): a × each digit of b, shifted by its place, added to the running sum."""
    lines, total = [], None
    for j, k in enumerate(digits_rev(b)):
        lines.append(f"{PLACES[j]} digit {k}: {a} × {k}")
        lines += mul_lines(a, k)
        p = a * k * 10 ** j
        if j:
            lines[-1] += f", shifted → {p}"
        if not total or not p:  # nothing to add yet, or nothing to add
            total = p if total is None or not total else total
        else:
            lines.append(f"sum: {total} + {p}")
            lines += add_lines(total, p)
            total += p
    return lines


def rand_num(rng, ndig):
    lo = 10 ** (ndig - 1) if ndig > 1 else 0
    return rng.randint(lo, 10 ** ndig - 1)


def two_operands(rng, maxd=4):
    while True:
        la, lb = rng.randint(1, maxd), rng.randint(1, maxd)
        if max(la, lb) >= 2:  # multi-digit
            return rand_num(rng, la), rand_num(rng, lb)


def expr_problem(rng, a, b, ops, words):
    """The problem text: an expression with one of the operator spellings in a question template, or (one time in
    five) a sentence such as 'Add a and b.'."""
    if rng.random() < 0.2:
        return pick(rng, words).format(a=a, b=b)
    return pick(rng, EXPR_TEMPLATES).format(e=f"{a}{pick(rng, ops)}{b}")


def sub_problem(rng, a, b):
    if rng.random() < 0.2:
        return pick(rng, SUB_WORDS).format(a=a, b=b)
    return pick(rng, EXPR_TEMPLATES).format(e=f"{a}{pick(rng, SUB_OPS)}{b}")


def sub_trace(a, b, one_digit=True):
    if a >= b:
        return f"{compare(a, b, one_digit)}: we subtract {b} from {a} column by column.", sub_lines(a, b)
    return (f"{compare(a, b, one_digit)}, the result is negative: we subtract {a} from {b} column by column.",
            sub_lines(b, a) + [f"negative → -{b - a}"])


def one_digit_sample(rng):
    """Two one-digit numbers (0 included), added or subtracted (negative results too), in the same phrasings and
    traces as the longer ones; one in ten as a word problem."""
    a, b = rng.randint(0, 9), rng.randint(0, 9)
    word = rng.random() < 0.1
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    if rng.random() < 0.5:
        kind, op, v = "add-1d", "+", a + b
        if word:
            problem = f"{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?"
            intro = f"{name} starts with {a} {item} and gets {b} more, so we add {a} and {b}."
        else:
            problem = expr_problem(rng, a, b, ADD_OPS, ADD_WORDS)
            intro = f"We add {a} and {b} column by column."
        lines = add_lines(a, b)
    else:
        kind, op, v = "sub-1d", "-", a - b
        if word:
            a, b = max(a, b), min(a, b)
            v = a - b
            problem = f"{name} has {a} {item} and gives away {b}. How many {item} are left?"
            intro = f"{name} starts with {a} {item} and gives away {b}, so we subtract {b} from {a}."
            lines = sub_lines(a, b)
        else:
            if rng.random() < SAME_SHARE:  # 5 - 5, 0 - 0: more often than a tenth of the pairs
                b = a
            v = a - b
            problem = sub_problem(rng, a, b)
            intro, lines = sub_trace(a, b)
    trace = intro + "\n" + "\n".join(lines)
    answer_text = f"{a} {op} {b} = {v}, so the answer is \\boxed{{{v}}}."
    return dict(kind=kind, problem=problem, trace=trace, answer_text=answer_text, answer=v)


def sample(rng, one_digit=True):
    """One problem: dict(kind, problem, trace, answer_text, answer). one_digit=False: the generator of commit d066cf8
    (no one-digit kinds, no a - a), random stream and all: the first training stage and the vocabulary."""
    if one_digit and rng.random() < ONE_DIGIT_SHARE:
        return one_digit_sample(rng)
    r = rng.random()
    if r < 0.17:
        a, b = two_operands(rng, 6)
        kind, op, v = "add", "+", a + b
        problem = expr_problem(rng, a, b, ADD_OPS, ADD_WORDS)
        intro = f"We add {a} and {b} column by column."
        lines = add_lines(a, b)
    elif r < 0.36:
        a, b = two_operands(rng, 6)
        a, b = (max(a, b), min(a, b)) if rng.random() < 0.6 else (min(a, b), max(a, b))
        if one_digit and rng.random() < SAME_SHARE:
            b = a
        kind, op, v = ("sub-same" if a == b and one_digit else "sub" if a >= b else "sub-neg"), "-", a - b
        problem = sub_problem(rng, a, b)
        intro, lines = sub_trace(a, b, one_digit)
    elif r < 0.53:
        a, k = rand_num(rng, rng.randint(1, 4)), rng.choice([0, 1] + list(range(2, 10)) * 3)
        big, small = a, k
        a, b = (k, a) if rng.random() < 0.35 else (a, k)  # the digit may come first
        kind, op, v = "mul", "×", a * b
        problem = expr_problem(rng, a, b, MUL_OPS, MUL_WORDS)
        intro = f"We multiply {big} by {small} digit by digit."
        lines = mul_lines(big, small)
    elif r < 0.85:
        a, b = rand_num(rng, rng.randint(2, 3)), rand_num(rng, rng.randint(2, 3))
        kind, op, v = "mul-long", "×", a * b
        problem = expr_problem(rng, a, b, MUL_OPS, MUL_WORDS)
        big, small = (a, b) if len(str(a)) >= len(str(b)) else (b, a)
        intro = f"We multiply {big} by each digit of {small} and add the products."
        lines = long_mul_lines(big, small)
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


def heldout(n=1000, seed=20261201, one_digit=True):
    """n distinct problems; the kinds in the proportions of the training stream."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        s = sample(rng, one_digit)
        if s["problem"] not in seen:
            seen.add(s["problem"])
            out.append(s)
    return out


# what a new user types first; held out (never trained on in these words), with the random ones below
SMALL_NAMED = ["What is 3 + 4?", "What is 5 - 9?", "What is 1 + 1?", "What is 2 + 2?", "What is 2 * 3?",
               "What is 9 x 9?", "What is 10 - 10?", "What is 0 + 0?", "What is 7 - 7?", "What is 0 - 5?",
               "What is 9 + 9?", "What is 6 × 7?", "What is 8 - 3?", "What's 4+5?", "3+4", "5-9",
               "2*3", "Compute 9 - 0.", "What is 100 - 100?", "What is 1 - 2?"]
SMALL_COUNTS = {"add-1d": 45, "sub-1d": 55, "mul-1d": 35, "sub-same": 15}


def small_kind(problem):
    """The kind and answer of a problem in SMALL_NAMED (or any 'a OP b' among the expression forms)."""
    import re
    m = re.search(r"(\d+) ?(\+|-|\*|×|x) ?(\d+)", problem)
    a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
    if op == "+":
        return ("add-1d" if max(a, b) < 10 else "add"), a + b
    if op == "-":
        return ("sub-same" if a == b and a >= 10 else "sub-1d" if max(a, b) < 10 else "sub"), a - b
    return ("mul-1d" if max(a, b) < 10 else "mul"), a * b


def heldout_small(seed=20261202):
    """Small cases (two one-digit numbers added, subtracted or multiplied; a number of 2-3 digits minus itself):
    SMALL_NAMED first, then random ones in every phrasing, SMALL_COUNTS of each kind in all."""
    rng = random.Random(seed)
    out, seen, count = [], set(), {k: 0 for k in SMALL_COUNTS}
    for p in SMALL_NAMED:
        kind, v = small_kind(p)
        out.append(dict(kind=kind, problem=p, answer=v))
        seen.add(p)
        count[kind] += 1
    while any(count[k] < n for k, n in SMALL_COUNTS.items()):
        kind = rng.choice([k for k, n in SMALL_COUNTS.items() if count[k] < n])
        if kind == "add-1d":
            a, b = rng.randint(0, 9), rng.randint(0, 9)
            p, v = expr_problem(rng, a, b, ADD_OPS, ADD_WORDS), a + b
        elif kind == "sub-1d":
            a, b = rng.randint(0, 9), rng.randint(0, 9)
            p, v = sub_problem(rng, a, b), a - b
        elif kind == "mul-1d":
            a, b = rng.randint(0, 9), rng.randint(0, 9)
            p, v = expr_problem(rng, a, b, MUL_OPS, MUL_WORDS), a * b
        else:
            a = rand_num(rng, rng.randint(2, 3))
            p, v = sub_problem(rng, a, a), 0
        if p not in seen:
            seen.add(p)
            out.append(dict(kind=kind, problem=p, answer=v))
            count[kind] += 1
    return out


if __name__ == "__main__":
    rng = random.Random(0)
    for _ in range(8):
        s = sample(rng)
        print(s["problem"]); print(s["trace"]); print(s["answer_text"]); print()
