"""Step 3 of the recipe: train the glm model on the encoded dialogues (loss on assistant tokens only).

Usage: nice -n 19 /usr/bin/python3 training/train.py --data training/out/train.npz --out training/out --steps 3000
       python3 training/train.py --device cuda --deadline EPOCH_SECONDS --hidden 256 --layers 8 ...   (GPU, by the clock)
CPU (the shipped recipe): sequences that start with the same system prompt share one forward of that prefix per
batch (exactly the same math as running each sequence in full). CUDA: length-bucketed padded batches, bf16 autocast,
PyTorch's fused causal attention (checked against the plain path on the first batch; it falls back to the plain path
if they disagree). Either way logits are computed only where there is a loss.
Schedules: warmup, constant, cosine decay — by steps (--steps/--decay-start), or by the clock (--time-budget-min,
--time-budget-s or --deadline: the decay takes the last --decay-frac of the time and training stops at the deadline).
Checkpoints (model + optimizer + step + rng) go to out/ckpt.pt every --ckpt-minutes; --resume continues one.
"""
import argparse
import math
import os
import random
import sys
import time

import numpy as np

import torch
import torch.nn.functional as F

import glm_model as G

MODEL_CONFIG = dict(hidden_size=128, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=32)  # the shipped 1.84M-parameter model (the flags' defaults)


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
    # scale q rather than the [B, H, S, P+S] scores, and mask the scores in place (bmm keeps its inputs, not its
    # output, for backward): two passes less over the largest tensor of the step
    att = (q * (1.0 / math.sqrt(D))) @ k.transpose(-1, -2)
    att.masked_fill_(mask, float("-inf"))
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


def load_pt(path):
    """torch.load for our own files on any torch version (2.6+ defaults to weights_only=True)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # torch < 1.13
        return torch.load(path, map_location="cpu")


class Data:
    """Encoded dialogues as flat arrays: ids (int16), mask (uint8), offsets [n+1]; plus the canonical prefix."""

    def __init__(self, path):
        if not os.path.exists(path) and path.endswith(".pt") and os.path.exists(path[:-3] + ".npz"):
            path = path[:-3] + ".npz"
        if path.endswith(".npz"):
            z = np.load(path)
            self.ids, self.mask, self.offsets = z["ids"], z["mask"].astype(bool), z["offsets"].astype(np.int64)
            self.vocab_size = int(z["vocab_size"])
            self.canonical = torch.from_numpy(z["canonical_prefix"].astype(np.int16))
        else:  # the older train.pt: {"seqs": [(ids int16, mask bool, kind)], "canonical_prefix", "vocab_size"}
            d = load_pt(path)
            lens = [len(s[0]) for s in d["seqs"]]
            self.offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
            self.ids = np.concatenate([s[0].numpy() for s in d["seqs"]])
            self.mask = np.concatenate([s[1].numpy() for s in d["seqs"]]).astype(bool)
            self.vocab_size = d["vocab_size"]
            self.canonical = d["canonical_prefix"]
        self.lens = np.diff(self.offsets)

    def __len__(self):
        return len(self.lens)

    def seqs(self):
        """The CPU path's list of (ids, mask, kind) tensors."""
        return [(torch.from_numpy(self.ids[a:b].copy()), torch.from_numpy(self.mask[a:b].copy()), None)
                for a, b in zip(self.offsets[:-1], self.offsets[1:])]


def padded_batches(data, rng, max_tokens, window=8192):
    """CUDA path: shuffled sequence indices, sorted by length within windows, cut into batches of at most max_tokens
    padded tokens; the batch order is shuffled. Returns a list of index arrays."""
    idx = list(range(len(data)))
    rng.shuffle(idx)
    batches = []
    lens = data.lens
    for w in range(0, len(idx), window):
        win = sorted(idx[w:w + window], key=lambda i: lens[i])
        cur, longest = [], 0
        for i in win:
            L = int(lens[i])
            if cur and (len(cur) + 1) * max(L, longest) > max_tokens:
                batches.append(cur)
                cur, longest = [], 0
            cur.append(i)
            longest = max(longest, L)
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches


