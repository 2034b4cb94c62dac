// Times turndown 7.2.5 + jsdom 24 (GLM-4 reference browser's HTML -> markdown path) on a list of HTML files.
// Usage: node turndown_bench.mjs LISTFILE REPEATS   (LISTFILE: one path per line)
// Prints one JSON line: {"bytes": total input bytes, "seconds": ..., "mb_per_s": ..., "out_bytes": ...}
import fs from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const { JSDOM } = require("jsdom");
const TurndownService = require("turndown");

const [list, repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg || 1);
const files = fs.readFileSync(list, "utf8").split("\n").filter(Boolean);
const pages = files.map((f) => fs.readFileSync(f, "utf8"));
const td = new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced" });
td.remove(["script", "style", "noscript"]);

function convert(html) {
  const dom = new JSDOM(html);
  const md = td.turndown(dom.window.document.body || dom.window.document.documentElement);
  dom.window.close();
  return md;
}

convert(pages[0]);  // warm-up (JIT)
let bytes = 0;
let outBytes = 0;
const t0 = process.hrtime.bigint();
for (let r = 0; r < repeats; r++) {
  for (const html of pages) {
    bytes += Buffer.byteLength(html);
    outBytes += Buffer.byteLength(convert(html));
  }
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ bytes, seconds, mb_per_s: bytes / 1e6 / seconds, out_bytes: outBytes }));
