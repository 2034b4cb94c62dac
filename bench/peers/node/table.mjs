// Prints bench/peers/llama_cpp.sh's table: medians over the repetitions of each (side, dtype), and our median
// divided by llama.cpp's. Input: the TSV the script wrote (side, dtype, rep, prefill tok/s, decode tok/s, info).
import {readFileSync} from "node:fs";

const [file, spec, threads, prompt, tokens, loadBefore, loadAfter] = process.argv.slice(2);
const rows = readFileSync(file, "utf8").trim().split("\n").map((l) => l.split("\t"));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pick = (side, dtype, col) => rows.filter((r) => r[0] === side && r[1] === dtype).map((r) => Number(r[col]));
const info = (side) => rows.find((r) => r[0] === side)?.[5] ?? "";

console.log(`\nsynthetic ${spec}, prefill ${prompt} tokens in one batch, decode ${tokens} tokens (batch 1), ` +
            `${threads} threads; medians of ${pick("ours", "bf16", 3).length} alternating runs`);
console.log(`cpu: ${(readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? "?"}, ` +
            `load average before ${loadBefore}, after ${loadAfter}`);
console.log(`ours: kernels ${info("ours")}; llama.cpp: ${info("llama.cpp") || "(variant not reported)"}\n`);
const line = (cols) => console.log("| " + cols.join(" | ") + " |");
line(["phase", "dtype (ours / llama.cpp)", "ours tok/s", "llama.cpp tok/s", "ratio", "all runs ours", "all runs llama.cpp"]);
line(["---", "---", "---:", "---:", "---:", "---", "---"]);
for (const [phase, col] of [["prefill", 3], ["decode", 4]]) {
  for (const [dtype, peerType] of [["bf16", "BF16"], ["int8", "Q8_0"]]) {
    const a = pick("ours", dtype, col), b = pick("llama.cpp", dtype, col);
    if (!a.length || !b.length) continue;
    const ma = median(a), mb = median(b);
    line([phase, `${dtype} / ${peerType}`, ma.toFixed(2), mb.toFixed(2), (ma / mb).toFixed(2) + "x",
          a.map((v) => v.toFixed(1)).join(" "), b.map((v) => v.toFixed(1)).join(" ")]);
  }
}
