#!/usr/bin/env python3
"""Writes the robustness suite (issue #15) from the hand-written cases next to this file:
tests/eval/robust/dev.jsonl and tests/eval/robust/heldback.jsonl, in the schema of tests/eval/*.jsonl (see
apps/alltools/cmd_eval.cc) plus the `recovery` kind.

The cases are written by a person (math_cases.py, function_cases.py, research_cases.py, recovery_cases.py); this
script only runs each reference cell to fix the expected numbers, checks that every prefilled failing
cell really fails, and splits deterministically: within each kind, tasks are ordered by sha256(id) and alternate
dev / held-back, so both halves have the same mix and the split never depends on file order.

Held-back rule: nothing under training/ may read heldback.jsonl or these case files (tests/eval/robust/
heldout_guard.py checks that training/ never names them and that build_data.py's default dialogues contain none of
the held-back prompts). Tune on dev; report acceptance on the held-back half.

Usage: python3 tests/eval/robust/make_suite.py [--check]   (--check: fail if the written files are stale)
"""
import contextlib
import hashlib
import io
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.dont_write_bytecode = True  # the case modules are imported from the source tree
sys.path.insert(0, HERE)

from function_cases import FUNCTION, SPECS  # noqa: E402
from math_cases import MATH  # noqa: E402
from recovery_cases import FAIL_FIRST, PYTHON_PREFILL, WRONG_NAME_PREFILL  # noqa: E402
from research_cases import RESEARCH  # noqa: E402

CORPUS = "tests/eval/corpus"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def run(code):
    """(stdout, ok) of a cell (this file's own reference code) run in a fresh namespace of this interpreter."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<cell>", "exec"), {"__name__": "__main__"})  # noqa: S102 - the suite's own cells
    except Exception:  # noqa: BLE001 - a failing cell is what the prefilled recovery cells must do
        return out.getvalue().strip(), False
    return out.getvalue().strip(), True


def numbers(code):
    out, ok = run(code)
    if not ok or not NUMBER.search(out):
        raise SystemExit(f"reference code failed or printed no number:\n{code}\n{out}")
    return NUMBER.findall(out)


def function_row(lang, prompt, offered, target, args, result, contains):
    fns = [SPECS[k] for k in offered]
    name = SPECS[target]["name"]
    return {"lang": lang, "prompt": prompt, "functions": fns, "expect_tool": name, "expect_arguments": args,
            "function_results": {name: result}, "answer_contains": contains}


def rows():
    out = {"math": [], "function": [], "research": [], "recovery": []}
    for lang, prompt, code in MATH:
        out["math"].append({"lang": lang, "prompt": prompt, "expect_tool": "python", "answer_numbers": numbers(code),
                            "reference_code": code})
    for case in FUNCTION:
        out["function"].append(function_row(*case))
    facts = {}
    with open(os.path.join(ROOT, CORPUS, "facts.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            facts[int(d["id"][3:])] = d
    for lang, prompt, doc, fact in RESEARCH:
        d = facts[doc]
        out["research"].append({"lang": lang, "prompt": prompt, "expect_tool": "simple_browser",
                                "answer_contains": d["facts"][fact], "corpus": CORPUS, "answer_doc": d["path"],
                                "answer_title": d["name"]})
    for lang, prompt, broken, code in PYTHON_PREFILL:
        if run(broken)[1]:
            raise SystemExit(f"prefilled cell does not fail:\n{broken}")
        out["recovery"].append({"lang": lang, "prompt": prompt, "family": "python_error",
                                "prefill": [{"tool": "python", "body": broken}], "expect_tool": "python",
                                "answer_numbers": numbers(code), "reference_code": code})
    for lang, prompt, offered, target, wrong, args, result, contains in WRONG_NAME_PREFILL:
        if wrong in {s["name"] for s in SPECS.values()}:
            raise SystemExit(f"{wrong} is a real function name")
        row = function_row(lang, prompt, offered, target, args, result, contains)
        row.update(family="wrong_name", prefill=[{"tool": wrong, "body": json.dumps(args, ensure_ascii=False)}])
        out["recovery"].append(row)
    for lang, prompt, offered, target, args, result, contains, error in FAIL_FIRST:
        row = function_row(lang, prompt, offered, target, args, result, contains)
        row.update(family="tool_error", fail_first={SPECS[target]["name"]: error})
        out["recovery"].append(row)
    return out


def split(by_kind):
    dev, held = [], []
    for kind, items in by_kind.items():
        for i, row in enumerate(items):
            row_id = f"robust-{kind}-{i:03d}"
            items[i] = {"id": row_id, "kind": kind, **row}
        ordered = sorted(items, key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
        for j, row in enumerate(ordered):
            (dev if j % 2 == 0 else held).append(row)
    key = lambda r: r["id"]  # noqa: E731
    return sorted(dev, key=key), sorted(held, key=key)


def main():
    dev, held = split(rows())
    texts = {name: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part)
             for name, part in (("dev.jsonl", dev), ("heldback.jsonl", held))}
    stale = []
    for name, text in texts.items():
        path = os.path.join(HERE, name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(name)
            if "--check" not in sys.argv:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    if "--check" in sys.argv and stale:
        raise SystemExit("stale: " + ", ".join(stale) + " (run tests/eval/robust/make_suite.py)")
    for name, part in (("dev", dev), ("heldback", held)):
        counts = {}
        for r in part:
            counts[r["kind"]] = counts.get(r["kind"], 0) + 1
        print(name, len(part), counts)


if __name__ == "__main__":
    main()
