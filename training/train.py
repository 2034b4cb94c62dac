"""Step 3 of the recipe: train the glm model on the encoded dialogues (loss on assistant tokens only).

Usage: nice -n 19 /usr/bin/python3 training/train.py --data training/out/train.pt --out training/out --steps 3000
CPU-friendly: sequences that start with the same system prompt share one forward of that prefix per batch
(exactly the same math as running each sequence in full); logits are computed only where there is a loss.
Checkpoints (model + optimizer + step + rng) go to out/ckpt.pt every --ckpt-minutes; --resume continues one.
"""
import argparse
import math
import os
import random
import time

import torch
import torch.nn.functional as F

import glm_model as G

MODEL_CONFIG = dict(hidden_size=128, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=32)


def layer_forward(layer, cfg, x, cos, sin, rot, mask, past=None):
    """One decoder layer on x [B, S, C] at positions len(past)..; past = (k, v) [1 or B, KV, P, D] or None.
    Returns (x, (k, v)) with this chunk's keys/values (post-RoPE) for later chunks."""
    B, S, _ = x.shape
    at = layer.self_attn
    H, KV, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    h = layer.input_layernorm(x)
    q = at.q_proj(h).view(B, S, H, D).transpose(1, 2)
    k = at.k_proj(h).view(B, S, KV, D).transpose(1, 2)
    v = at.v_proj(h).view(B, S, KV, D).transpose(1, 2)
    q, k = G.apply_rope(q, cos, sin, rot), G.apply_rope(k, cos, sin, rot)
    kv_new = (k, v)
    if past is not None:
        pk, pv = past
        k = torch.cat([pk.expand(B, -1, -1, -1), k], dim=2)
        v = torch.cat([pv.expand(B, -1, -1, -1), v], dim=2)
    rep = H // KV
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    att = att.masked_fill(mask, float("-inf"))
    att = F.softmax(att.float(), dim=-1).to(q.dtype)
    y = (att @ v).transpose(1, 2).reshape(B, S, H * D)
    x = x + at.o_proj(y)
    x = x + layer.mlp(layer.post_attention_layernorm(x))
    return x, kv_new


def hidden_states(model, prefix, suffix):
    """prefix: [P] ids shared by the batch (may be empty); suffix: [B, S]. Returns final-normed hidden [B, S, C]
    for the suffix positions P..P+S-1 — identical to running cat(prefix, suffix[b]) through the model."""
    cfg = model.cfg
    P, (B, S) = prefix.numel(), suffix.shape
    cos, sin, rot = G.rope_tables(cfg, P + S, suffix.device)
    xs = model.model.embed_tokens(suffix)
    xp = model.model.embed_tokens(prefix[None]) if P else None
    pmask = torch.ones(P, P, dtype=torch.bool).triu(1)
    smask = torch.cat([torch.zeros(S, P, dtype=torch.bool), torch.ones(S, S, dtype=torch.bool).triu(1)], dim=1)
    for layer in model.model.layers:
        past = None
        if P:
            xp, past = layer_forward(layer, cfg, xp, cos[:P], sin[:P], rot, pmask)
        xs, _ = layer_forward(layer, cfg, xs, cos[P:], sin[P:], rot, smask, past)
    return model.model.norm(xs)


def make_batches(seqs, rng, max_tokens, canonical):
    """Groups sequences: those starting with the canonical prefix share it. Yields (prefix, [(ids, mask)])."""
    P = len(canonical)
    shared, other = [], []
    for ids, mask, _ in seqs:
        if len(ids) > P and torch.equal(ids[:P], canonical):
            shared.append((ids[P:], mask[P:]))
        else:
            other.append((ids, mask))
    batches = []
    for group, prefix in ((shared, canonical), (other, canonical[:0])):
        idx = list(range(len(group)))
        rng.shuffle(idx)
        # sort within windows of 256 by length so batches pad little but stay random
        for w in range(0, len(idx), 256):
            win = sorted(idx[w:w + 256], key=lambda i: len(group[i][0]))
            cur = []
            for i in win:
                L = len(group[i][0])
                if cur and (len(cur) + 1) * max(L, max(len(group[j][0]) for j in cur)) > max_tokens:
                    batches.append((prefix, [group[j] for j in cur]))
                    cur = []
                cur.append(i)
            if cur:
                batches.append((prefix, [group[j] for j in cur]))
    rng.shuffle(batches)
    return batches


