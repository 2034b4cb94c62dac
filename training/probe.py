"""A quick look at a freshly trained model: the first segment it writes on a few held-out tasks of each suite, with
the prompt laid out as `alltools eval` lays it out (sorted function schemas). Greedy, full recompute, on the training
device; bounded by a time limit. Not a score to report (evaluate.py and `alltools eval` run the whole loop): a signal
in the training log that tool choice, copied numbers and function arguments are being learnt.

Usage (also called by train.py --probe-suites): python3 training/probe.py --model DIR --suites tests/eval [--n 8]
"""
import argparse
import json
import os
import time

import torch

import bpe
import dialogues
from glm4_format import BUILTINS, msg, render, system_prompt


def first_segment(model, tok, prompt_ids, device, max_new=64):
    stop = {tok.special[s] for s in ("<|endoftext|>", "<|user|>", "<|observation|>")}
    ids = list(prompt_ids)
    out = []
    with torch.no_grad():
        for _ in range(max_new):
            logits = model(torch.tensor([ids], device=device))[0, -1]
            t = int(torch.argmax(logits))
            if t in stop:
                break
            out.append(t)
            ids.append(t)
    return tok.decode(out)


def task_prompt(tok, task):
    fns = [{"name": f["name"], "description": f["description"], "parameters": dialogues.sort_keys(f["parameters"])}
           for f in task.get("functions", [])]
    return render(tok, [msg("system", system_prompt(list(BUILTINS), fns)), msg("user", task["prompt"])],
                  add_generation_prompt=True)[0]


def probe(model, tok, suites_dir, n, device, seconds, log=print):
    """Prints per-suite counts: right tool first; math: the reference code exactly / every number of the prompt in
    the code; function: arguments equal; research: a search call. Returns the counts."""
    t0 = time.time()
    was_training = model.training
    model.eval()
    counts = {}
    samples = []
    for suite in ("math", "function", "research", "choice"):
        path = os.path.join(suites_dir, f"{suite}.jsonl")
        if not os.path.exists(path):
            continue
        tasks = [json.loads(line) for line in open(path)][:n]
        c = counts.setdefault(suite, {"tasks": 0, "tool": 0, "exact": 0, "numbers": 0})
        for task in tasks:
            if time.time() - t0 > seconds:
                break
            text = first_segment(model, tok, task_prompt(tok, task), device)
            name, _, body = text.partition("\n")
            expect = task.get("expect_tool")
            c["tasks"] += 1
            c["tool"] += (name.strip() or None) == expect
            if suite == "math":
                c["exact"] += body.strip() == task["reference_code"].strip()
                nums = [w for w in dialogues.re.findall(r"\d+(?:\.\d+)?", task["prompt"])]
                c["numbers"] += all(x in body for x in nums)
            elif suite == "function":
                try:
                    c["exact"] += name.strip() == expect and json.loads(body) == task["expect_arguments"]
                except ValueError:
                    pass
            elif suite == "research":
                c["exact"] += name.strip() == "simple_browser" and body.strip().startswith("search(")
            if len(samples) < 6 and suite in ("math", "function") and c["tasks"] <= 3:
                samples.append((task["prompt"], text))
    for suite, c in counts.items():
        log(f"probe {suite}: {c['tasks']} tasks, first tool right {c['tool']}, "
            + {"math": f"reference code {c['exact']}, all prompt numbers in the code {c['numbers']}",
               "function": f"name and arguments right {c['exact']}", "research": f"search call {c['exact']}",
               "choice": ""}[suite])
    for p, t in samples:
        log(f"probe sample: {p!r} -> {t[:160]!r}")
    log(f"probe took {time.time() - t0:.1f}s")
    if was_training:
        model.train()
    return counts


def main():
    import glm_model as G
    import safetensors_io
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--suites", default="tests/eval")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=300)
    args = ap.parse_args()
    cfgj = json.load(open(os.path.join(args.model, "config.json")))
    keys = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "max_position_embeddings")
    model = G.GlmForCausalLM(G.Config(**{k: cfgj[k] for k in keys}))
    w = safetensors_io.load(os.path.join(args.model, "model.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
    tok = bpe.Tokenizer.load(os.path.join(args.model, "tokenizer.model"))
    probe(model, tok, args.suites, args.n, "cpu", args.seconds)


if __name__ == "__main__":
    main()
