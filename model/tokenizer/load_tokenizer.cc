// load_tokenizer(): model folder or file -> the right loader.
#include <filesystem>

#include "model/tokenizer.h"
#include "model/tokenizer/bpe_tokenizer.h"

namespace alltools::model {

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    if (fs::exists(dir / "tokenizer.model", ec)) return load_tiktoken_model((dir / "tokenizer.model").string());
    if (fs::exists(dir / "tokenizer.json", ec)) return load_hf_tokenizer_json((dir / "tokenizer.json").string());
    return make_error(ErrorCode::kNotFound, path + ": no tokenizer.model or tokenizer.json in this folder");
  }
  if (!fs::exists(path, ec)) return make_error(ErrorCode::kNotFound, path + ": no such tokenizer file or model folder");
  if (fs::path(path).extension() == ".json") return load_hf_tokenizer_json(path);
  return load_tiktoken_model(path);
}

}  // namespace alltools::model
