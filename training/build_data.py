"""Step 1+2 of the recipe: corpus, dialogues, tokenizer, encoded training set, held-out eval suites.

Usage: /usr/bin/python3 training/build_data.py --out training/out [--dialogues 20000] [--seed 1234]
Writes: out/tokenizer.model, out/train.pt (ids/masks), out/dialogues_sample.txt, corpus folders and tests/eval/*.jsonl.
"""
import argparse
import json
import os
import random

import torch

import bpe
import corpus
import dialogues
from glm4_format import BUILTINS, IDENTITY, TOOL_TEXTS, FUNCTION_SENTENCE, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_corpus(docs, folder):
    os.makedirs(folder, exist_ok=True)
    for d in docs:
        with open(os.path.join(folder, d["path"]), "w") as f:
            f.write(d["text"])
    with open(os.path.join(folder, "facts.jsonl"), "w") as f:
        for d in docs:
            f.write(json.dumps({k: d[k] for k in ("id", "path", "lang", "kind", "name", "facts")}, ensure_ascii=False) + "\n")


def eval_suites(heldout_docs, seed, n_per_kind):
    """Held-out tasks: new numbers, person names, documents, function names (fresh random draws, other seed)."""
    rng = random.Random(seed)
    suites = {}
    rows = []
    for i in range(n_per_kind):
        lang = "en" if i % 2 == 0 else "zh"
        q, code, ans = dialogues.math_problem(rng, lang, "heldout")
        out, ok = dialogues.run_python(code)
        rows.append({"id": f"math-{i:03d}", "kind": "math", "lang": lang, "prompt": q, "expect_tool": "python",
                     "answer_numbers": out.split(), "reference_code": code})
    suites["math"] = rows
    rows = []
    for i in range(n_per_kind):
        lang = "en" if i % 2 == 0 else "zh"
        doc = rng.choice([d for d in heldout_docs if d["lang"] == lang])
        fact = rng.choice(sorted(doc["facts"]))
        q, a, _ = corpus.question(doc, fact)
        rows.append({"id": f"research-{i:03d}", "kind": "research", "lang": lang, "prompt": q,
                     "expect_tool": "simple_browser", "answer_contains": doc["facts"][fact],
                     "corpus": "tests/eval/corpus", "answer_doc": doc["path"], "answer_title": doc["title"]})
    suites["research"] = rows
    rows = []
    for i in range(n_per_kind):
        lang = "en" if i % 2 == 0 else "zh"
        fams = rng.sample(dialogues.FAMILIES, rng.randint(1, 3))
        made = [f(rng, lang) for f in fams]
        t = rng.randrange(len(made))
        spec, q, args, result, ans = made[t]
        rows.append({"id": f"function-{i:03d}", "kind": "function", "lang": lang, "prompt": q,
                     "functions": [m[0] for m in made], "expect_tool": spec["name"], "expect_arguments": args,
                     "function_results": {spec["name"]: result},
                     "answer_contains": [str(v) for v in result.values()][:1]})
    suites["function"] = rows
    rows = []
    for i in range(n_per_kind):
        lang = "en" if i % 2 == 0 else "zh"
        kind = rng.choice(["cogview", "plot", "chat"])
        msgs, meta = dialogues.make_dialogue(rng, [], "heldout", kind=kind, lang=lang)
        rows.append({"id": f"{kind}-{i:03d}", "kind": kind, "lang": lang, "prompt": msgs[1]["content"],
                     "expect_tool": meta["tool"]})
    suites["choice"] = rows
    return suites


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "training", "out"))
    ap.add_argument("--dialogues", type=int, default=20000)
    ap.add_argument("--n-ranks", type=int, default=4082)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--eval-per-kind", type=int, default=100)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    train_docs = corpus.make_corpus(args.seed, 150, 150)
    held_docs = corpus.make_corpus(args.seed + 1, 60, 60, exclude_names={d["name"] for d in train_docs})
    write_corpus(train_docs, os.path.join(ROOT, "models", "glm4-alltools-tiny", "corpus"))
    write_corpus(held_docs, os.path.join(ROOT, "tests", "eval", "corpus"))

    rng = random.Random(args.seed)
    data = [dialogues.make_dialogue(rng, train_docs, "train") for _ in range(args.dialogues)]

    fixed = [IDENTITY, "\n\n# 可用工具", FUNCTION_SENTENCE] + [f"\n\n## {n}\n\n" + TOOL_TEXTS[n] for n in BUILTINS]
    dynamic = []
    for msgs, _ in data[:6000]:
        for m in msgs:
            if m["role"] == "system":
                dynamic.append(m["content"].split("# 可用工具")[1])
            else:
                dynamic.append(m["metadata"] + "\n" + m["content"])
    tok = bpe.train(fixed, dynamic, args.n_ranks, fixed_weight=6000)
    print("ranks", tok.n_ranks)
    tok.save(os.path.join(args.out, "tokenizer.model"))
    tok = bpe.Tokenizer.load(os.path.join(args.out, "tokenizer.model"))

    seqs = []
    for msgs, meta in data:
        ids, mask = render(tok, msgs)
        seqs.append((torch.tensor(ids, dtype=torch.int16), torch.tensor(mask, dtype=torch.bool), meta["kind"]))
    lens = [len(s[0]) for s in seqs]
    print("dialogues", len(seqs), "tokens", sum(lens), "mean len", sum(lens) / len(lens), "max", max(lens),
          "loss tokens", sum(int(s[1].sum()) for s in seqs))
    canonical = torch.tensor(render(tok, [dialogues.msg("system", dialogues.system_prompt(list(BUILTINS), []))])[0],
                             dtype=torch.int16)  # [gMASK]<sop><|system|>\n{prompt}
    torch.save({"seqs": seqs, "vocab_size": tok.vocab_size, "seed": args.seed, "canonical_prefix": canonical},
               os.path.join(args.out, "train.pt"))
    with open(os.path.join(args.out, "dialogues_sample.txt"), "w") as f:
        for msgs, meta in data[:30]:
            f.write(tok.decode(render(tok, msgs)[0]) + "\n\n==========\n\n")

    os.makedirs(os.path.join(ROOT, "tests", "eval"), exist_ok=True)
    for name, rows in eval_suites(held_docs, args.seed + 7, args.eval_per_kind).items():
        with open(os.path.join(ROOT, "tests", "eval", f"{name}.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
