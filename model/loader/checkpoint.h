// Checkpoint: the tensors of a model folder, from `model.safetensors` or from the shards listed in
// `model.safetensors.index.json` (HF sharding). Every shard is mapped and validated when the folder is opened.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/loader/safetensors.h"

namespace alltools::model {

inline constexpr std::size_t kCheckpointMaxShards = 4096;

class Checkpoint {
 public:
  // Errors: kNotFound (no model.safetensors / index, a shard missing), kParse (bad index or shard header; the
  // message names the file and tensor).
  static Result<Checkpoint> open(const std::string& dir);

  // The tensor `name`; kNotFound naming the checkpoint when absent.
  Result<TensorView> tensor(const std::string& name) const;
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  const std::string& dir() const { return dir_; }

 private:
  struct Entry {
    std::shared_ptr<const SafetensorsFile> file;
    const TensorInfo* info = nullptr;
  };
  std::string dir_;
  std::map<std::string, Entry> index_;
};

}  // namespace alltools::model
