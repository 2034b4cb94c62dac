#include "model/loader/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

namespace alltools::model {
namespace {

Error parse_error(std::string_view label, const std::string& what) {
  return make_error(ErrorCode::kParse, std::string(label) + ": " + what);
}

// Multiplies with an overflow check against `limit`.
bool mul_within(std::uint64_t a, std::uint64_t b, std::uint64_t limit, std::uint64_t* out) {
  if (a != 0 && b > limit / a) return false;
  *out = a * b;
  return *out <= limit;
}

Result<TensorInfo> parse_entry(const std::string& name, const nlohmann::json& entry, std::uint64_t data_size,
                               std::string_view label) {
  const std::string where = "tensor '" + name + "'";
  if (!entry.is_object()) return parse_error(label, where + ": header entry is not an object");
  TensorInfo info;
  info.name = name;
  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) return parse_error(label, where + ": missing dtype");
  const auto dtype = dtype_from_name(dtype_it->get_ref<const std::string&>());
  if (!dtype) {
    return parse_error(label, where + ": unknown dtype '" + dtype_it->get_ref<const std::string&>() + "'");
  }
  info.dtype = *dtype;
  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) return parse_error(label, where + ": missing shape");
  if (shape_it->size() > kSafetensorsMaxRank) return parse_error(label, where + ": rank above 8");
  std::uint64_t numel = 1;
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_unsigned()) return parse_error(label, where + ": shape has a non-integer or negative dim");
    const auto d = dim.get<std::uint64_t>();
    if (!mul_within(numel, d, data_size, &numel) && d != 0) {
      return parse_error(label, where + ": shape " + shape_it->dump() + " exceeds the file's data section");
    }
    info.shape.push_back(static_cast<std::int64_t>(d));
  }
  if (std::find(info.shape.begin(), info.shape.end(), 0) != info.shape.end()) numel = 0;
  const auto off_it = entry.find("data_offsets");
  if (off_it == entry.end() || !off_it->is_array() || off_it->size() != 2 || !(*off_it)[0].is_number_unsigned() ||
      !(*off_it)[1].is_number_unsigned()) {
    return parse_error(label, where + ": data_offsets must be two non-negative integers");
  }
  info.begin = (*off_it)[0].get<std::uint64_t>();
  info.end = (*off_it)[1].get<std::uint64_t>();
  if (info.begin > info.end) return parse_error(label, where + ": data_offsets begin > end");
  if (info.end > data_size) {
    return parse_error(label, where + ": data_offsets end " + std::to_string(info.end) +
                                  " is past the data section (" + std::to_string(data_size) +
                                  " bytes; file truncated or header lying)");
  }
  std::uint64_t expected = 0;
  if (!mul_within(numel, dtype_size(info.dtype), data_size, &expected) || expected != info.end - info.begin) {
    return parse_error(label, where + ": data_offsets span " + std::to_string(info.end - info.begin) +
                                  " bytes but shape " + shape_it->dump() + " of " +
                                  std::string(dtype_name(info.dtype)) + " needs " +
                                  std::to_string(numel) + " x " + std::to_string(dtype_size(info.dtype)));
  }
  return info;
}

}  // namespace

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Result<SafetensorsHeader> parse_safetensors(std::span<const std::byte> file, std::string_view label) {
  if (file.size() < 8) return parse_error(label, "file is " + std::to_string(file.size()) + " bytes, too short for a safetensors header");
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | std::to_integer<std::uint64_t>(file[i]);
  if (header_len > kSafetensorsMaxHeaderBytes) {
    return parse_error(label, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  }
  if (header_len > file.size() - 8) {
    return parse_error(label, "header length " + std::to_string(header_len) + " is past the end of the file (" +
                                  std::to_string(file.size()) + " bytes; truncated?)");
  }
  const char* text = reinterpret_cast<const char*>(file.data() + 8);
  const nlohmann::json header = nlohmann::json::parse(text, text + header_len, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return parse_error(label, "header is not valid JSON");
  if (!header.is_object()) return parse_error(label, "header is not a JSON object");
  if (header.size() > kSafetensorsMaxTensors) return parse_error(label, "header lists too many tensors");

  SafetensorsHeader out;
  out.data_offset = 8 + header_len;
  const std::uint64_t data_size = file.size() - out.data_offset;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return parse_error(label, "__metadata__ is not an object");
      continue;
    }
    ALLTOOLS_ASSIGN_OR_RETURN(TensorInfo info, parse_entry(name, entry, data_size, label));
    out.tensors.push_back(std::move(info));
  }
  std::sort(out.tensors.begin(), out.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const TensorInfo* last = nullptr;  // the non-empty tensor reaching furthest so far
  for (const TensorInfo& cur : out.tensors) {
    if (cur.nbytes() == 0) continue;
    if (last != nullptr && cur.begin < last->end) {
      return parse_error(label, "tensors '" + last->name + "' and '" + cur.name + "' overlap in the data section");
    }
    last = &cur;
  }
  return out;
}

Result<std::shared_ptr<const SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  ALLTOOLS_ASSIGN_OR_RETURN(auto mapping, MappedFile::open(path));
  ALLTOOLS_ASSIGN_OR_RETURN(auto header, parse_safetensors(mapping->bytes(), path));
  return std::shared_ptr<const SafetensorsFile>(new SafetensorsFile(std::move(mapping), std::move(header)));
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : header_.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TensorView SafetensorsFile::view(const TensorInfo& info, const std::shared_ptr<const SafetensorsFile>& self) const {
  ALLTOOLS_CHECK(self.get() == this);
  TensorView v;
  v.info = &info;
  v.data = mapping_->bytes().subspan(header_.data_offset + info.begin, info.nbytes());
  v.file = path();
  v.owner = self;
  return v;
}

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  const std::string text = header.dump();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(ErrorCode::kIo, path + ": cannot create");
  std::uint64_t len = text.size();
  char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  out.write(len_bytes, 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : tensors) out.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
  if (!out) return make_error(ErrorCode::kIo, path + ": write failed");
  return ok_status();
}

}  // namespace alltools::model
