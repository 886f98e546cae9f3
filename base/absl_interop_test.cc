#include "base/absl_interop.h"

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace mxkit::base {
namespace {

TEST(AbslInterop, AvViewsTheSameBytesIncludingNul) {
  const std::string_view s("a\0b", 3);
  const absl::string_view v = Av(s);
  EXPECT_EQ(v.data(), s.data());
  EXPECT_EQ(v.size(), 3u);
  EXPECT_EQ(absl::StrCat("<", Av(s.substr(0, 1)), ">"), "<a>");
}

TEST(AbslInterop, StatusTextIsTheMessageAlone) {
  EXPECT_EQ(StatusText(absl::InvalidArgumentError("--smtp: bad port")), "--smtp: bad port");
  EXPECT_EQ(StatusText(absl::OkStatus()), "");
}

}  // namespace
}  // namespace mxkit::base
