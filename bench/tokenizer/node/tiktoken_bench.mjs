// Times tiktoken's core (the @dqbd/tiktoken WebAssembly build) encoding a corpus with a GLM-4 vocabulary:
// the comparison point of bench/tokenizer. Usage: node tiktoken_bench.mjs TOKENIZER.model CORPUS.txt SECONDS
// Prints one line: `tiktoken bytes=<n> tokens=<n> runs=<n> mb_per_s=<wall> cpu_mb_per_s=<cpu>` (MB = 1e6 bytes),
// after a warm-up run.
import fs from "node:fs";
import { Tiktoken } from "@dqbd/tiktoken/lite";

const [model, corpusPath, secondsArg] = process.argv.slice(2);
const pattern =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const vocab = fs.readFileSync(model, "utf8");
const ranks = vocab.split("\n").filter((l) => l.length > 0).length;
const names = ["<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
  "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>", "<|begin_of_video|>", "<|end_of_video|>"];
const specials = Object.fromEntries(names.map((n, i) => [n, ranks + i]));
const enc = new Tiktoken(vocab, specials, pattern);
const corpus = fs.readFileSync(corpusPath, "utf8");
const bytes = Buffer.byteLength(corpus, "utf8");
const minSeconds = Number(secondsArg || "3");

let tokens = enc.encode_ordinary(corpus).length;  // warm-up
// Timed by process CPU time (user + system; the machine is shared) and by the wall clock.
const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let runs = 0;
const start = process.hrtime.bigint();
const cpuStart = cpuNow();
let cpu = 0;
while (cpu < minSeconds || runs === 0) {
  tokens = enc.encode_ordinary(corpus).length;
  runs += 1;
  cpu = cpuNow() - cpuStart;
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`tiktoken bytes=${bytes} tokens=${tokens} runs=${runs} mb_per_s=${(bytes * runs / elapsed / 1e6).toFixed(3)} cpu_mb_per_s=${(bytes * runs / cpu / 1e6).toFixed(3)}`);
enc.free();
