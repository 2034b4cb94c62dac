"""Independent float64 NumPy forward of an exported HF `glm` checkpoint (config.json + model.safetensors),
written from docs/glm4-protocol.md §6 — the check that the export reproduces the trained PyTorch model."""
import json
import os

import numpy as np

import safetensors_io


class Reference:
    def __init__(self, folder):
        self.cfg = json.load(open(os.path.join(folder, "config.json")))
        self.w = {k: v.astype(np.float64) for k, v in safetensors_io.load(os.path.join(folder, "model.safetensors")).items()}
        c = self.cfg
        self.H, self.KV, self.D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.rot = int(self.D * c["partial_rotary_factor"])
        theta = c.get("rope_theta") or c["rope_parameters"]["rope_theta"]
        self.inv_freq = 1.0 / theta ** (np.arange(0, self.rot, 2, dtype=np.float64) / self.rot)
        self.eps = c["rms_norm_eps"]

    def _norm(self, x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * w

    def _rope(self, x, pos):  # x [T, heads, D]
        ang = pos[:, None] * self.inv_freq[None, :]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        a, b = x[..., 0:self.rot:2], x[..., 1:self.rot:2]
        out = x.copy()
        out[..., 0:self.rot:2] = a * cos - b * sin
        out[..., 1:self.rot:2] = a * sin + b * cos
        return out

    def logits(self, ids):
        """ids: list[int] -> float64 logits [T, vocab] at every position (full causal recompute)."""
        w, T = self.w, len(ids)
        x = w["model.embed_tokens.weight"][np.asarray(ids)]
        pos = np.arange(T, dtype=np.float64)
        causal = np.triu(np.ones((T, T), dtype=bool), 1)
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            h = self._norm(x, w[p + "input_layernorm.weight"])
            q = (h @ w[p + "self_attn.q_proj.weight"].T + w[p + "self_attn.q_proj.bias"]).reshape(T, self.H, self.D)
            k = (h @ w[p + "self_attn.k_proj.weight"].T + w[p + "self_attn.k_proj.bias"]).reshape(T, self.KV, self.D)
            v = (h @ w[p + "self_attn.v_proj.weight"].T + w[p + "self_attn.v_proj.bias"]).reshape(T, self.KV, self.D)
            q, k = self._rope(q, pos), self._rope(k, pos)
            out = np.zeros((T, self.H, self.D))
            for hd in range(self.H):
                kv = hd // (self.H // self.KV)
                s = q[:, hd] @ k[:, kv].T / np.sqrt(self.D)
                s[causal] = -np.inf
                s = np.exp(s - s.max(-1, keepdims=True))
                s /= s.sum(-1, keepdims=True)
                out[:, hd] = s @ v[:, kv]
            x = x + out.reshape(T, -1) @ w[p + "self_attn.o_proj.weight"].T
            h = self._norm(x, w[p + "post_attention_layernorm.weight"])
            gu = h @ w[p + "mlp.gate_up_proj.weight"].T
            g, u = np.split(gu, 2, axis=-1)
            x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "mlp.down_proj.weight"].T
        return self._norm(x, w["model.norm.weight"]) @ w["lm_head.weight"].T
