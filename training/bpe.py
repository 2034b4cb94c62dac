"""Byte-level BPE in tiktoken `tokenizer.model` format (docs/glm4-protocol.md §1).

Encoding is tiktoken's rank-based BPE: within each pre-token chunk, repeatedly merge the adjacent pair whose
concatenated bytes have the lowest rank, so any tiktoken-compatible encoder (the C++ one) gives the same ids.
The 14 GLM-4 special tokens take ids n_ranks .. n_ranks + 13.
"""
import base64
import collections
import unicodedata

import regex

from glm4_format import SPECIAL_TOKENS

PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
           r"\s*[\r\n]+|\s+(?!\S)|\s+")
_RE = regex.compile(PATTERN)


def pretokenize(text):
    return _RE.findall(text)


def _is_cjk(ch):
    return unicodedata.name(ch, "").startswith("CJK")


class Tokenizer:
    def __init__(self, ranks):
        """ranks: list of token byte strings, index = rank."""
        self.tokens = ranks
        self.rank = {b: i for i, b in enumerate(ranks)}
        self.n_ranks = len(ranks)
        self.special = {s: self.n_ranks + i for i, s in enumerate(SPECIAL_TOKENS)}
        self.vocab_size = self.n_ranks + len(SPECIAL_TOKENS)
        self._cache = {}

    def _bpe(self, piece):
        if piece in self.rank:
            return [self.rank[piece]]
        parts = [bytes([b]) for b in piece]
        while len(parts) > 1:
            best, best_i = None, -1
            for i in range(len(parts) - 1):
                r = self.rank.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best, best_i = r, i
            if best is None:
                break
            parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
        return [self.rank[p] for p in parts]

    def encode(self, text):
        out = []
        for chunk in pretokenize(text):
            ids = self._cache.get(chunk)
            if ids is None:
                ids = self._bpe(chunk.encode("utf-8"))
                if len(self._cache) < 500000:
                    self._cache[chunk] = ids
            out += ids
        return out

    def decode_bytes(self, ids):
        inv = {v: k.encode() for k, v in self.special.items()}
        return b"".join(self.tokens[i] if i < self.n_ranks else inv[i] for i in ids)

    def decode(self, ids):
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def save(self, path):
        with open(path, "w") as f:
            for i, b in enumerate(self.tokens):
                f.write(base64.b64encode(b).decode() + " " + str(i) + "\n")

    @staticmethod
    def load(path):
        ranks = []
        with open(path) as f:
            for line in f:
                if line.strip():
                    b64, r = line.split()
                    assert int(r) == len(ranks)
                    ranks.append(base64.b64decode(b64))
        return Tokenizer(ranks)


def train(fixed_texts, dynamic_texts, n_ranks, fixed_weight):
    """fixed_texts: texts that recur verbatim (system prompt parts), counted fixed_weight times and merged freely.
    dynamic_texts: everything else; chunks containing CJK are split into single characters so that merges never
    glue together CJK characters of varying content (names copied between messages keep one segmentation)."""
    counts = collections.Counter()
    for t in fixed_texts:
        for c in pretokenize(t):
            counts[c.encode()] += fixed_weight
    for t in dynamic_texts:
        for c in pretokenize(t):
            if any(_is_cjk(ch) for ch in c):
                for ch in c:
                    counts[ch.encode()] += 1
            else:
                counts[c.encode()] += 1
    words = [[bytes([b]) for b in w] for w in counts]
    freq = list(counts.values())
    pair_count = collections.Counter()
    where = collections.defaultdict(set)
    for wi, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += freq[wi]
            where[(a, b)].add(wi)
    ranks = [bytes([i]) for i in range(256)]
    known = set(ranks)
    while len(ranks) < n_ranks and pair_count:
        pair, c = max(pair_count.items(), key=lambda kv: (kv[1], kv[0]))
        if c < 2:
            break
        new = pair[0] + pair[1]
        if new not in known:
            ranks.append(new)
            known.add(new)
        for wi in list(where[pair]):
            w = words[wi]
            f = freq[wi]
            for a, b in zip(w, w[1:]):
                pair_count[(a, b)] -= f
                if pair_count[(a, b)] <= 0:
                    del pair_count[(a, b)]
                where[(a, b)].discard(wi)
            merged, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == pair[0] and w[i + 1] == pair[1]:
                    merged.append(new)
                    i += 2
                else:
                    merged.append(w[i])
                    i += 1
            words[wi] = merged
            for a, b in zip(merged, merged[1:]):
                pair_count[(a, b)] += f
                where[(a, b)].add(wi)
        pair_count.pop(pair, None)
        where.pop(pair, None)
    return Tokenizer(ranks)