def make_padded(data, items):
    """(ids [B, S] int64, flat positions whose hidden state predicts a loss token, those targets), pinned numpy."""
    S = int(max(data.lens[i] for i in items))
    ids = np.zeros((len(items), S), dtype=np.int64)
    sel, tgt = [], []
    for b, i in enumerate(items):
        a, e = data.offsets[i], data.offsets[i + 1]
        x = data.ids[a:e]
        ids[b, :e - a] = x
        t = np.nonzero(data.mask[a + 1:e])[0]  # position t predicts token t+1
        sel.append(b * S + t)
        tgt.append(x[t + 1])
    return ids, np.concatenate(sel).astype(np.int64), np.concatenate(tgt).astype(np.int64)


def causal_attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    S = q.shape[-2]  # torch < 2.0 (Debian's 1.13): the same math, unfused
    att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    att = att.masked_fill(torch.ones(S, S, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return F.softmax(att.float(), dim=-1).to(q.dtype) @ v


def fast_hidden(model, ids, cos, sin, rot):
    """Final-normed hidden states [B, S, C] of a right-padded batch: the glm_model math with PyTorch's fused causal
    attention (padding sits after every real token, so causal attention never sees it)."""
    cfg = model.cfg
    B, S = ids.shape
    H, KV, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    c, s = cos[:S], sin[:S]
    x = model.model.embed_tokens(ids)
    for layer in model.model.layers:
        at = layer.self_attn
        h = layer.input_layernorm(x)
        q = at.q_proj(h).view(B, S, H, D).transpose(1, 2)
        k = at.k_proj(h).view(B, S, KV, D).transpose(1, 2)
        v = at.v_proj(h).view(B, S, KV, D).transpose(1, 2)
        q, k = G.apply_rope(q, c, s, rot).to(v.dtype), G.apply_rope(k, c, s, rot).to(v.dtype)
        if KV != H:
            k = k.repeat_interleave(H // KV, dim=1)
            v = v.repeat_interleave(H // KV, dim=1)
        y = causal_attention(q, k, v)
        x = x + at.o_proj(y.transpose(1, 2).reshape(B, S, H * D))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.model.norm(x)


def plain_hidden(model, ids, cos, sin, rot):
    """The same with the explicit masked softmax of layer_forward (the fallback and the fast path's check)."""
    S = ids.shape[1]
    mask = torch.ones(S, S, dtype=torch.bool, device=ids.device).triu(1)
    x = model.model.embed_tokens(ids)
    for layer in model.model.layers:
        x, _ = layer_forward(layer, model.cfg, x, cos[:S], sin[:S], rot, mask)
    return model.model.norm(x)


def padded_loss(model, hidden_fn, batch, rope, amp_dtype):
    ids, sel, tgt = batch
    with torch.autocast("cuda", dtype=amp_dtype, enabled=amp_dtype is not None):
        h = hidden_fn(model, ids, *rope)
        logits = model.lm_head(h.reshape(-1, h.shape[-1]).index_select(0, sel))
    return F.cross_entropy(logits.float(), tgt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="training/out/train.npz")
    ap.add_argument("--out", default="training/out")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.03, help="the decay ends at this fraction of --lr")
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--beta2", type=float, default=0.98)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--batch-tokens", type=int, default=6000,
                    help="tokens per step (CPU: prefix + suffixes; CUDA: padded batch size)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default="", help="start from this exported model folder (fine-tuning) instead of a "
                                               "random init; the size flags must match its config.json")
    ap.add_argument("--time-budget-min", type=float, default=0.0,
                    help="wall-clock budget: the LR decay starts early enough to end within it (0 = steps only)")
    ap.add_argument("--time-budget-s", type=float, default=0.0, help="the same in seconds, from the start of training")
    ap.add_argument("--deadline", type=float, default=0.0,
                    help="absolute time (epoch seconds) by which training stops and the checkpoint is written")
    ap.add_argument("--decay-start", type=int, default=-1,
                    help="step where the final LR decay starts (default: at (1 - decay-frac) * steps)")
    ap.add_argument("--decay-frac", type=float, default=0.25)
    # model size (defaults: the shipped model)
    ap.add_argument("--hidden", type=int, default=MODEL_CONFIG["hidden_size"])
    ap.add_argument("--layers", type=int, default=MODEL_CONFIG["num_hidden_layers"])
    ap.add_argument("--heads", type=int, default=MODEL_CONFIG["num_attention_heads"])
    ap.add_argument("--kv-heads", type=int, default=MODEL_CONFIG["num_key_value_heads"])
    ap.add_argument("--head-dim", type=int, default=MODEL_CONFIG["head_dim"])
    ap.add_argument("--ffn", type=int, default=MODEL_CONFIG["intermediate_size"])
    ap.add_argument("--max-positions", type=int, default=2048, help="config max_position_embeddings")
    ap.add_argument("--scaled-init", action="store_true", help="o_proj/down_proj init std 0.02/sqrt(2*layers)")
    # CUDA
    ap.add_argument("--amp", default="bf16", choices=["bf16", "none"], help="CUDA autocast dtype")
    ap.add_argument("--attention", default="auto", choices=["auto", "fused", "plain"],
                    help="CUDA attention: fused (SDPA), plain (masked softmax), auto = fused if it checks out")
    ap.add_argument("--compile", action="store_true", help="torch.compile the CUDA forward (off: compile time is budget)")
    ap.add_argument("--padded", action="store_true", help="use the CUDA path's padded batches on the CPU (to test it)")
    ap.add_argument("--probe-suites", default="", help="after training, greedy first segments on a few held-out tasks "
                    "of these suites (probe.py); with a deadline its --probe-seconds come off the training time")
    ap.add_argument("--probe-n", type=int, default=8)
    ap.add_argument("--probe-seconds", type=float, default=10.0)
    args = ap.parse_args()

    t_start = time.time()
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("train.py: --device cuda but torch.cuda.is_available() is False")
    dev = torch.device("cuda" if use_cuda else "cpu")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    data = Data(args.data)
    cfg = G.Config(vocab_size=data.vocab_size, hidden_size=args.hidden, intermediate_size=args.ffn,
                   num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                   head_dim=args.head_dim, max_position_embeddings=args.max_positions)
    model = G.GlmForCausalLM(cfg)
    if args.scaled_init:
        for layer in model.model.layers:
            nn_std = 0.02 / math.sqrt(2 * cfg.num_hidden_layers)
            torch.nn.init.normal_(layer.self_attn.o_proj.weight, std=nn_std)
            torch.nn.init.normal_(layer.mlp.down_proj.weight, std=nn_std)
    if args.init:
        # fine-tuning: start from an exported model folder (its config must match the size flags)
        import safetensors_io
        weights = safetensors_io.load(os.path.join(args.init, "model.safetensors"))
        model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        print("init from", args.init, flush=True)
    model.to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    print("params", n_params, "device", dev, (torch.cuda.get_device_name(0) if use_cuda else f"threads {args.threads}"),
          "dialogues", len(data), "tokens", int(data.lens.sum()), "loss tokens", int(data.mask.sum()), flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": nodecay, "weight_decay": 0.0}]
    opt = None
    if use_cuda:
        try:
            opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, args.beta2), eps=1e-8, fused=True)
        except (TypeError, RuntimeError) as e:
            print("fused AdamW unavailable:", e, flush=True)
    if opt is None:
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, args.beta2), eps=1e-8)
    step, epoch, done_tokens, train_seconds = 0, 0, 0, 0.0
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = load_pt(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, epoch, train_seconds = ck["step"], ck["epoch"], ck["train_seconds"]
        rng.setstate(ck["rng"])
        print("resumed at step", step, flush=True)

    # Warmup, constant, then cosine decay from decay_start to the last step. With a time budget the decay starts
    # when (1 - decay_frac) of it is spent; the checkpoint records steps and decay_start, and
    # `--steps N --decay-start D` reproduces the run without the clock.
    sched = {"steps": args.steps,
             "decay_start": args.decay_start if args.decay_start >= 0 else int((1 - args.decay_frac) * args.steps)}
    wall0 = time.time()
    deadline = args.deadline
    if args.time_budget_s > 0:
        deadline = min(deadline or float("inf"), wall0 + args.time_budget_s)
    if deadline > 0 and args.probe_suites:
        deadline -= args.probe_seconds
    clock = deadline > 0  # purely time-based: the LR follows the fraction of the remaining time spent
    if clock:
        sched = {"steps": None, "decay_start": None, "deadline": deadline}
        print(f"clock schedule: {deadline - wall0:.0f}s of training, decay over the last {100 * args.decay_frac:.0f}%",
              flush=True)

    def lr_at(s, now=None):
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        if clock:
            p = (now - wall0) / max(1e-9, deadline - wall0)
            p = (p - (1 - args.decay_frac)) / args.decay_frac
            if p <= 0:
                return args.lr
        else:
            if s < sched["decay_start"]:
                return args.lr
            p = (s - sched["decay_start"]) / max(1, sched["steps"] - sched["decay_start"])
        p = min(1.0, p)
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))

    def note_decay(s, now):
        if clock and sched["decay_start"] is None and now - wall0 >= (1 - args.decay_frac) * (deadline - wall0):
            sched["decay_start"] = s
            print("clock schedule: decay starts at step", s, flush=True)

    def maybe_start_decay():
        if clock or args.time_budget_min <= 0 or args.decay_start >= 0 or step >= sched["decay_start"]:
            return
        if time.time() - wall0 >= (1 - args.decay_frac) * args.time_budget_min * 60:
            sched["decay_start"] = step
            sched["steps"] = step + max(20, int(step * args.decay_frac / (1 - args.decay_frac)))
            print("time budget: decay starts at step", step, "final step", sched["steps"], flush=True)

    def run_probe():
        if not args.probe_suites:
            return
        try:
            import bpe
            import probe
            tok = bpe.Tokenizer.load(os.path.join(os.path.dirname(os.path.abspath(args.data)), "tokenizer.model"))
            probe.probe(model, tok, args.probe_suites, args.probe_n, dev, args.probe_seconds,
                        log=lambda line: print(line, flush=True))
        except Exception as e:  # noqa: BLE001 - a look, never a reason to lose the run
            print("probe failed:", repr(e)[:300], flush=True)

    def save():
        t = time.time()
        state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        cfgd = dict(cfg.__dict__)
        torch.save({"model": state, "opt": opt.state_dict(), "step": step, "epoch": epoch,
                    "train_seconds": train_seconds, "rng": rng.getstate(), "config": cfgd, "sched": dict(sched),
                    "args": vars(args), "device": str(dev)}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        print(f"checkpoint step {step} ({time.time() - t:.1f}s)", flush=True)

    last_ckpt = time.time()
    ema = None
    t_log = time.time()
    tok_log = 0

    if not use_cuda and not args.padded:
        seqs = data.seqs()
        while clock or step < sched["steps"]:
            batches = make_batches(seqs, rng, args.batch_tokens, data.canonical)
            for prefix, items in batches:
                maybe_start_decay()
                if (clock and time.time() >= deadline) or (not clock and step >= sched["steps"]):
                    break
                t0 = time.time()
                for g in opt.param_groups:
                    g["lr"] = lr_at(step, t0)
                note_decay(step, t0)
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
                    print(f"step {step} epoch {epoch} loss {loss.item():.4f} ema {ema:.4f} lr {lr_at(step, now):.2e} "
                          f"tok/s {tok_log / (now - t_log):.0f} train_s {train_seconds:.0f}", flush=True)
                    t_log, tok_log = now, 0
                if time.time() - last_ckpt > args.ckpt_minutes * 60:
                    save()
                    last_ckpt = time.time()
            else:
                epoch += 1
                continue
            break
        if clock:
            sched["steps"] = step
        save()
        print("done", step, "steps", f"{train_seconds:.0f}s", "schedule", sched, flush=True)
        run_probe()
        return

    # ------------------------------------------------------------------------------------------------ CUDA
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    amp_dtype = {"bf16": torch.bfloat16, "none": None}[args.amp] if use_cuda else None
    cos, sin, rot = G.rope_tables(cfg, max(int(data.lens.max()), 16), dev)
    rope = (cos, sin, rot)

    def to_dev(b):
        ids, sel, tgt = b
        if not use_cuda:
            return torch.from_numpy(ids), torch.from_numpy(sel), torch.from_numpy(tgt)
        return (torch.from_numpy(ids).pin_memory().to(dev, non_blocking=True),
                torch.from_numpy(sel).pin_memory().to(dev, non_blocking=True),
                torch.from_numpy(tgt).pin_memory().to(dev, non_blocking=True))

    hidden_fn = fast_hidden if args.attention != "plain" else plain_hidden
    if args.attention == "auto":
        # the fused path must give the plain path's loss on a real batch (else: plain, which is slower but simple)
        probe = to_dev(make_padded(data, [int(i) for i in np.argsort(data.lens)[-4:]]))
        try:
            with torch.no_grad():
                a = padded_loss(model, fast_hidden, probe, rope, amp_dtype).item()
                b = padded_loss(model, plain_hidden, probe, rope, None).item()
            print(f"attention check: fused {a:.5f} plain f32 {b:.5f}", flush=True)
            if not abs(a - b) < 0.02 * max(1.0, abs(b)):
                print("fused attention disagrees: using the plain path", flush=True)
                hidden_fn = plain_hidden
        except Exception as e:  # noqa: BLE001
            print("fused attention failed, using the plain path:", repr(e)[:300], flush=True)
            hidden_fn = plain_hidden
    if args.compile and hasattr(torch, "compile"):
        hidden_fn = torch.compile(hidden_fn, dynamic=True)

    params = list(model.parameters())
    loss_sum = torch.zeros((), device=dev)
    n_loss = 0
    batch_tokens = args.batch_tokens
    stop = False
    while not stop:
        batches = padded_batches(data, rng, batch_tokens)
        nxt = to_dev(make_padded(data, batches[0]))
        for bi in range(len(batches)):
            now = time.time()
            if (clock and now >= deadline) or (not clock and step >= sched["steps"]):
                stop = True
                break
            maybe_start_decay()
            cur = nxt
            lr = lr_at(step, now)
            note_decay(step, now)
            for g in opt.param_groups:
                g["lr"] = lr
            try:
                loss = padded_loss(model, hidden_fn, cur, rope, amp_dtype)
                opt.zero_grad(set_to_none=True)
                loss.backward()
            except torch.cuda.OutOfMemoryError:
                opt.zero_grad(set_to_none=True)
                batch_tokens //= 2
                print("out of memory: batch tokens now", batch_tokens, flush=True)
                torch.cuda.empty_cache()
                break  # rebuild the batches
            # the next batch is assembled on the CPU while the GPU works on this one
            if bi + 1 < len(batches):
                nxt = to_dev(make_padded(data, batches[bi + 1]))
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            toks = cur[0].numel()
            done_tokens += toks
            tok_log += toks
            loss_sum += loss.detach()
            n_loss += 1
            if step % 50 == 0 or step <= 3:
                lv = loss_sum.item() / n_loss  # syncs
                loss_sum.zero_()
                n_loss = 0
                ema = lv if ema is None else 0.9 * ema + 0.1 * lv
                now = time.time()
                train_seconds = now - wall0
                left = f" left {deadline - now:.0f}s" if clock else ""
                print(f"step {step} epoch {epoch} loss {lv:.4f} ema {ema:.4f} lr {lr:.2e} "
                      f"tok/s {tok_log / max(1e-9, now - t_log):.0f} tokens {done_tokens / 1e6:.1f}M "
                      f"train_s {train_seconds:.0f}{left}", flush=True)
                t_log, tok_log = now, 0
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                save()
                last_ckpt = time.time()
        else:
            epoch += 1
    if use_cuda:
        torch.cuda.synchronize()
    train_seconds = time.time() - wall0
    if clock:
        sched["steps"] = step
    save()
    print("done", step, "steps", f"{train_seconds:.0f}s", f"{done_tokens / 1e6:.1f}M tokens", "epochs",
          f"{done_tokens / max(1, int(data.lens.sum())):.2f}", "schedule", sched,
          f"total {time.time() - t_start:.0f}s", flush=True)
    run_probe()


if __name__ == "__main__":
    main()
