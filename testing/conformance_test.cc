#include "testing/conformance.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace mxkit::testing {
namespace {

// Restores MXKIT_REQUIRE_CONFORMANCE (which CI sets for this very test).
class RequireVariable {
 public:
  explicit RequireVariable(const char* value) {
    if (const char* old = std::getenv(kRequireConformanceVariable)) saved_ = old;
    if (value == nullptr) {
      unsetenv(kRequireConformanceVariable);
    } else {
      setenv(kRequireConformanceVariable, value, 1);
    }
  }
  ~RequireVariable() {
    if (saved_) {
      setenv(kRequireConformanceVariable, saved_->c_str(), 1);
    } else {
      unsetenv(kRequireConformanceVariable);
    }
  }

 private:
  std::optional<std::string> saved_;
};

struct RequiredCase {
  const char* value;  // nullptr: unset
  bool required;
};

TEST(ConformanceRequired, IsSetByAnyValueButEmptyOrZero) {
  const std::vector<RequiredCase> cases = {
      {nullptr, false}, {"", false}, {"0", false}, {"1", true}, {"yes", true}, {"00", true},
  };
  for (const RequiredCase& c : cases) {
    RequireVariable scoped(c.value);
    EXPECT_EQ(ConformanceRequired(), c.required) << (c.value ? c.value : "(unset)");
  }
}

void MissingVectors() { MXKIT_SKIP_OR_FAIL("vectors not found at /nowhere/v.txt"); }

// What MXKIT_SKIP_OR_FAIL reported, intercepted so this test itself passes.
std::vector<::testing::TestPartResult> RunMissingVectors() {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    MissingVectors();
  }
  std::vector<::testing::TestPartResult> out;
  for (int i = 0; i < results.size(); ++i) out.push_back(results.GetTestPartResult(i));
  return out;
}

TEST(SkipOrFail, SkipsNamingWhatIsMissingWhenNotRequired) {
  RequireVariable scoped(nullptr);
  std::vector<::testing::TestPartResult> results = RunMissingVectors();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].type(), ::testing::TestPartResult::kSkip);
  EXPECT_NE(std::string(results[0].message()).find("vectors not found at /nowhere/v.txt"),
            std::string::npos)
      << results[0].message();
}

TEST(SkipOrFail, FailsNamingWhatIsMissingWhenRequired) {
  RequireVariable scoped("1");
  std::vector<::testing::TestPartResult> results = RunMissingVectors();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].type(), ::testing::TestPartResult::kFatalFailure);
  std::string message = results[0].message();
  EXPECT_NE(message.find("vectors not found at /nowhere/v.txt"), std::string::npos) << message;
  EXPECT_NE(message.find("MXKIT_REQUIRE_CONFORMANCE is set"), std::string::npos) << message;
}

TEST(NoteMissingOrFail, AddsAFailureOnlyWhenRequired) {
  {
    RequireVariable scoped("1");
    EXPECT_NONFATAL_FAILURE(NoteMissingOrFail("suite not found at /x"), "suite not found at /x");
  }
  RequireVariable scoped(nullptr);
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    NoteMissingOrFail("suite not found at /x");
  }
  EXPECT_EQ(results.size(), 0);
}

}  // namespace
}  // namespace mxkit::testing
