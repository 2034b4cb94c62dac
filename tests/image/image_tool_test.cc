// The cogview tool against loopback servers speaking each backend's API, returning a real PNG made here.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "tests/image/loopback_http_server.h"
#include "tools/image/image_tool.h"

namespace alltools::tools::image {
namespace {

using alltools::test::HttpExchange;
using alltools::test::HttpReply;
using alltools::test::LoopbackHttpServer;
using nlohmann::json;

// A real RGB PNG (w x h gradient): signature, IHDR, one zlib IDAT, IEND, with CRCs.
std::string make_png(int w, int h) {
  auto be32 = [](std::string& s, uint32_t v) {
    for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  auto chunk = [&](std::string& out, const char* type, const std::string& data) {
    be32(out, static_cast<uint32_t>(data.size()));
    std::string td = std::string(type, 4) + data;
    out += td;
    be32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(td.data()), static_cast<uInt>(td.size()))));
  };
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    for (int x = 0; x < w; ++x) {
      raw.push_back(static_cast<char>(x * 255 / w));
      raw.push_back(static_cast<char>(y * 255 / h));
      raw.push_back(static_cast<char>((x * y) & 0xFF));
    }
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()));
  z.resize(zlen);
  std::string ihdr;
  be32(ihdr, static_cast<uint32_t>(w));
  be32(ihdr, static_cast<uint32_t>(h));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  std::string png = "\x89PNG\r\n\x1a\n";
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

std::string b64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(t[(v >> (6 * k)) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {t[(v >> 18) & 63], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[(v >> 18) & 63], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class ImageToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/alltools-img-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    session_ = tmpl;
    png_ = make_png(64, 48);
    ::setenv("ALLTOOLS_TEST_IMAGE_KEY", "test-key-123", 1);
  }
  void TearDown() override { std::filesystem::remove_all(session_); }

  ImageConfig config(Backend b, const std::string& base) {
    ImageConfig c;
    c.backend = b;
    c.base_url = base;
    c.api_key_env = "ALLTOOLS_TEST_IMAGE_KEY";
    c.timeout = std::chrono::seconds(10);
    c.retry_backoff = std::chrono::milliseconds(10);
    return c;
  }

  Observation run(const ImageConfig& c, const std::string& prompt = "a red fox in snow") {
    auto tool = make_image_tool(c);
    ToolContext ctx;
    ctx.session_dir = session_;
    auto obs = tool->invoke(json{{"prompt", prompt}}, ctx);
    EXPECT_EQ(obs.size(), 1u);
    return obs.empty() ? Observation{} : obs[0];
  }

  void expect_saved_png(const Observation& o, const std::string& url) {
    ASSERT_FALSE(o.is_error) << o.text;
    EXPECT_EQ(o.metadata, "cogview_result");
    EXPECT_EQ(o.text, "CogView 已经生成并向用户展示了生成的图片。");
    ASSERT_EQ(o.artifacts.size(), 1u);
    EXPECT_EQ(o.artifacts[0].mime, "image/png");
    EXPECT_EQ(o.artifacts[0].url, url);
    EXPECT_EQ(o.artifacts[0].path.parent_path(), session_ / "images");
    EXPECT_EQ(o.artifacts[0].path.extension(), ".png");
    EXPECT_EQ(read_file(o.artifacts[0].path), png_);
  }

  std::filesystem::path session_;
  std::string png_;
};

TEST_F(ImageToolTest, CogViewUrlAnswerIsDownloadedAndSaved) {
  std::string base;
  LoopbackHttpServer server([&](const HttpExchange& ex) {
    if (ex.path == "/api/paas/v4/images/generations") {
      return HttpReply{200, "application/json", json{{"created", 1}, {"data", {{{"url", base + "/files/fox.png"}}}}}.dump()};
    }
    if (ex.path == "/files/fox.png") return HttpReply{200, "image/png", png_};
    return HttpReply{404, "text/plain", "no"};
  });
  base = server.base_url();
  Observation o = run(config(Backend::kCogView, base + "/api/paas/v4"));
  expect_saved_png(o, base + "/files/fox.png");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].headers["authorization"], "Bearer test-key-123");
  json body = json::parse(reqs[0].body);
  EXPECT_EQ(body["prompt"], "a red fox in snow");
  EXPECT_EQ(body["model"], "cogview-3-flash");
  EXPECT_EQ(body["size"], "1024x1024");
}

