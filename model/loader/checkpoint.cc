#include "model/loader/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace alltools::model {
namespace {

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<Checkpoint> Checkpoint::open(const std::string& dir) {
  namespace fs = std::filesystem;
  Checkpoint ck;
  ck.dir_ = dir;
  const std::string single = (fs::path(dir) / "model.safetensors").string();
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    ALLTOOLS_ASSIGN_OR_RETURN(std::string text, read_text(index_path));
    const auto index = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object()) {
      return make_error(ErrorCode::kParse, index_path + ": not a JSON object");
    }
    const auto map_it = index.find("weight_map");
    if (map_it == index.end() || !map_it->is_object()) {
      return make_error(ErrorCode::kParse, index_path + ": no \"weight_map\" object");
    }
    std::map<std::string, std::shared_ptr<const SafetensorsFile>> shards;
    for (const auto& [name, file_json] : map_it->items()) {
      if (!file_json.is_string()) {
        return make_error(ErrorCode::kParse, index_path + ": weight_map entry for '" + name + "' is not a string");
      }
      const auto& file = file_json.get_ref<const std::string&>();
      if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
        return make_error(ErrorCode::kParse, index_path + ": shard name '" + file + "' for tensor '" + name +
                                                 "' is not a plain file name");
      }
      auto it = shards.find(file);
      if (it == shards.end()) {
        if (shards.size() >= kCheckpointMaxShards) {
          return make_error(ErrorCode::kOutOfRange, index_path + ": more than 4096 shards");
        }
        const std::string shard_path = (fs::path(dir) / file).string();
        auto opened = SafetensorsFile::open(shard_path);
        if (!opened.ok()) {
          return opened.error().context("shard '" + file + "' (holding tensor '" + name + "') listed in " +
                                        index_path);
        }
        it = shards.emplace(file, std::move(opened).value()).first;
      }
      const TensorInfo* info = it->second->find(name);
      if (info == nullptr) {
        return make_error(ErrorCode::kNotFound, it->second->path() + ": tensor '" + name +
                                                    "' is listed in model.safetensors.index.json but absent");
      }
      ck.index_[name] = Entry{it->second, info};
    }
    return ck;
  }
  if (!fs::exists(single, ec)) {
    return make_error(ErrorCode::kNotFound,
                      dir + ": no model.safetensors or model.safetensors.index.json in the model folder");
  }
  ALLTOOLS_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(single));
  for (const auto& info : file->tensors()) ck.index_[info.name] = Entry{file, &info};
  return ck;
}

Result<TensorView> Checkpoint::tensor(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    return make_error(ErrorCode::kNotFound, dir_ + ": tensor '" + name + "' not found in the checkpoint");
  }
  return it->second.file->view(*it->second.info, it->second.file);
}

}  // namespace alltools::model
