"""Step 1+2 of the recipe: corpus, dialogues, tokenizer, encoded training set, held-out eval suites.

Usage: /usr/bin/python3 training/build_data.py --out training/out [--dialogues 20000] [--seed 1234] [--workers N]
           [--tokenizer models/glm4-alltools-tiny/tokenizer.model] [--no-repo-files] [--time-limit S]
Writes: out/tokenizer.model, out/train.npz (flat ids/masks/offsets), out/dialogues_sample.txt, and unless
--no-repo-files the corpus folders and tests/eval/*.jsonl. Dialogues come in seeded shards (seed, shard), encoded in
--workers processes; with --tokenizer the BPE is not retrained (the shipped tokenizer keeps the C++ goldens valid).
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import time

import numpy as np

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


# ---------------------------------------------------------------------------------------------- encoded dialogues

_W = {}  # per worker process: tokenizer, documents


def corpora(seed):
    """(training documents, held-out documents) for build_data.py --seed `seed`: the held-out ones exclude the
    training names, and everything held out (tests/eval/corpus, the suites) follows from them."""
    train_docs = corpus.make_corpus(seed, 150, 150)
    held = corpus.make_corpus(seed + 1, 60, 60, exclude_names={d["name"] for d in train_docs})
    return train_docs, held


def _worker_init(tokenizer_path, seed, weights=None, dialogue_seed=None, math_weights=None):
    _W["tok"] = bpe.Tokenizer.load(tokenizer_path)
    _W["weights"] = weights
    _W["math_weights"] = math_weights
    _W["dialogue_seed"] = seed if dialogue_seed is None else dialogue_seed
    train_docs, held = corpora(seed)
    _W["docs"] = train_docs
    _W["virtual"] = dialogues.virtual_corpus(seed + 11, 1500, {d["name"] for d in held})


def encode_shard(job):
    """job = (seed, shard, n): n dialogues from their own seeded rngs. Returns flat arrays (ids int16, mask uint8,
    lengths int32), kinds and the first few dialogues as text."""
    _, shard, n = job
    seed = _W["dialogue_seed"]  # the corpus (and so what is held out) follows `seed`; the dialogues may not
    rng = random.Random(seed * 1000003 + shard)
    aux = random.Random(seed * 1000003 + shard + 500009)
    tok = _W["tok"]
    ids_all, mask_all, lens, kinds, sample = [], [], [], [], []
    for _ in range(n):
        msgs, meta = dialogues.make_dialogue(rng, _W["docs"], "train", aux=aux, virtual_docs=_W["virtual"],
                                             weights=_W["weights"], math_weights=_W["math_weights"])
        ids, mask = render(tok, msgs)
        ids_all += ids
        mask_all += mask
        lens.append(len(ids))
        kinds.append(meta["kind"])
        if len(sample) < 40:
            sample.append(tok.decode(ids))
    return (np.asarray(ids_all, dtype=np.int16), np.asarray(mask_all, dtype=np.uint8), np.asarray(lens, dtype=np.int32),
            kinds, sample)


def build_encoded(tokenizer_path, seed, n_dialogues, workers, shard_size, time_limit, weights=None,
                  dialogue_seed=None, math_weights=None):
    """Encodes n_dialogues in parallel shards; stops collecting at time_limit seconds (0 = none)."""
    t0 = time.time()
    jobs = [(seed, s, min(shard_size, n_dialogues - s * shard_size)) for s in range((n_dialogues + shard_size - 1) // shard_size)]
    parts = {}
    if workers <= 1:
        _worker_init(tokenizer_path, seed, weights, dialogue_seed, math_weights)
        for j in jobs:
            parts[j[1]] = encode_shard(j)
            if time_limit and time.time() - t0 > time_limit:
                break
    else:
        ctx = mp.get_context("fork")
        pool = ctx.Pool(workers, initializer=_worker_init, initargs=(tokenizer_path, seed, weights, dialogue_seed, math_weights))
        try:
            it = pool.imap_unordered(_shard_with_id, jobs)
            while len(parts) < len(jobs):
                left = time_limit - (time.time() - t0) if time_limit else None
                if left is not None and left <= 0:
                    print(f"data: time limit, {len(parts)} of {len(jobs)} shards", flush=True)
                    break
                try:
                    k, r = it.next(timeout=left)
                except mp.TimeoutError:
                    print(f"data: time limit, {len(parts)} of {len(jobs)} shards", flush=True)
                    break
                parts[k] = r
                if len(parts) % max(1, len(jobs) // 10) == 0:
                    print(f"data: {len(parts)}/{len(jobs)} shards {time.time() - t0:.1f}s", flush=True)
        finally:
            pool.terminate()
            pool.join()
    order = sorted(parts)
    return [parts[k] for k in order]


def _shard_with_id(job):
    return job[1], encode_shard(job)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "training", "out"))
    ap.add_argument("--dialogues", type=int, default=20000)
    ap.add_argument("--n-ranks", type=int, default=4082)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--eval-per-kind", type=int, default=100)
    ap.add_argument("--tokenizer", default="",
                    help="reuse this tokenizer.model (e.g. the shipped one) instead of training the BPE")
    ap.add_argument("--no-repo-files", action="store_true",
                    help="write only into --out (not the model's corpus/ nor tests/eval)")
    ap.add_argument("--eval-out", default="", help="write the held-out suites here instead of tests/eval")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--shard-size", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=0.0, help="seconds; keep the shards finished by then")
    ap.add_argument("--max-len", type=int, default=2048, help="drop dialogues longer than this many tokens")
    ap.add_argument("--kind-weights", default="",
                    help="dialogue mix instead of dialogues.KINDS, e.g. math=0.5,research=0.2 (unnamed kinds: 0)")
    ap.add_argument("--math-templates", default="",
                    help="curriculum: math_problem template weights, e.g. 8=12 (averages) (others 1)")
    ap.add_argument("--dialogue-seed", type=int, default=None,
                    help="seed of the dialogues only (default --seed); the corpora, and so what is held out, "
                         "follow --seed")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    train_docs, held_docs = corpora(args.seed)
    if not args.no_repo_files:
        write_corpus(train_docs, os.path.join(ROOT, "models", "glm4-alltools-tiny", "corpus"))
        write_corpus(held_docs, os.path.join(ROOT, "tests", "eval", "corpus"))

    tok_path = os.path.join(args.out, "tokenizer.model")
    if args.tokenizer:
        if os.path.abspath(args.tokenizer) != os.path.abspath(tok_path):
            shutil.copyfile(args.tokenizer, tok_path)
        print("tokenizer: reusing", args.tokenizer, flush=True)
    else:
        rng = random.Random(args.seed)
        data = [dialogues.make_dialogue(rng, train_docs, "train") for _ in range(min(6000, args.dialogues))]
        fixed = [IDENTITY, "\n\n# 可用工具", FUNCTION_SENTENCE] + [f"\n\n## {n}\n\n" + TOOL_TEXTS[n] for n in BUILTINS]
        dynamic = []
        for msgs, _ in data:
            for m in msgs:
                if m["role"] == "system":
                    dynamic.append(m["content"].split("# 可用工具")[1])
                else:
                    dynamic.append(m["metadata"] + "\n" + m["content"])
        tok = bpe.train(fixed, dynamic, args.n_ranks, fixed_weight=6000)
        print("ranks", tok.n_ranks)
        tok.save(tok_path)
    tok = bpe.Tokenizer.load(tok_path)

    weights = dialogues.parse_kind_weights(args.kind_weights) if args.kind_weights else None
    math_weights = {int(k): float(v) for k, v in (p.split("=") for p in args.math_templates.split(",") if p)}
    parts = build_encoded(tok_path, args.seed, args.dialogues, args.workers, args.shard_size, args.time_limit,
                          weights, args.dialogue_seed, math_weights or None)
    ids = np.concatenate([p[0] for p in parts])
    mask = np.concatenate([p[1] for p in parts])
    lens = np.concatenate([p[2] for p in parts]).astype(np.int64)
    kinds = [k for p in parts for k in p[3]]
    offsets = np.concatenate([[0], np.cumsum(lens)])
    keep = lens <= args.max_len
    print(f"dialogues {len(lens)} tokens {int(lens.sum())} mean len {lens.mean():.1f} max {int(lens.max())} "
          f"loss tokens {int(mask.sum())}; {int((~keep).sum())} longer than {args.max_len} dropped; "
          f"{time.time() - t0:.1f}s", flush=True)
    if not keep.all():
        sel = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in np.nonzero(keep)[0]])
        ids, mask, lens = ids[sel], mask[sel], lens[keep]
        kinds = [k for k, kp in zip(kinds, keep) if kp]
        offsets = np.concatenate([[0], np.cumsum(lens)])
    canonical = np.asarray(render(tok, [dialogues.msg("system", dialogues.system_prompt(list(BUILTINS), []))])[0],
                           dtype=np.int16)  # [gMASK]<sop><|system|>\n{prompt}
    kind_names = sorted(set(kinds))
    np.savez(os.path.join(args.out, "train.npz"), ids=ids, mask=mask, offsets=offsets,
             kinds=np.asarray([kind_names.index(k) for k in kinds], dtype=np.int8), kind_names=np.asarray(kind_names),
             vocab_size=np.int64(tok.vocab_size), seed=np.int64(args.seed), canonical_prefix=canonical)
    with open(os.path.join(args.out, "dialogues_sample.txt"), "w") as f:
        for text in parts[0][4][:30]:
            f.write(text + "\n\n==========\n\n")

    suites_dir = args.eval_out or ("" if args.no_repo_files else os.path.join(ROOT, "tests", "eval"))
    if suites_dir:
        os.makedirs(suites_dir, exist_ok=True)
        for name, rows in eval_suites(held_docs, args.seed + 7, args.eval_per_kind).items():
            with open(os.path.join(suites_dir, f"{name}.jsonl"), "w") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"data done in {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