TEST_F(ImageToolTest, OpenAiB64JsonAnswerIsDecoded) {
  LoopbackHttpServer server([&](const HttpExchange& ex) {
    if (ex.path != "/v1/images/generations") return HttpReply{404, "text/plain", "no"};
    return HttpReply{200, "application/json", json{{"data", {{{"b64_json", b64(png_)}}}}}.dump()};
  });
  ImageConfig c = config(Backend::kOpenAI, server.base_url() + "/v1");
  c.response_format = "b64_json";
  c.model = "sd-turbo";
  expect_saved_png(run(c), "");
  json body = json::parse(server.requests().at(0).body);
  EXPECT_EQ(body["response_format"], "b64_json");
  EXPECT_EQ(body["model"], "sd-turbo");
  EXPECT_EQ(body["n"], 1);
}

TEST_F(ImageToolTest, OpenAiUrlAnswer) {
  std::string base;
  LoopbackHttpServer server([&](const HttpExchange& ex) {
    if (ex.path == "/v1/images/generations") return HttpReply{200, "application/json", json{{"data", {{{"url", base + "/i.png"}}}}}.dump()};
    return HttpReply{200, "image/png", png_};
  });
  base = server.base_url();
  expect_saved_png(run(config(Backend::kOpenAI, base + "/v1")), base + "/i.png");
}

TEST_F(ImageToolTest, Automatic1111Txt2Img) {
  LoopbackHttpServer server([&](const HttpExchange& ex) {
    if (ex.path != "/sdapi/v1/txt2img") return HttpReply{404, "text/plain", "no"};
    return HttpReply{200, "application/json", json{{"images", {b64(png_)}}, {"info", "{}"}}.dump()};
  });
  ImageConfig c = config(Backend::kAutomatic1111, server.base_url());
  c.size = "768x512";
  expect_saved_png(run(c), "");
  json body = json::parse(server.requests().at(0).body);
  EXPECT_EQ(body["width"], 768);
  EXPECT_EQ(body["height"], 512);
  EXPECT_EQ(body["prompt"], "a red fox in snow");
}

TEST_F(ImageToolTest, RetriesOn5xxAnd429ThenSucceeds) {
  int calls = 0;
  LoopbackHttpServer server([&](const HttpExchange&) {
    ++calls;
    if (calls == 1) return HttpReply{500, "application/json", R"({"error":{"message":"overloaded"}})"};
    if (calls == 2) return HttpReply{429, "application/json", R"({"error":{"message":"slow down"}})", {"Retry-After: 0"}};
    return HttpReply{200, "application/json", json{{"data", {{{"b64_json", b64(png_)}}}}}.dump()};
  });
  expect_saved_png(run(config(Backend::kOpenAI, server.base_url())), "");
  EXPECT_EQ(calls, 3);
}

TEST_F(ImageToolTest, PersistentHttp500IsAClearError) {
  LoopbackHttpServer server([&](const HttpExchange&) {
    return HttpReply{500, "application/json", R"({"error":{"message":"GPU on fire"}})"};
  });
  Observation o = run(config(Backend::kOpenAI, server.base_url()));
  EXPECT_TRUE(o.is_error);
  EXPECT_EQ(o.metadata, "system_error");
  EXPECT_NE(o.text.find("HTTP 500"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("GPU on fire"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("after 3 attempts"), std::string::npos) << o.text;
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(session_ / "images") && !std::filesystem::is_empty(session_ / "images"));
}

TEST_F(ImageToolTest, TimeoutIsAnError) {
  LoopbackHttpServer server([&](const HttpExchange&) {
    return HttpReply{200, "application/json", "{}", {}, std::chrono::milliseconds(5000)};
  });
  ImageConfig c = config(Backend::kOpenAI, server.base_url());
  c.timeout = std::chrono::milliseconds(300);
  Observation o = run(c);
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("no complete answer within 300 ms"), std::string::npos) << o.text;
  EXPECT_EQ(server.requests().size(), 1u) << "timeouts are not retried";
}

TEST_F(ImageToolTest, HtmlInsteadOfPngIsRejected) {
  std::string base;
  LoopbackHttpServer server([&](const HttpExchange& ex) {
    if (ex.path == "/images/generations") return HttpReply{200, "application/json", json{{"data", {{{"url", base + "/x.png"}}}}}.dump()};
    return HttpReply{200, "image/png", "<!DOCTYPE html><html><body>Login required</body></html>"};
  });
  base = server.base_url();
  Observation o = run(config(Backend::kCogView, base));
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("looks like HTML"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find(base + "/x.png"), std::string::npos) << o.text;
}

