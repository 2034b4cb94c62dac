"""Writes tests/e2e_model/tokenizer_golden.jsonl: texts and the ids the training encoder (bpe.py) gives them, so
the C++ tokenizer can be checked against the ids the model was trained on.

Usage: /usr/bin/python3 training/tokenizer_golden.py --tokenizer models/glm4-alltools-tiny/tokenizer.model
"""
import argparse
import json
import os

import bpe
from glm4_format import BUILTINS, system_prompt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "models", "glm4-alltools-tiny", "tokenizer.model"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "e2e_model", "tokenizer_golden.jsonl"))
    args = ap.parse_args()
    tok = bpe.Tokenizer.load(args.tokenizer)
    texts = ["\n" + system_prompt(list(BUILTINS), []),
             "\n" + system_prompt(["python"], [{"name": "get_weather", "description": "查询天气", "parameters": {
                 "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]),
             "python\nresult = 37 * 48 + 12\nprint(result)", "\n1788", "\n37 * 48 + 12 = 1788.",
             'simple_browser\nsearch("Velmora Bridge completed")', "simple_browser\nmclick([0, 1, 2])",
             "quote_result [4†source]\n# 青石桥\n\n青石桥位于云溪镇，建成于1932年，全长450米。",
             "\nVelmora Bridge was completed in 1932【4†source】.", "\n青石桥于1932年建成【5†source】。",
             'get_weather\n{"city": "曼谷"}', "  leading spaces\tand tabs\r\n\r\nCRLF  ", "I'M HERE, you'll SEE'S",
             "emoji 👩‍👩‍👧 and é (e\u0301) ١٢٣ مرحبا", "literal <|user|> and [gMASK] stay text", "", " ", "\n\n\n",
             "12345678901234567890", "x" * 300]
    for name in ("math", "research", "function", "choice"):
        path = os.path.join(ROOT, "tests", "eval", f"{name}.jsonl")
        rows = [json.loads(l) for l in open(path)][:5]
        texts += ["\n" + r["prompt"] for r in rows]
    with open(args.out, "w") as f:
        for t in texts:
            f.write(json.dumps({"text": t, "ids": tok.encode(t)}, ensure_ascii=False) + "\n")
    print("wrote", len(texts), "lines to", args.out)


if __name__ == "__main__":
    main()
