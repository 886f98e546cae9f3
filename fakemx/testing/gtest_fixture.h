// fakemx as a GoogleTest fixture: each test gets a fakemx of its own,
// started in process on ephemeral ports with the scenario the test class
// names, and stopped (gracefully) after the test.
//
//   class SignupMailTest : public mxkit::fakemx::testing::FakemxTest {
//    protected:
//     mxkit::fakemx::ScenarioSource Scenario() override {
//       return mxkit::fakemx::ScenarioSource::Named("no-starttls");
//     }
//   };
//   TEST_F(SignupMailTest, ArrivesWithoutTls) {
//     my_app.SendMail("127.0.0.1", smtp_port(), "bob@example.test");
//     mxkit::fakemx::ReceivedMessage m;
//     ASSERT_TRUE(WaitForMessage(mxkit::fakemx::ToRecipient("bob@example.test"), &m));
//     EXPECT_FALSE(m.message.delivery.tls.used);
//   }
//
// ScopedFakemx is the same without the fixture, for a test that wants
// several or builds its options itself.

#ifndef MXKIT_FAKEMX_TESTING_GTEST_FIXTURE_H_
#define MXKIT_FAKEMX_TESTING_GTEST_FIXTURE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "fakemx/instance.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx::testing {

// How long WaitForMessage waits unless told: generous for a loaded CI
// machine, yet a missing message fails the test rather than hanging it.
inline constexpr std::chrono::milliseconds kDefaultWait{10000};

// A fakemx started for the lifetime of this object.
class ScopedFakemx {
 public:
  // Starts `options` (InstanceOptions::Embedded(...) for a test); ok()
  // says whether that worked, status() why not.
  explicit ScopedFakemx(InstanceOptions options = InstanceOptions::Embedded());
  explicit ScopedFakemx(ScenarioSource scenario)
      : ScopedFakemx(InstanceOptions::Embedded(std::move(scenario))) {}

  bool ok() const { return instance_ != nullptr; }
  const absl::Status& status() const { return status_; }
  // The running instance; only when ok().
  Instance& instance() { return *instance_; }
  Instance* operator->() { return instance_.get(); }

  // The first receiver's plain SMTP port (0 when it has none or !ok()).
  uint16_t smtp_port(std::string_view receiver = "") const;
  // The DNS server's port, UDP and TCP (0 with DNS off or !ok()).
  uint16_t dns_port() const;

  // The first stored message `filter` accepts (waiting up to `timeout`),
  // into `out`; on failure the message lists what fakemx did receive, so a
  // test's ASSERT says why.
  ::testing::AssertionResult WaitForMessage(const MessageFilter& filter, ReceivedMessage* out,
                                            std::chrono::milliseconds timeout = kDefaultWait);
  // The same for a closed session (also one that never delivered).
  ::testing::AssertionResult WaitForSession(const SessionFilter& filter, CapturedSession* out,
                                            std::chrono::milliseconds timeout = kDefaultWait);

  // One line per session and message fakemx holds, for failure messages.
  std::string Describe() const;

 private:
  absl::Status status_;
  std::unique_ptr<Instance> instance_;
};

// A fixture starting Scenario() (and Options()) before each test.
class FakemxTest : public ::testing::Test {
 protected:
  // The scenario each test runs; the catalogue's "good" unless overridden.
  virtual ScenarioSource Scenario() { return ScenarioSource::Named("good"); }
  // Everything else; Embedded(Scenario()) unless overridden.
  virtual InstanceOptions Options() { return InstanceOptions::Embedded(Scenario()); }

  void SetUp() override;
  void TearDown() override;

  ScopedFakemx& fakemx() { return *fakemx_; }
  uint16_t smtp_port(std::string_view receiver = "") const { return fakemx_->smtp_port(receiver); }
  uint16_t dns_port() const { return fakemx_->dns_port(); }
  ::testing::AssertionResult WaitForMessage(const MessageFilter& filter, ReceivedMessage* out,
                                            std::chrono::milliseconds timeout = kDefaultWait) {
    return fakemx_->WaitForMessage(filter, out, timeout);
  }
  ::testing::AssertionResult WaitForSession(const SessionFilter& filter, CapturedSession* out,
                                            std::chrono::milliseconds timeout = kDefaultWait) {
    return fakemx_->WaitForSession(filter, out, timeout);
  }

 private:
  std::unique_ptr<ScopedFakemx> fakemx_;
};

}  // namespace mxkit::fakemx::testing

#endif  // MXKIT_FAKEMX_TESTING_GTEST_FIXTURE_H_
