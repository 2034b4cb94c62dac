// The llama.cpp side of bench/peers/llama_cpp.sh: node-llama-cpp (pinned in package.json, prebuilt llama.cpp CPU
// binaries) on a GGUF written by `alltools bench export-peers`. Same shape of run as `alltools bench decode`:
// the same 128 prompt token ids ((i * 7919 + 13) % vocab) in one batch, then greedy decoding; prefill tok/s is
// prompt tokens / time to the first sampled token, decode tok/s is (tokens - 1) / time of the remaining steps
// (each step evaluates one token). Prints one JSON line.
// usage: node llama_bench.mjs MODEL.gguf [--threads 2] [--prompt 128] [--tokens 32]
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const args = process.argv.slice(2);
const modelPath = args[0];
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const threads = option("--threads", 2), promptTokens = option("--prompt", 128), decodeTokens = option("--tokens", 32);
if (!modelPath || !(threads >= 1) || !(promptTokens >= 1) || !(decodeTokens >= 2)) {
  console.error("usage: node llama_bench.mjs MODEL.gguf [--threads N] [--prompt N] [--tokens N>=2]");
  process.exit(2);
}

const logLines = [];
const llama = await getLlama({
  gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.debug,
  logger: (level, message) => logLines.push(message.trim()),
});
const tLoad = performance.now();
let model;
try {
  model = await llama.loadModel({modelPath, gpuLayers: 0});
} catch (e) {
  console.error(logLines.join("\n"));  // llama.cpp's own reason
  throw e;
}
const context = await model.createContext({
  contextSize: promptTokens + decodeTokens + 8, batchSize: promptTokens, sequences: 1,
  threads: {ideal: threads, min: threads},
});
const loadSeconds = (performance.now() - tLoad) / 1000;
const sequence = context.getSequence();
const vocab = model.fileInfo.metadata?.[model.fileInfo.metadata?.general?.architecture]?.vocab_size ?? 151552;
const prompt = Array.from({length: promptTokens}, (_, i) => (i * 7919 + 13) % vocab);

const generated = [];
const t0 = performance.now();
let tFirst = 0;
for await (const token of sequence.evaluate(prompt, {temperature: 0})) {
  if (generated.length === 0) tFirst = performance.now();
  generated.push(token);
  if (generated.length === decodeTokens) break;
}
const tEnd = performance.now();
// ggml loads one CPU variant library for this CPU ("load_backend: loaded CPU backend from .../libggml-cpu-zen4.so").
const variant = logLines.filter((l) => /loaded CPU backend/.test(l)).map((l) => l.replace(/.*\//, "")).join(" ");
console.log(JSON.stringify({
  peer: "llama.cpp via node-llama-cpp",
  model: modelPath,
  threads: context.currentThreads ?? threads,
  load_s: loadSeconds,
  prefill_tok_s: promptTokens / ((tFirst - t0) / 1000),
  decode_tok_s: (decodeTokens - 1) / ((tEnd - tFirst) / 1000),
  first_tokens: generated.slice(0, 8),
  backend: variant,
  system_info: llama.systemInfo,
}));
await context.dispose();
await model.dispose();
await llama.dispose();
