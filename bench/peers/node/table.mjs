// Prints bench/peers/llama_cpp.sh's table: medians over the repetitions of each (side, dtype), and our median
// divided by llama.cpp's. Input: the TSV the script wrote (side, dtype, rep, prefill tok/s, decode tok/s,
// kernels or ggml variant, first greedy tokens).
import {readFileSync} from "node:fs";

const [file, spec, threads, prompt, tokens, loadBefore, loadAfter] = process.argv.slice(2);
const rows = readFileSync(file, "utf8").trim().split("\n").map((l) => l.split("\t"));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pick = (side, dtype, col) => rows.filter((r) => r[0] === side && r[1] === dtype).map((r) => Number(r[col]));
const info = (side) => [...new Set(rows.filter((r) => r[0] === side).map((r) => r[5]))].join("; ");

console.log(`\nsynthetic ${spec}, prefill ${prompt} tokens in one batch, decode ${tokens} tokens (batch 1), ` +
            `${threads} threads; medians of ${pick("ours", "bf16", 3).length} alternating runs`);
console.log(`cpu: ${(readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? "?"}, ` +
            `load average before ${loadBefore}, after ${loadAfter}`);
const flags = new Set((readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m) ?? ["", ""])[1].trim().split(/\s+/));
console.log("cpu flags: " + ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni"]
  .map((f) => `${f} ${flags.has(f) ? "yes" : "no"}`).join(", "));
console.log(`ours: ${info("ours")}; llama.cpp: ggml CPU variant ${info("llama.cpp")}`);
// Same weights, same prompt: the first greedy tokens agree unless two logits are within rounding of each other.
for (const dtype of ["bf16", "int8"]) {
  const first = (side) => rows.find((r) => r[0] === side && r[1] === dtype)?.[6] ?? "-";
  console.log(`first greedy tokens, ${dtype}: ours ${first("ours")}; llama.cpp ${first("llama.cpp")}`);
}
console.log("");
const line = (cols) => console.log("| " + cols.join(" | ") + " |");
line(["phase", "dtype (ours / llama.cpp)", "ours tok/s", "llama.cpp tok/s", "ratio", "all runs ours", "all runs llama.cpp"]);
line(["---", "---", "---:", "---:", "---:", "---", "---"]);
// [our label, llama.cpp's label, what the row says]
const pairs = [["bf16", "bf16", "bf16, f32 activations / BF16"], ["bf16x", "bf16", "bf16, bf16 activations / BF16"],
               ["int8", "int8", "int8 / Q8_0"]];
for (const [phase, col] of [["prefill", 3], ["decode", 4]]) {
  for (const [ours, peer, what] of pairs) {
    if (phase === "decode" && ours === "bf16x") continue;  // decode never rounds x: the f32 row's code path
    const a = pick("ours", ours, col), b = pick("llama.cpp", peer, col);
    if (!a.length || !b.length) continue;
    const ma = median(a), mb = median(b);
    line([phase, what, ma.toFixed(2), mb.toFixed(2), (ma / mb).toFixed(2) + "x",
          a.map((v) => v.toFixed(1)).join(" "), b.map((v) => v.toFixed(1)).join(" ")]);
  }
}