TEST_F(ImageToolTest, OversizedImageIsRejected) {
  const std::string big = make_png(512, 512);
  std::string base;
  LoopbackHttpServer server([&](const HttpExchange& ex) {
    if (ex.path == "/images/generations") return HttpReply{200, "application/json", json{{"data", {{{"url", base + "/big.png"}}}}}.dump()};
    return HttpReply{200, "image/png", big};
  });
  base = server.base_url();
  ImageConfig c = config(Backend::kCogView, base);
  c.max_image_bytes = 4096;
  Observation o = run(c);
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("larger than 4096 bytes"), std::string::npos) << o.text;

  LoopbackHttpServer b64_server([&](const HttpExchange&) {
    return HttpReply{200, "application/json", json{{"images", {b64(big)}}}.dump()};
  });
  ImageConfig a = config(Backend::kAutomatic1111, b64_server.base_url());
  a.max_image_bytes = 4096;
  Observation o2 = run(a);
  EXPECT_TRUE(o2.is_error);
  EXPECT_NE(o2.text.find("larger than 4096 bytes"), std::string::npos) << o2.text;
}

TEST_F(ImageToolTest, AuthFailureAndMissingKey) {
  LoopbackHttpServer server([&](const HttpExchange&) {
    return HttpReply{401, "application/json", R"({"error":{"code":"1000","message":"身份验证失败"}})"};
  });
  Observation o = run(config(Backend::kCogView, server.base_url()));
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("HTTP 401"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("身份验证失败"), std::string::npos) << o.text;
  EXPECT_EQ(server.requests().size(), 1u) << "4xx is not retried";

  ImageConfig c = config(Backend::kCogView, server.base_url());
  c.api_key_env = "ALLTOOLS_TEST_NO_SUCH_KEY";
  Observation nokey = run(c);
  EXPECT_TRUE(nokey.is_error);
  EXPECT_NE(nokey.text.find("ALLTOOLS_TEST_NO_SUCH_KEY"), std::string::npos) << nokey.text;
}

TEST_F(ImageToolTest, BadArgumentsAndNoServer) {
  auto tool = make_image_tool(config(Backend::kOpenAI, "http://127.0.0.1:9"));
  EXPECT_EQ(tool->spec().name, "cogview");
  EXPECT_EQ(tool->spec().kind, ToolSpec::Kind::kBuiltin);
  ToolContext ctx;
  ctx.session_dir = session_;
  auto bad = tool->invoke(json{{"text", "x"}}, ctx);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_TRUE(bad[0].is_error);
  ImageConfig c = config(Backend::kOpenAI, "http://127.0.0.1:9");
  c.max_retries = 0;
  Observation down = run(c);
  EXPECT_TRUE(down.is_error);
  EXPECT_NE(down.text.find("127.0.0.1:9"), std::string::npos) << down.text;
}

TEST(ImageSniff, MagicBytes) {
  auto v = [](const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); };
  EXPECT_EQ(sniff_image_mime(v(make_png(2, 2))).value(), "image/png");
  EXPECT_EQ(sniff_image_mime(v(std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF", 10))).value(), "image/jpeg");
  EXPECT_EQ(sniff_image_mime(v(std::string("RIFF\x24\x00\x00\x00WEBPVP8 ", 16))).value(), "image/webp");
  EXPECT_FALSE(sniff_image_mime(v("{\"error\":1}")).ok());
  EXPECT_FALSE(sniff_image_mime(v("")).ok());
  EXPECT_FALSE(sniff_image_mime(v("\x89PNG")).ok());
  EXPECT_FALSE(sniff_image_mime(v("GIF89a......")).ok());
}

TEST(ImageConfigParse, KeysAndErrors) {
  auto c = parse_image_config(json::parse(R"({"backend":"openai","base_url":"http://x/v1","response_format":"b64_json",
                                               "timeout_ms":5000,"max_retries":1})"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().backend, Backend::kOpenAI);
  EXPECT_EQ(c.value().timeout, std::chrono::milliseconds(5000));
  EXPECT_FALSE(parse_image_config(json::parse(R"({"backend":"midjourney"})")).ok());
  EXPECT_FALSE(parse_image_config(json::parse(R"({"colour":"red"})")).ok());
  EXPECT_FALSE(parse_image_config(json::parse(R"({"response_format":"png"})")).ok());
  EXPECT_FALSE(parse_image_config(json::parse(R"({"timeout_ms":-1})")).ok());
  EXPECT_EQ(parse_backend("a1111").value(), Backend::kAutomatic1111);
}

}  // namespace
}  // namespace alltools::tools::image
