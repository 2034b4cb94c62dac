"""GLM (HF `glm`, glm-4-9b-chat-hf architecture) in PyTorch, written to match GlmForCausalLM's math exactly
(docs/glm4-protocol.md §6): RMSNorm, QKV bias, partial interleaved RoPE on the first rot dims of each head as
adjacent pairs, GQA, SwiGLU with fused gate_up (gate first), untied lm_head. Parameter names are the HF names, so
state_dict() is the exported checkpoint."""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    partial_rotary_factor: float = 0.5
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1.5625e-07
    max_position_embeddings: int = 2048


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def rope_tables(cfg, T, device, dtype=torch.float32):
    rot = int(cfg.head_dim * cfg.partial_rotary_factor)
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, rot, 2, dtype=torch.float64, device=device) / rot))
    ang = torch.arange(T, dtype=torch.float64, device=device)[:, None] * inv_freq[None, :]  # [T, rot/2]
    return ang.cos().to(dtype), ang.sin().to(dtype), rot


def apply_rope(x, cos, sin, rot):
    """x: [B, H, T, D]; rotates pairs (x[2j], x[2j+1]) of the first rot dims by angle pos * inv_freq[j]."""
    xr, xp = x[..., :rot], x[..., rot:]
    a, b = xr[..., 0::2], xr[..., 1::2]
    ra = a * cos - b * sin
    rb = a * sin + b * cos
    return torch.cat([torch.stack([ra, rb], dim=-1).flatten(-2), xp], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, KV, D, C = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim, cfg.hidden_size
        self.q_proj = nn.Linear(C, H * D, bias=True)
        self.k_proj = nn.Linear(C, KV * D, bias=True)
        self.v_proj = nn.Linear(C, KV * D, bias=True)
        self.o_proj = nn.Linear(H * D, C, bias=False)

    def forward(self, x, cos, sin, rot, mask):
        B, T, _ = x.shape
        H, KV, D = self.cfg.num_attention_heads, self.cfg.num_key_value_heads, self.cfg.head_dim
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)
        k = self.k_proj(x).view(B, T, KV, D).transpose(1, 2)
        v = self.v_proj(x).view(B, T, KV, D).transpose(1, 2)
        q, k = apply_rope(q, cos, sin, rot), apply_rope(k, cos, sin, rot)
        rep = H // KV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        att = att.masked_fill(mask, float("-inf"))
        att = F.softmax(att.float(), dim=-1).to(q.dtype)
        y = (att @ v).transpose(1, 2).reshape(B, T, H * D)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_up_proj = nn.Linear(cfg.hidden_size, 2 * cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        g, u = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(g) * u)


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, rot, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, rot, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class GlmForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids):
        """ids: [B, T] -> logits [B, T, vocab] (causal, positions 0..T-1)."""
        B, T = ids.shape
        x = self.model.embed_tokens(ids)
        cos, sin, rot = rope_tables(self.cfg, T, ids.device, x.dtype)
        mask = torch.ones(T, T, dtype=torch.bool, device=ids.device).triu(1)
        for layer in self.model.layers:
            x = layer(x, cos, sin, rot, mask)
        return self.lm_head(self.model.norm(x))
