#include "fakemx/testing/gtest_fixture.h"

#include <string>

#include "gtest/gtest.h"
#include "testing/blocking_client.h"

namespace mxkit::fakemx::testing {
namespace {

using mxkit::testing::BlockingClient;

// The reply to the end of data of one message sent through `port`.
std::string Send(uint16_t port, const std::string& rcpt) {
  BlockingClient c(port);
  c.ReadReply();
  c.Command("EHLO app.test\r\n");
  c.Command("MAIL FROM:<app@app.test>\r\n");
  c.Command("RCPT TO:<" + rcpt + ">\r\n");
  c.Command("DATA\r\n");
  std::string reply = c.Command("Subject: welcome\r\n\r\nhi\r\n.\r\n");
  c.Command("QUIT\r\n");
  return reply;
}

class GoodReceiverTest : public FakemxTest {};

TEST_F(GoodReceiverTest, ReturnsTheMessageTheAppSent) {
  ASSERT_EQ(Send(smtp_port(), "bob@example.test").substr(0, 3), "250");
  ReceivedMessage m;
  ASSERT_TRUE(WaitForMessage(ToRecipient("bob@example.test"), &m));
  EXPECT_EQ(m.message.delivery.reverse_path, "app@app.test");
  EXPECT_EQ(m.session.scenario, "good");
  EXPECT_NE(dns_port(), 0);
}

TEST_F(GoodReceiverTest, EachTestHasAFakemxOfItsOwn) {
  EXPECT_TRUE(fakemx()->Messages().empty());
}

TEST_F(GoodReceiverTest, AFailedWaitSaysWhatArrived) {
  ASSERT_EQ(Send(smtp_port(), "carol@example.test").substr(0, 3), "250");
  ::testing::AssertionResult r =
      WaitForMessage(ToRecipient("bob@example.test"), nullptr, std::chrono::milliseconds(100));
  EXPECT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("<carol@example.test>"), std::string::npos)
      << r.message();
}

class RejectingReceiverTest : public FakemxTest {
 protected:
  ScenarioSource Scenario() override { return ScenarioSource::Named("reject-rcpt"); }
};

TEST_F(RejectingReceiverTest, RunsTheScenarioTheClassNames) {
  EXPECT_NE(Send(smtp_port(), "unknown@example.test").substr(0, 3), "250");
  CapturedSession s;
  ASSERT_TRUE(WaitForSession([](const CapturedSession&) { return true; }, &s));
  EXPECT_EQ(s.scenario, "reject-rcpt");
  EXPECT_TRUE(s.messages.empty());
}

TEST(ScopedFakemx, ReportsWhyItDidNotStart) {
  ScopedFakemx fakemx(ScenarioSource::Yaml("receivers: 5\n", "bad.yaml"));
  EXPECT_FALSE(fakemx.ok());
  EXPECT_NE(std::string(fakemx.status().message()).find("bad.yaml:1:"), std::string::npos)
      << fakemx.status();
  EXPECT_FALSE(fakemx.WaitForMessage(AnyMessage(), nullptr, std::chrono::milliseconds(1)));
}

}  // namespace
}  // namespace mxkit::fakemx::testing
