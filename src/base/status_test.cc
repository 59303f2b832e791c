// SPDX-License-Identifier: MIT
#include "base/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace mamba {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  MAMBA_ASSIGN_OR_RETURN(int h, Half(x));
  MAMBA_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, PropagatesFirstError) {
  EXPECT_EQ(Quarter(8).value(), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "odd: 3");
  EXPECT_EQ(r.status().WithPrefix("file.json").ToString(), "INVALID_ARGUMENT: file.json: odd: 3");
}

TEST(StatusTest, MoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(5);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> v = std::move(p).value();
  EXPECT_EQ(*v, 5);
}

TEST(StatusDeathTest, ValueOfErrorAborts) {
  StatusOr<int> r = NotFoundError("x");
  EXPECT_DEATH((void)r.value(), "StatusOr::value\\(\\) on error");
}

}  // namespace
}  // namespace mamba