def batch_loss(model, prefix, items):
    S = max(len(ids) for ids, _ in items)
    B = len(items)
    ids = torch.zeros(B, S, dtype=torch.long)
    tgt_mask = torch.zeros(B, S, dtype=torch.bool)
    for b, (x, m) in enumerate(items):
        ids[b, :len(x)] = x.long()
        tgt_mask[b, :len(m)] = m
    h = hidden_states(model, prefix.long(), ids)
    # the hidden state at position t predicts token t+1; targets are the masked tokens
    sel = tgt_mask[:, 1:]
    hs = h[:, :-1][sel]
    targets = ids[:, 1:][sel]
    logits = model.lm_head(hs)
    return F.cross_entropy(logits.float(), targets), int(sel.sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="training/out/train.pt")
    ap.add_argument("--out", default="training/out")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch-tokens", type=int, default=6000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--time-budget-min", type=float, default=0.0,
                    help="wall-clock budget: the LR decay starts early enough to end within it (0 = steps only)")
    ap.add_argument("--decay-start", type=int, default=-1,
                    help="step where the final LR decay starts (default: at (1 - decay-frac) * steps)")
    ap.add_argument("--decay-frac", type=float, default=0.25)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    data = torch.load(args.data)
    seqs = data["seqs"]
    canonical = data["canonical_prefix"]
    cfg = G.Config(vocab_size=data["vocab_size"], **MODEL_CONFIG)
    model = G.GlmForCausalLM(cfg)
    print("params", sum(p.numel() for p in model.parameters()), flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    step, epoch, done_tokens, train_seconds = 0, 0, 0, 0.0
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, epoch, train_seconds = ck["step"], ck["epoch"], ck["train_seconds"]
        rng.setstate(ck["rng"])
        print("resumed at step", step, flush=True)

    # Warmup, constant, then cosine decay from decay_start to the last step. With --time-budget-min the decay
    # starts when (1 - decay_frac) of the budget is spent; the checkpoint records steps and decay_start, and
    # `--steps N --decay-start D` reproduces the run without the clock.
    sched = {"steps": args.steps,
             "decay_start": args.decay_start if args.decay_start >= 0 else int((1 - args.decay_frac) * args.steps)}
    wall0 = time.time()

    def lr_at(s):
        warm = 40
        if s < warm:
            return args.lr * (s + 1) / warm
        if s < sched["decay_start"]:
            return args.lr
        p = min(1.0, (s - sched["decay_start"]) / max(1, sched["steps"] - sched["decay_start"]))
        return args.lr * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * p)))

    def maybe_start_decay():
        if args.time_budget_min <= 0 or args.decay_start >= 0 or step >= sched["decay_start"]:
            return
        if time.time() - wall0 >= (1 - args.decay_frac) * args.time_budget_min * 60:
            sched["decay_start"] = step
            sched["steps"] = step + max(20, int(step * args.decay_frac / (1 - args.decay_frac)))
            print("time budget: decay starts at step", step, "final step", sched["steps"], flush=True)

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "epoch": epoch,
                    "train_seconds": train_seconds, "rng": rng.getstate(), "config": cfg.__dict__, "sched": dict(sched),
                    "args": vars(args)}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    last_ckpt = time.time()
    ema = None
    t_log = time.time()
    tok_log = 0
    while step < sched["steps"]:
        batches = make_batches(seqs, rng, args.batch_tokens, canonical)
        for prefix, items in batches:
            maybe_start_decay()
            if step >= sched["steps"]:
                break
            t0 = time.time()
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss, n = batch_loss(model, prefix, items)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            train_seconds += time.time() - t0
            toks = len(prefix) + sum(len(i[0]) for i in items)
            done_tokens += toks
            tok_log += toks
            ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
            if step % 20 == 0 or step <= 5:
                now = time.time()
                print(f"step {step} epoch {epoch} loss {loss.item():.4f} ema {ema:.4f} lr {lr_at(step):.2e} "
                      f"tok/s {tok_log / (now - t_log):.0f} train_s {train_seconds:.0f}", flush=True)
                t_log, tok_log = now, 0
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                save()
                last_ckpt = time.time()
        else:
            epoch += 1
    save()
    print("done", step, "steps", f"{train_seconds:.0f}s", "schedule", sched, flush=True)


if __name__ == "__main__":
    main()
