// Writes the project's synthetic benchmark weights (model/cpu SyntheticSource: same preset, same seed, so the
// same bf16 values `alltools bench decode --synthetic` generates) in the forms the side-by-side benchmark
// needs:
//   <dir>/ours/model.safetensors + config.json   the HF GLM-4 layout, loaded by `bench decode --model`
//   (mmap'd) <dir>/glm4-bf16.gguf                         llama.cpp, architecture glm4, matrices BF16,
//   vectors F32 <dir>/glm4-q8_0.gguf                         the same matrices quantized to Q8_0 (ggml's
//   block-32 format)
// The GGUF files carry a placeholder vocabulary of the model's size (the benchmark feeds token ids; the real
// GLM-4 tokenizer would change nothing in the timed work).
#pragma once

#include <string>

#include "common/result.h"

namespace alltools::bench {

// `synthetic` as for `bench decode --synthetic` (e.g. "glm4-9b:layers=4"). Creates `dir` if needed; existing
// files are replaced. Errors name the file.
Status export_peer_files(const std::string& synthetic, const std::string& dir);

}  // namespace alltools::bench
