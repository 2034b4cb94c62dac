"""Held-out evaluation in Python of an exported model folder: greedy generation through a simulated All Tools
loop (real Python in a subprocess, a keyword search over the held-out corpus, the task's function results).

Usage: /usr/bin/python3 training/evaluate.py --model models/glm4-alltools-tiny --suites tests/eval [--limit 50]
The loop shows the model what `alltools eval` does: the sandbox's python output, the local search's result list
(10 BM25 hits, file-name titles, quote ids after the list), function schemas with sorted keys and compact results.
Scores: tool choice (first call's tool, or none for chat), well-formed calls, math answers containing the
computed numbers, research answers citing a quote whose page contains the answer, and exact match of the first
call against the reference (math code, function arguments). Prints a table and writes --json.
"""
import argparse
import ast
import json
import math
import os
import re
import subprocess
import sys
import time

import torch

import bpe
import dialogues
import glm_model as G
import safetensors_io
import train as T
from glm4_format import BUILTINS, msg, system_prompt

MAX_STEPS = 6          # tool calls per task
MAX_NEW_TOKENS = 300   # per segment


class Runner:
    """Greedy decoding with a KV cache over the PyTorch model (same math as the export)."""

    def __init__(self, folder):
        cfgj = json.load(open(os.path.join(folder, "config.json")))
        self.cfg = G.Config(vocab_size=cfgj["vocab_size"], hidden_size=cfgj["hidden_size"],
                            intermediate_size=cfgj["intermediate_size"], num_hidden_layers=cfgj["num_hidden_layers"],
                            num_attention_heads=cfgj["num_attention_heads"],
                            num_key_value_heads=cfgj["num_key_value_heads"], head_dim=cfgj["head_dim"],
                            max_position_embeddings=cfgj["max_position_embeddings"])
        self.model = G.GlmForCausalLM(self.cfg)
        w = safetensors_io.load(os.path.join(folder, "model.safetensors"))
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
        self.model.eval()
        self.tok = bpe.Tokenizer.load(os.path.join(folder, "tokenizer.model"))
        self.stop = {self.tok.special[s] for s in ("<|endoftext|>", "<|user|>", "<|observation|>")}
        self.reset()

    def reset(self):
        self.ids, self.cache = [], [None] * self.cfg.num_hidden_layers

    @torch.no_grad()
    def _feed(self, new):
        cfg, P, S = self.cfg, len(self.ids), len(new)
        cos, sin, rot = G.rope_tables(cfg, P + S, "cpu")
        x = self.model.model.embed_tokens(torch.tensor([new]))
        mask = torch.cat([torch.zeros(S, P, dtype=torch.bool), torch.ones(S, S, dtype=torch.bool).triu(1)], 1)
        for i, layer in enumerate(self.model.model.layers):
            x, kv = T.layer_forward(layer, cfg, x, cos[P:], sin[P:], rot, mask, self.cache[i])
            if self.cache[i] is None:
                self.cache[i] = kv
            else:
                self.cache[i] = (torch.cat([self.cache[i][0], kv[0]], 2), torch.cat([self.cache[i][1], kv[1]], 2))
        self.ids += new
        return self.model.lm_head(self.model.model.norm(x[0, -1]))

    def generate(self, prompt_ids):
        """Appends prompt_ids, then greedy tokens until a stop id. Returns (text, stop id or None)."""
        logits = self._feed(prompt_ids)
        out = []
        for _ in range(MAX_NEW_TOKENS):
            t = int(torch.argmax(logits))
            if t in self.stop:
                self._feed([t])
                return self.tok.decode(out), t
            out.append(t)
            logits = self._feed([t])
        return self.tok.decode(out), None


_CELL = """
import sys
sys.path.insert(0, {here!r})
shown = []
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.show = lambda *a, **k: shown.append(1)
except ImportError:
    pass
import dialogues
text, ok = dialogues.run_python(sys.stdin.read())
if shown:
    text = "[Image]" if text == "(no output)" else text + "\\n[Image]"
sys.stdout.write(text)
"""


