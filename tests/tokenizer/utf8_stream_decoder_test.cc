// The streaming decoder never emits invalid UTF-8, holds back split characters, and reproduces valid input exactly.
#include <random>

#include <gtest/gtest.h>

#include "model/tokenizer.h"
#include "model/tokenizer/utf8_stream_decoder.h"

namespace alltools::model {
namespace {

TEST(Utf8StreamDecoder, HoldsBackSplitCharacters) {
  Utf8StreamDecoder d;
  const std::string wave = "\xF0\x9F\x91\x8B";  // 👋
  EXPECT_EQ(d.push(wave.substr(0, 1)), "");
  EXPECT_TRUE(d.has_pending());
  EXPECT_EQ(d.push(wave.substr(1, 2)), "");
  EXPECT_EQ(d.push(wave.substr(3) + "a"), wave + "a");
  EXPECT_FALSE(d.has_pending());
  EXPECT_EQ(d.push("\xE4\xBD"), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(d.flush(), "");
}

TEST(Utf8StreamDecoder, ReplacesInvalidSequencesByMaximalSubparts) {
  Utf8StreamDecoder d;
  EXPECT_EQ(d.push("a\x80" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(d.push("\xE4\xBD" "x"), "\xEF\xBF\xBD" "x");            // cut short: one U+FFFD
  EXPECT_EQ(d.push("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: lead byte alone is the subpart
  EXPECT_EQ(d.push("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");        // overlong
  EXPECT_EQ(d.push("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // > U+10FFFF
  EXPECT_FALSE(d.has_pending());
}

TEST(Utf8StreamDecoder, ValidTextSplitAnywhereComesOutExact) {
  const std::string text = "你好👋！我是 ChatGLM-4 ✨ ﷺ e\xCC\x81 👨\xE2\x80\x8D👩\xE2\x80\x8D👧";
  ASSERT_TRUE(is_valid_utf8(text));
  std::mt19937 rng(7);
  for (int round = 0; round < 500; ++round) {
    Utf8StreamDecoder d;
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t n = 1 + rng() % 5;
      out += d.push(std::string_view(text).substr(pos, n));
      pos += n;
    }
    out += d.flush();
    ASSERT_EQ(out, text);
  }
}

// Property: over random token sequences of the real vocabulary (which split characters all the time), every
// chunk is valid UTF-8, and the stream equals a one-shot decode of the same bytes.
TEST(Utf8StreamDecoder, RandomTokenSequencesNeverEmitInvalidUtf8) {
  const std::string dir = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat";
  auto loaded = load_tokenizer(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  const Tokenizer& tok = **loaded;
  std::mt19937 rng(1234);
  int chunks = 0;
  for (int round = 0; round < 2000; ++round) {
    TokenStreamDecoder stream(tok);
    std::vector<TokenId> ids;
    std::string streamed;
    const int len = 1 + static_cast<int>(rng() % 24);
    for (int i = 0; i < len; ++i) {
      // Bias toward the byte tokens and multi-byte fragments that split characters.
      const TokenId id = (rng() % 3 == 0) ? static_cast<TokenId>(128 + rng() % 128)
                                          : static_cast<TokenId>(rng() % static_cast<unsigned>(tok.vocab_size()));
      ids.push_back(id);
      const std::string chunk = stream.push(id);
      ASSERT_TRUE(is_valid_utf8(chunk)) << "round " << round << " token " << id;
      streamed += chunk;
      ++chunks;
    }
    const std::string tail = stream.flush();
    ASSERT_TRUE(is_valid_utf8(tail));
    streamed += tail;
    Utf8StreamDecoder once;
    std::string expected = once.push(tok.decode_bytes(ids));
    expected += once.flush();
    ASSERT_EQ(streamed, expected) << "round " << round;
    const std::string raw = tok.decode_bytes(ids);
    if (is_valid_utf8(raw)) {
      ASSERT_EQ(streamed, raw);
    }
  }
  EXPECT_GT(chunks, 10000);
}

TEST(Utf8StreamDecoder, IsValidUtf8) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("abc 你好 \xF0\x9F\x91\x8B"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x91"));
  EXPECT_FALSE(is_valid_utf8("\xC3\x28"));
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));
}

}  // namespace
}  // namespace alltools::model
