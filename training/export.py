"""Step 4 of the recipe: export a checkpoint to the HF `glm` layout the C++ loader reads, and check it.

Usage: /usr/bin/python3 training/export.py --ckpt training/out/ckpt.pt --tokenizer training/out/tokenizer.model \
           --out models/glm4-alltools-tiny
Writes config.json, generation_config.json, model.safetensors (f32, or bf16 with --dtype bf16), tokenizer.model,
reference.safetensors and reference.json. Fails unless an independent float64 NumPy forward of the exported files
reproduces the PyTorch model's logits.
"""
import argparse
import json
import os
import shutil

import numpy as np
import torch

import bpe
import glm_model as G
import reference_forward
import safetensors_io
import train
from glm4_format import BUILTINS, msg, render, system_prompt


def config_json(cfg, tok):
    eos = [tok.special["<|endoftext|>"], tok.special["<|user|>"], tok.special["<|observation|>"]]
    return {
        "architectures": ["GlmForCausalLM"], "attention_bias": True, "attention_dropout": 0.0,
        "bos_token_id": None, "dtype": "float32", "eos_token_id": eos, "head_dim": cfg.head_dim,
        "hidden_act": "silu", "hidden_size": cfg.hidden_size, "initializer_range": 0.02,
        "intermediate_size": cfg.intermediate_size, "max_position_embeddings": cfg.max_position_embeddings,
        "model_type": "glm", "num_attention_heads": cfg.num_attention_heads,
        "num_hidden_layers": cfg.num_hidden_layers, "num_key_value_heads": cfg.num_key_value_heads,
        "pad_token_id": tok.special["<|endoftext|>"], "partial_rotary_factor": cfg.partial_rotary_factor,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_parameters": {"partial_rotary_factor": cfg.partial_rotary_factor, "rope_theta": cfg.rope_theta,
                            "rope_type": "default"},
        "tie_word_embeddings": False, "use_cache": True, "vocab_size": cfg.vocab_size,
    }


def greedy_full(ref, ids, n, stop):
    """Greedy continuation by full recomputation with the NumPy reference: (new ids, logits after each)."""
    ids = list(ids)
    out, step_logits = [], []
    lg = ref.logits(ids)[-1]
    for _ in range(n):
        t = int(np.argmax(lg))
        out.append(t)
        ids.append(t)
        lg = ref.logits(ids)[-1]
        step_logits.append(lg)  # logits after feeding t (the fixtures' convention)
        if t in stop:
            break
    return out, step_logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="training/out/ckpt.pt")
    ap.add_argument("--tokenizer", default="training/out/tokenizer.model")
    ap.add_argument("--out", default="models/glm4-alltools-tiny")
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"],
                    help="stored weights; bf16 rounds the trained weights first, so the exported files are the model "
                         "that the reference and the logit check describe (config.json keeps dtype float32: the "
                         "model computes in f32, RoPE frequencies included)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ck = train.load_pt(args.ckpt)
    cfg = G.Config(**ck["config"])
    model = G.GlmForCausalLM(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    tok = bpe.Tokenizer.load(args.tokenizer)
    assert tok.vocab_size == cfg.vocab_size, (tok.vocab_size, cfg.vocab_size)

    if args.dtype == "bf16":
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(torch.bfloat16).float())
        tensors = {k: safetensors_io.BF16(v.detach().to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16))
                   for k, v in model.state_dict().items()}
    else:
        tensors = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    safetensors_io.save(os.path.join(args.out, "model.safetensors"), tensors, {"format": "pt"})
    json.dump(config_json(cfg, tok), open(os.path.join(args.out, "config.json"), "w"), indent=2)
    stop = [tok.special["<|endoftext|>"], tok.special["<|user|>"], tok.special["<|observation|>"]]
    json.dump({"eos_token_id": stop, "pad_token_id": stop[0], "do_sample": False, "max_new_tokens": 512},
              open(os.path.join(args.out, "generation_config.json"), "w"), indent=2)
    shutil.copyfile(args.tokenizer, os.path.join(args.out, "tokenizer.model"))

    ref = reference_forward.Reference(args.out)
    # full All Tools prompt: the exported weights must reproduce the trained model
    full = render(tok, [msg("system", system_prompt(list(BUILTINS), [])), msg("user", "What is 37 * 48 + 12?")],
                  add_generation_prompt=True)[0]
    with torch.no_grad():
        torch_logits = model(torch.tensor([full]))[0].double().numpy()
    np_logits = ref.logits(full)
    diff = float(np.abs(torch_logits - np_logits).max())
    print("max |torch - numpy reference| logits on the full prompt:", diff)
    assert diff < 1e-3, diff
    greedy_full_prompt, _ = greedy_full(ref, full, 40, stop)

    short = render(tok, [msg("user", "What is 7 * 8?")], add_generation_prompt=True)[0]
    g, step_logits = greedy_full(ref, short, 24, stop)
    margins = []
    for lg in [ref.logits(short)[-1]] + step_logits[:-1]:
        s = np.sort(lg)
        margins.append(float(s[-1] - s[-2]))
    safetensors_io.save(os.path.join(args.out, "reference.safetensors"), {
        "input_ids": np.asarray(short, dtype=np.int64),
        "logits": ref.logits(short).astype(np.float32),
        "greedy_ids": np.asarray(g, dtype=np.int64),
        "greedy_step_logits": np.asarray(step_logits, dtype=np.float32),
        "inv_freq": ref.inv_freq.astype(np.float32)})
    json.dump({"name": os.path.basename(os.path.normpath(args.out)), "arch": "glm", "format": "hf",
               "weights_dtype": "bfloat16" if args.dtype == "bf16" else "float32",
               "parameters": sum(p.numel() for p in model.parameters()), "reference": "float64 NumPy forward (training/reference_forward.py)",
               "max_abs_diff_torch_vs_reference": diff, "min_greedy_top2_margin": min(margins),
               "short_prompt_text": tok.decode(short), "short_greedy_text": tok.decode(g),
               "stop_ids": stop, "full_prompt_ids": full, "full_prompt_greedy_ids": greedy_full_prompt,
               "full_prompt_greedy_text": tok.decode(greedy_full_prompt),
               "training_step": ck["step"], "training_seconds": round(ck["train_seconds"])},
              open(os.path.join(args.out, "reference.json"), "w"), indent=1, ensure_ascii=False)
    print("greedy after the full prompt:", repr(tok.decode(greedy_full_prompt)))
    print("exported", args.out, "step", ck["step"])


if __name__ == "__main__":
    main()
