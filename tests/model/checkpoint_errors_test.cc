// Broken checkpoints get clear errors naming the file and the tensor, never a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/cpu/cpu_model.h"
#include "model/cpu/reference_check.h"
#include "model/loader/checkpoint.h"
#include "model/loader/safetensors.h"
#include "tests/model/test_paths.h"
#include "tests/model/f16_test_util.h"

namespace alltools::model {
namespace {

namespace fs = std::filesystem;
using testing::fixture_dir;
using testing::ScratchDir;
using testing::to_f16;

// Copies a fixture folder into `dir` with writable files.
void copy_fixture(const std::string& name, const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(fixture_dir(name))) {
    const fs::path to = fs::path(dir) / entry.path().filename();
    fs::copy_file(entry.path(), to, fs::copy_options::overwrite_existing);
    fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write);
  }
}

Error load_error(const std::string& dir) {
  auto m = open_cpu_model(dir, {});
  EXPECT_FALSE(m.ok());
  return m.ok() ? Error{} : m.error();
}

// Rewrites dir/model.safetensors with `edit` applied to its tensor list.
void rewrite_tensors(const std::string& dir, const std::function<void(std::vector<TensorToWrite>&)>& edit) {
  const std::string path = dir + "/model.safetensors";
  std::vector<TensorToWrite> tensors;
  {
    auto file = SafetensorsFile::open(path);
    ASSERT_TRUE(file.ok()) << file.error();
    for (const auto& info : file.value()->tensors()) {
      const TensorView v = file.value()->view(info, file.value());
      tensors.push_back({info.name, info.dtype, info.shape, std::vector<std::byte>(v.data.begin(), v.data.end())});
    }
  }
  edit(tensors);
  ASSERT_TRUE(write_safetensors(path, tensors).ok());
}

