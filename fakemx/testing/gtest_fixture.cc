#include "fakemx/testing/gtest_fixture.h"

#include <utility>

namespace mxkit::fakemx::testing {

ScopedFakemx::ScopedFakemx(InstanceOptions options) {
  absl::StatusOr<std::unique_ptr<Instance>> started = Instance::Start(std::move(options));
  if (started.ok()) {
    instance_ = *std::move(started);
  } else {
    status_ = started.status();
  }
}

uint16_t ScopedFakemx::smtp_port(std::string_view receiver) const {
  if (!instance_) return 0;
  const auto at = instance_->smtp_endpoint(receiver);
  return at ? at->port() : 0;
}

uint16_t ScopedFakemx::dns_port() const {
  if (!instance_) return 0;
  const auto at = instance_->dns_endpoint();
  return at ? at->port() : 0;
}

std::string ScopedFakemx::Describe() const {
  if (!instance_) return "fakemx did not start: " + std::string(status_.message());
  std::string out;
  for (const CapturedSession& s : instance_->Sessions()) {
    out += "  session " + std::to_string(s.id) + " at " + s.receiver + " (scenario " + s.scenario +
           ") from " + s.client_address + ": " +
           (s.ended_at_us ? "ended, " + s.end_reason : std::string("open")) +
           (s.tls.used ? ", TLS" : ", no TLS") + "\n";
    for (const CapturedMessage& m : s.messages) {
      out += "    message " + std::to_string(m.id) + " from <" + m.delivery.reverse_path + "> to";
      for (const DeliveryRecipient& r : m.delivery.recipients) out += " <" + r.address + ">";
      out += "\n";
    }
  }
  return out.empty() ? "  nothing: no session at all\n" : out;
}

::testing::AssertionResult ScopedFakemx::WaitForMessage(const MessageFilter& filter,
                                                        ReceivedMessage* out,
                                                        std::chrono::milliseconds timeout) {
  if (!instance_) return ::testing::AssertionFailure() << Describe();
  std::optional<ReceivedMessage> m = instance_->WaitForMessage(filter, timeout);
  if (!m) {
    return ::testing::AssertionFailure()
           << "no matching message within " << timeout.count() << " ms; fakemx holds:\n"
           << Describe();
  }
  if (out != nullptr) *out = *std::move(m);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ScopedFakemx::WaitForSession(const SessionFilter& filter,
                                                        CapturedSession* out,
                                                        std::chrono::milliseconds timeout) {
  if (!instance_) return ::testing::AssertionFailure() << Describe();
  std::optional<CapturedSession> s = instance_->WaitForSession(filter, timeout);
  if (!s) {
    return ::testing::AssertionFailure()
           << "no matching closed session within " << timeout.count() << " ms; fakemx holds:\n"
           << Describe();
  }
  if (out != nullptr) *out = *std::move(s);
  return ::testing::AssertionSuccess();
}

void FakemxTest::SetUp() {
  fakemx_ = std::make_unique<ScopedFakemx>(Options());
  ASSERT_TRUE(fakemx_->ok()) << "fakemx did not start: " << fakemx_->status();
}

void FakemxTest::TearDown() { fakemx_.reset(); }

}  // namespace mxkit::fakemx::testing
