#!/usr/bin/env python3
"""Keeps the robustness suite's held-back half out of training (issue #15). Fails when
1. any file under training/ names the held-back file, this folder or its hand-written case files, or
2. a held-back prompt appears in a user message of the dialogues training/build_data.py generates with its default
   seed (the first two shards of the default recipe's draws: the same rngs, training split, auxiliary variations
   and research pages as build_data.encode_shard).
Exit status 0 = clean. Usage: python3 tests/eval/robust/heldout_guard.py [--dialogues N]
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
TRAINING = os.path.join(ROOT, "training")
FORBIDDEN = ["heldback", "eval/robust", "math_cases", "function_cases", "research_cases", "recovery_cases"]
DEFAULT_SEED = 1234  # build_data.py --seed default


def named_in_training():
    hits = []
    for base, _, files in os.walk(TRAINING):
        if os.path.basename(base) in ("out", "logs", "__pycache__"):
            continue
        for name in files:
            path = os.path.join(base, name)
            try:
                text = open(path, encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            hits += [f"{os.path.relpath(path, ROOT)} names {w!r}" for w in FORBIDDEN if w in text]
    return hits


def held_prompts():
    with open(os.path.join(HERE, "heldback.jsonl"), encoding="utf-8") as f:
        return {json.loads(line)["prompt"] for line in f if line.strip()}


def generated_user_messages(n_per_shard, shards=2):
    sys.dont_write_bytecode = True
    sys.path.insert(0, TRAINING)
    import corpus
    import dialogues
    seed = DEFAULT_SEED
    train_docs = corpus.make_corpus(seed, 150, 150)  # build_data.corpora(seed)
    held = corpus.make_corpus(seed + 1, 60, 60, exclude_names={d["name"] for d in train_docs})
    virtual = dialogues.virtual_corpus(seed + 11, 1500, {d["name"] for d in held})
    for shard in range(shards):
        rng = random.Random(seed * 1000003 + shard)
        aux = random.Random(seed * 1000003 + shard + 500009)
        for _ in range(n_per_shard):
            msgs, _ = dialogues.make_dialogue(rng, train_docs, "train", aux=aux, virtual_docs=virtual)
            for m in msgs:
                if m["role"] == "user":
                    yield m["content"]


def main():
    n = int(sys.argv[sys.argv.index("--dialogues") + 1]) if "--dialogues" in sys.argv else 1500
    problems = named_in_training()
    prompts = held_prompts()
    seen = 0
    for text in generated_user_messages(n):
        seen += 1
        if text in prompts:
            problems.append(f"a generated training dialogue asks a held-back prompt: {text!r}")
    if seen == 0:
        problems.append("no training dialogues were generated")
    for p in problems:
        print("FAIL:", p)
    print(f"checked {seen} generated user messages against {len(prompts)} held-back prompts")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