TEST(CheckpointErrors, MissingShardNamesFileAndTensor) {
  ScratchDir dir;
  copy_fixture("glm-tiny-bf16-chatglm", dir.path());
  fs::remove(dir.file("model-00002-of-00002.safetensors"));
  const Error e = load_error(dir.path());
  EXPECT_EQ(e.code, ErrorCode::kNotFound) << e;
  EXPECT_NE(e.message.find("model-00002-of-00002.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.message.find("transformer."), std::string::npos) << e;
}

TEST(CheckpointErrors, TruncatedShardNamesFileAndTensor) {
  ScratchDir dir;
  copy_fixture("glm-tiny-bf16-chatglm", dir.path());
  const std::string shard = dir.file("model-00002-of-00002.safetensors");
  fs::resize_file(shard, fs::file_size(shard) / 2);
  const Error e = load_error(dir.path());
  EXPECT_EQ(e.code, ErrorCode::kParse) << e;
  EXPECT_NE(e.message.find("model-00002-of-00002.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.message.find("past the data section"), std::string::npos) << e;
  EXPECT_NE(e.message.find("tensor 'transformer."), std::string::npos) << e;
}

TEST(CheckpointErrors, IndexPointingOutsideTheFolderIsRejected) {
  ScratchDir dir;
  copy_fixture("glm-tiny-bf16-chatglm", dir.path());
  std::ofstream(dir.file("model.safetensors.index.json"))
      << R"({"weight_map":{"transformer.output_layer.weight":"../../etc/passwd"}})";
  const Error e = load_error(dir.path());
  EXPECT_NE(e.message.find("not a plain file name"), std::string::npos) << e;
}

TEST(CheckpointErrors, HeaderLyingAboutSizeNamesTensor) {
  ScratchDir dir;
  copy_fixture("glm-tiny-f32", dir.path());
  // Patch the header in place: claim lm_head is [1024, 64] while its offsets still span [1024, 128].
  const std::string path = dir.file("model.safetensors");
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::uint64_t len = 0;
  f.read(reinterpret_cast<char*>(&len), 8);
  std::string header(len, ' ');
  f.read(header.data(), static_cast<std::streamsize>(len));
  const auto pos = header.find(R"("shape":[1024,128])");
  ASSERT_NE(pos, std::string::npos);
  header.replace(pos, 18, R"("shape":[1024, 64])");
  f.seekp(8);
  f.write(header.data(), static_cast<std::streamsize>(len));
  f.close();
  const Error e = load_error(dir.path());
  EXPECT_EQ(e.code, ErrorCode::kParse) << e;
  EXPECT_NE(e.message.find("model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.message.find("needs 65536 x 4"), std::string::npos) << e;
}

TEST(CheckpointErrors, WrongTensorShapeNamesTensorAndShapes) {
  ScratchDir dir;
  copy_fixture("glm-tiny-f32", dir.path());
  rewrite_tensors(dir.path(), [](std::vector<TensorToWrite>& ts) {
    for (auto& t : ts) {
      if (t.name == "model.layers.1.self_attn.o_proj.weight") {
        t.shape = {64, 256};
      }
    }
  });
  const Error e = load_error(dir.path());
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << e;
  EXPECT_NE(e.message.find("'model.layers.1.self_attn.o_proj.weight' has shape [64,256], expected [128,128]"),
            std::string::npos)
      << e;
}

TEST(CheckpointErrors, UnsupportedDtypeNamesTensor) {
  ScratchDir dir;
  copy_fixture("glm-tiny-f32", dir.path());
  rewrite_tensors(dir.path(), [](std::vector<TensorToWrite>& ts) {
    for (auto& t : ts) {
      if (t.name == "model.norm.weight") t.dtype = DType::kI32;
    }
  });
  const Error e = load_error(dir.path());
  EXPECT_EQ(e.code, ErrorCode::kUnsupported) << e;
  EXPECT_NE(e.message.find("'model.norm.weight' has dtype I32"), std::string::npos) << e;
}

TEST(CheckpointErrors, MissingTensorIsNamed) {
  ScratchDir dir;
  copy_fixture("glm4-tiny-f32", dir.path());
  rewrite_tensors(dir.path(), [](std::vector<TensorToWrite>& ts) {
    std::erase_if(ts, [](const TensorToWrite& t) { return t.name == "model.layers.0.post_mlp_layernorm.weight"; });
  });
  const Error e = load_error(dir.path());
  EXPECT_EQ(e.code, ErrorCode::kNotFound) << e;
  EXPECT_NE(e.message.find("'model.layers.0.post_mlp_layernorm.weight'"), std::string::npos) << e;
}

TEST(CheckpointErrors, UnknownModelTypeIsUnsupported) {
  ScratchDir dir;
  copy_fixture("glm-tiny-f32", dir.path());
  std::ifstream in(dir.file("config.json"));
  nlohmann::json config = nlohmann::json::parse(in);
  in.close();
  config["model_type"] = "qwen2";
  std::ofstream(dir.file("config.json")) << config.dump();
  const Error e = load_error(dir.path());
  EXPECT_EQ(e.code, ErrorCode::kUnsupported) << e;
  EXPECT_NE(e.message.find("config.json: unknown model_type 'qwen2'"), std::string::npos) << e;
}

TEST(CheckpointErrors, EmptyFolderSaysWhatIsMissing) {
  ScratchDir dir;
  std::ofstream(dir.file("config.json")) << std::ifstream(fixture_dir("glm-tiny-f32") + "/config.json").rdbuf();
  const Error e = load_error(dir.path());
  EXPECT_EQ(e.code, ErrorCode::kNotFound) << e;
  EXPECT_NE(e.message.find("no model.safetensors"), std::string::npos) << e;
}

}  // namespace
}  // namespace alltools::model

namespace alltools::model {
namespace {


TEST(CheckpointF16, HalfPrecisionCheckpointLoadsAndTracksTheReference) {
  ScratchDir dir;
  copy_fixture("glm-tiny-f32", dir.path());
  rewrite_tensors(dir.path(), [](std::vector<TensorToWrite>& ts) {
    for (auto& t : ts) {
      std::vector<std::byte> half(t.data.size() / 2);
      for (std::size_t i = 0; i < t.data.size() / 4; ++i) {
        float f;
        std::memcpy(&f, t.data.data() + 4 * i, 4);
        const std::uint16_t h = to_f16(f);
        std::memcpy(half.data() + 2 * i, &h, 2);
      }
      t.dtype = DType::kF16;
      t.data = std::move(half);
    }
  });
  auto report = run_reference_check(dir.path(), dir.file("reference.safetensors"), {});
  ASSERT_TRUE(report.ok()) << report.error();
  EXPECT_LT(report->max_abs_error, 0.05);  // f16 rounding of the weights, not an implementation error
  EXPECT_GE(report->greedy_matched, 8);
}

}  // namespace
}  // namespace alltools::model