def run_python(code, timeout=20):
    """The observation the runtime's sandbox gives (dialogues.run_python's layout), in a subprocess."""
    try:
        p = subprocess.run([sys.executable, "-c", _CELL.format(here=os.path.dirname(os.path.abspath(__file__)))],
                           input=code, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "Timed out."
    return p.stdout if p.returncode == 0 else (p.stdout + p.stderr.strip().splitlines()[-1:][0] if p.stderr.strip() else "(no output)")


class LocalSearch:
    """The runtime's local search over a folder of markdown pages (dialogues.bm25_rank / snippet: 10 hits, the file
    name as title, host local)."""

    def __init__(self, folder):
        self.docs = []
        for name in sorted(os.listdir(folder)):
            if name.endswith(".md"):
                text = open(os.path.join(folder, name)).read()
                self.docs.append({"path": name, "title": name, "text": text})

    def search(self, query, k=10):
        return dialogues.bm25_rank(query, self.docs)[:k]


def parse_browser(body):
    """Returns list of ('search', query) / ('mclick', [ids]) / ('open_url', url), or None if malformed."""
    calls = []
    for line in body.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            node = ast.parse(line, mode="eval").body
        except SyntaxError:
            return None
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            return None
        try:
            argv = [ast.literal_eval(a) for a in node.args]
        except ValueError:
            return None
        name = node.func.id
        if name == "search" and argv and isinstance(argv[0], str):
            calls.append(("search", argv[0]))
        elif name == "mclick" and argv and isinstance(argv[0], list) and all(isinstance(i, int) for i in argv[0]):
            calls.append(("mclick", argv[0]))
        elif name == "open_url" and argv and isinstance(argv[0], str):
            calls.append(("open_url", argv[0]))
        else:
            return None
    return calls or None


def numbers_in(text):
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", text.replace(",", ""))]


def contains_number(text, value):
    v = float(value)
    return any(math.isclose(n, v, rel_tol=1e-6, abs_tol=1e-9) for n in numbers_in(text))


def run_task(runner, task, search):
    fns = task.get("functions", [])
    # the schema as `alltools eval` hands it to the runtime (its manifests keep JSON keys sorted)
    shown = [{"name": f["name"], "description": f["description"], "parameters": dialogues.sort_keys(f["parameters"])}
             for f in fns]
    messages = [msg("system", system_prompt(list(BUILTINS), shown)), msg("user", task["prompt"])]
    tok, sp = runner.tok, runner.tok.special
    runner.reset()
    prompt = [sp["[gMASK]"], sp["<sop>"]]
    for m in messages:
        prompt += [sp["<|" + m["role"] + "|>"]] + tok.encode(m["metadata"] + "\n" + m["content"])
    prompt.append(sp["<|assistant|>"])
    calls, answer, quotes, last_list, quote_k = [], None, {}, [], 0
    for _ in range(MAX_STEPS + 1):
        text, stop = runner.generate(prompt)
        name, _, body = text.partition("\n")
        name = name.strip()
        if not name:
            answer = body
            break
        call = {"tool": name, "body": body, "well_formed": False}
        calls.append(call)
        obs = []  # (metadata, text)
        if name == "python":
            try:
                compile(body, "<cell>", "exec")
                call["well_formed"] = True
            except SyntaxError:
                pass
            obs.append(("", run_python(body)))
        elif name == "simple_browser":
            parsed = parse_browser(body)
            call["well_formed"] = parsed is not None
            for kind, arg in parsed or []:
                if kind == "search":
                    last_list = search.search(arg)
                    # the runtime's layout (tools/browser): host "local" for files, one-line snippets
                    text = dialogues.search_observation(last_list, [d["title"] for d in last_list])
                    obs.append(("browser_result", text or f'No results for "{arg}".\nVisible: 0% - 100%'))
                elif kind == "mclick":
                    quote_k = max(quote_k, len(last_list))  # quote ids never collide with list ids
                    for i in arg:
                        if 0 <= i < len(last_list):
                            quotes[quote_k] = last_list[i]
                            obs.append((f"quote_result [{quote_k}†source]", last_list[i]["text"]))
                            quote_k += 1
                else:
                    obs.append(("system_error", "open_url is not available offline"))
            if parsed is None:
                obs.append(("system_error", "could not parse the browser call"))
        elif name == "cogview":
            call["well_formed"] = bool(body.strip()) and body.isascii()
            obs.append(("cogview_result", "CogView 已经生成并向用户展示了生成的图片。"))
        else:
            spec = next((f for f in fns if f["name"] == name), None)
            try:
                args = json.loads(body)
                ok = isinstance(args, dict) and spec is not None and \
                    all(r in args for r in spec["parameters"].get("required", [])) and \
                    set(args) <= set(spec["parameters"]["properties"])
            except json.JSONDecodeError:
                args, ok = None, False
            call["well_formed"] = ok
            call["arguments"] = args
            result = task.get("function_results", {}).get(name)
            # `alltools eval` runs each function as an executable printing its result as compact sorted JSON
            obs.append(("", json.dumps(result, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
                        if ok and result is not None else json.dumps({"error": f"bad call to {name}"})))
        prompt = []
        for meta, t in obs:
            prompt += [sp["<|observation|>"]] + tok.encode(meta + "\n" + t)
        prompt.append(sp["<|assistant|>"])
        if stop != sp["<|observation|>"]:
            break
    return calls, answer, quotes


def score(task, calls, answer, quotes):
    r = {"id": task["id"], "kind": task["kind"]}
    first = calls[0]["tool"] if calls else None
    r["tool_ok"] = first == task["expect_tool"]
    r["calls"] = len(calls)
    r["calls_well_formed"] = sum(c["well_formed"] for c in calls)
    r["answer"] = answer
    if task["kind"] == "math":
        r["math_ok"] = answer is not None and all(contains_number(answer, v) for v in task["answer_numbers"])
        r["exact_call"] = bool(calls) and calls[0]["body"].strip() == task["reference_code"].strip()
    if task["kind"] == "research":
        cited = [int(k) for k in re.findall(r"【(\d+)†", answer or "")]
        r["cited"] = cited
        r["cite_ok"] = any(k in quotes and task["answer_contains"] in quotes[k]["text"] for k in cited)
        r["answer_ok"] = answer is not None and task["answer_contains"] in answer
    if task["kind"] == "function":
        r["exact_call"] = bool(calls) and calls[0].get("arguments") == task["expect_arguments"] \
            and calls[0]["tool"] == task["expect_tool"]
        r["answer_ok"] = answer is not None and all(str(a) in answer for a in task["answer_contains"])
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/glm4-alltools-tiny")
    ap.add_argument("--suites", default="tests/eval")
    ap.add_argument("--limit", type=int, default=0, help="tasks per suite (0 = all)")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runner = Runner(args.model)
    search = LocalSearch(os.path.join(args.suites, "corpus"))
    results = []
    t0 = time.time()
    for suite in ("math", "research", "function", "choice"):
        tasks = [json.loads(l) for l in open(os.path.join(args.suites, f"{suite}.jsonl"))]
        if args.limit:
            tasks = tasks[:args.limit]
        for task in tasks:
            calls, answer, quotes = run_task(runner, task, search)
            results.append(score(task, calls, answer, quotes))
    summary = {}
    def rate(rows, key):
        rows = [r for r in rows if key in r]
        return (sum(bool(r[key]) for r in rows) / len(rows), len(rows)) if rows else (float("nan"), 0)
    summary["tool_choice"] = rate(results, "tool_ok")
    n_calls = sum(r["calls"] for r in results)
    summary["calls_well_formed"] = (sum(r["calls_well_formed"] for r in results) / max(1, n_calls), n_calls)
    summary["math_answers"] = rate([r for r in results if r["kind"] == "math"], "math_ok")
    summary["math_exact_first_call"] = rate([r for r in results if r["kind"] == "math"], "exact_call")
    summary["research_cites_answer_page"] = rate(results, "cite_ok")
    summary["research_answer_contains"] = rate([r for r in results if r["kind"] == "research"], "answer_ok")
    summary["function_exact_call"] = rate([r for r in results if r["kind"] == "function"], "exact_call")
    summary["function_answer"] = rate([r for r in results if r["kind"] == "function"], "answer_ok")
    for kind in sorted({r["kind"] for r in results}):
        summary[f"tool_choice[{kind}]"] = rate([r for r in results if r["kind"] == kind], "tool_ok")
    print(f"{'metric':32s} {'score':>7s} {'n':>5s}")
    for k, (v, n) in summary.items():
        print(f"{k:32s} {100 * v:6.1f}% {n:5d}")
    print(f"tasks {len(results)}  seconds {time.time() - t0:.0f}")
    if args.json:
        json.dump({"summary": summary, "results": results}, open(args.json, "w"), indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
