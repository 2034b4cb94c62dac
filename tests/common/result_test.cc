#include "common/result.h"

#include <memory>
#include <sstream>

#include <gtest/gtest.h>

namespace alltools {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return make_error(ErrorCode::kInvalidArgument, "not positive: " + std::to_string(x));
  return x;
}

Result<int> doubled(int x) {
  ALLTOOLS_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return v * 2;
}

Status check_positive(int x) {
  ALLTOOLS_RETURN_IF_ERROR(parse_positive(x));
  return ok_status();
}

TEST(Result, ValueAndErrorPropagate) {
  EXPECT_EQ(doubled(4).value(), 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "not positive: -1");
  EXPECT_TRUE(check_positive(3).ok());
  EXPECT_EQ(check_positive(0).error().message, "not positive: 0");
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Result, ErrorContextAndPrinting) {
  Error e = make_error(ErrorCode::kIo, "short read").context("model-00002-of-00002.safetensors");
  std::ostringstream os;
  os << e;
  EXPECT_EQ(os.str(), "io: model-00002-of-00002.safetensors: short read");
}

TEST(ResultDeathTest, ValueOnErrorIsABug) {
  Result<int> r = make_error(ErrorCode::kNotFound, "x");
  EXPECT_DEATH((void)r.value(), "CHECK failed");
}

}  // namespace
}  // namespace alltools
