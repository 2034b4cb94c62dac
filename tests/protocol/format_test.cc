// Format profiles: detection from a checkpoint folder's chat template, names, and that each profile is its
// format's classes (GLM-4's byte-exact as before).
#include "core/protocol/format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/protocol/glm4_tokenizer.h"

namespace alltools::protocol {
namespace {

namespace fs = std::filesystem;
using testing::glm4_tokenizer;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("alltools-format-" + std::to_string(::getpid()) + "-" + std::to_string(n_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

 private:
  static inline int n_ = 0;
  fs::path path_;
};

// Excerpts of the real templates: what detection looks at.
constexpr const char* kGlm45Excerpt = "<tool_call>{function-name}\\n<arg_key>{arg-key-1}</arg_key>";
constexpr const char* kGlm4Excerpt = "{{ '<|observation|>' }}";

TEST(Format, Names) {
  EXPECT_EQ(*parse_format("glm45"), Format::kGlm45);
  EXPECT_EQ(*parse_format("glm-4.6"), Format::kGlm45);
  EXPECT_EQ(*parse_format("glm4"), Format::kGlm4);
  EXPECT_EQ(parse_format("qwen").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(format_name(Format::kGlm45), "glm45");
}

TEST(Format, FromFolder) {
  {
    TempDir d;
    EXPECT_EQ(*format_from_folder(d.path()), std::nullopt);  // nothing to go by
    d.write("tokenizer_config.json", std::string(R"({"chat_template": ")") + kGlm45Excerpt + "\"}");
    EXPECT_EQ(*format_from_folder(d.path()), Format::kGlm45);
    EXPECT_EQ(*format_from_folder(d.path() / "tokenizer.json"), Format::kGlm45);  // a file in the folder
    d.write("chat_template.jinja", kGlm4Excerpt);                                 // wins over the config
    EXPECT_EQ(*format_from_folder(d.path()), Format::kGlm4);
  }
  {
    TempDir d;
    d.write("tokenizer_config.json", std::string(R"({"chat_template": [{"name": "tool_use", "template": "x"},
      {"name": "default", "template": ")") +
                                         kGlm45Excerpt + "\"}]}");
    EXPECT_EQ(*format_from_folder(d.path()), Format::kGlm45);
  }
  {
    TempDir d;
    d.write("tokenizer_config.json", "{not json");
    EXPECT_EQ(format_from_folder(d.path()).error().code, ErrorCode::kParse);
    d.write("tokenizer_config.json", R"({"chat_template": "{{ messages }}"})");
    EXPECT_EQ(format_from_folder(d.path()).error().code, ErrorCode::kUnsupported);
  }
}

std::vector<glm4::Message> sample() {
  return {glm4::user_message("hi"), glm4::assistant_tool_call("python", "print(1)"),
          glm4::observation_message("", "1"), glm4::assistant_answer("done")};
}

TEST(Format, Glm4ProfileIsTheGlm4Template) {
  auto profile = make_format_profile(glm4_tokenizer(), FormatOptions{});
  ASSERT_TRUE(profile.ok());
  auto t = glm4::ChatTemplate::create(glm4_tokenizer());
  const std::vector<tools::ToolSpec> specs = {{"python", tools::ToolSpec::Kind::kBuiltin, {}}};
  EXPECT_EQ((*profile)->render(specs, sample(), true), t->render(specs, sample(), true));
  EXPECT_EQ((*profile)->stop_ids(), t->stop_ids());
  auto r = (*profile)->make_renderer();
  EXPECT_EQ(r->update(specs, sample(), true).append, t->render(specs, sample(), true));
  auto parser = (*profile)->make_parser();
  parser->push_text("python\nprint(2)");
  parser->push_marker(glm4::Marker::kObservation);
  auto events = parser->take_events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(std::get<glm4::SegmentDone>(events.back()).message,
            glm4::assistant_tool_call("python", "print(2)"));
  EXPECT_EQ(*(*profile)->tool_call_arguments({"python", "print(2)"}, specs),
            nlohmann::json({{"code", "print(2)"}}));
  EXPECT_EQ(*(*profile)->tool_call_body("python", {{"code", "x"}}, specs), "x");
}

TEST(Format, Glm45Profile) {
  auto profile = make_format_profile(glm4_tokenizer(), FormatOptions{.format = Format::kGlm45});
  ASSERT_TRUE(profile.ok());
  EXPECT_EQ((*profile)->format(), Format::kGlm45);
  const std::vector<tools::ToolSpec> specs = {{"python", tools::ToolSpec::Kind::kBuiltin, {}}};
  const std::string body = *(*profile)->tool_call_body("python", {{"code", "x"}}, specs);
  EXPECT_EQ(body, "\n<arg_key>code</arg_key>\n<arg_value>x</arg_value>\n");
  EXPECT_EQ(*(*profile)->tool_call_arguments({"python", body}, specs), nlohmann::json({{"code", "x"}}));
  auto parser = (*profile)->make_parser();
  parser->push_text("\n<think>t</think>\n<tool_call>python" + body + "</tool_call>");
  parser->push_marker(glm4::Marker::kObservation);
  auto events = parser->take_events();
  glm4::Message expected = glm4::assistant_tool_call("python", body);
  expected.reasoning = "t";
  EXPECT_EQ(std::get<glm4::SegmentDone>(events.back()).message, expected);
  EXPECT_EQ((*profile)->render_text({}, sample(), true).substr(0, 25), "[gMASK]<sop><|user|>\nhi<|");
}

}  // namespace
}  // namespace alltools::protocol
