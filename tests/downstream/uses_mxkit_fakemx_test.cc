// A downstream team's test of its own mail-sending code against fakemx,
// embedded through @mxkit//fakemx/testing:gtest_fixture: no process to
// start, no port to pick, no sleep.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fakemx/testing/gtest_fixture.h"
#include "gtest/gtest.h"

namespace {

// The "application code" under test: a minimal SMTP sender of the kind a
// team writes (plain SMTP, one recipient). Returns the last reply line, or
// what went wrong.
std::string SendWelcomeMail(uint16_t port, const std::string& to) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "socket failed";
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "connect failed";
  }
  std::string pending;
  // One whole reply: lines until one whose code is followed by a space.
  auto read_reply = [&]() -> std::string {
    for (;;) {
      size_t start = 0;
      for (size_t end; (end = pending.find("\r\n", start)) != std::string::npos; start = end + 2) {
        if (end - start >= 4 && pending[start + 3] == ' ') {
          std::string line = pending.substr(start, end - start);
          pending.erase(0, end + 2);
          return line;
        }
      }
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return "connection closed";
      pending.append(buf, static_cast<size_t>(n));
    }
  };
  auto command = [&](const std::string& line) {
    send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    return read_reply();
  };
  std::string last = read_reply();
  for (const std::string& line :
       std::vector<std::string>{"EHLO app.downstream.test\r\n", "MAIL FROM:<noreply@app.test>\r\n",
                                "RCPT TO:<" + to + ">\r\n", "DATA\r\n",
                                "Subject: Welcome\r\nFrom: noreply@app.test\r\n\r\nHello!\r\n.\r\n"}) {
    last = command(line);
    if (last.empty() || (last[0] != '2' && last[0] != '3')) break;
  }
  command("QUIT\r\n");
  close(fd);
  return last;
}

class WelcomeMailTest : public mxkit::fakemx::testing::FakemxTest {};

TEST_F(WelcomeMailTest, ArrivesAtTheReceiverInPlaintext) {
  ASSERT_EQ(SendWelcomeMail(smtp_port(), "new.user@example.test").substr(0, 3), "250");
  mxkit::fakemx::ReceivedMessage m;
  ASSERT_TRUE(WaitForMessage(mxkit::fakemx::ToRecipient("new.user@example.test"), &m));
  EXPECT_NE(m.message.raw.view().find("Subject: Welcome"), std::string_view::npos);
  EXPECT_EQ(m.session.receiver, "example.test");
  // Our sender never uses STARTTLS: the hop is unencrypted.
  EXPECT_FALSE(m.message.delivery.tls.used);
  EXPECT_FALSE(m.session.verdict.encrypted);
  // The message's verdict, as fakemx/README.md's example reads it.
  EXPECT_EQ(mxkit::fakemx::LockWord(m.message.verdict->summary), std::string("red_lock"));
}

class RecipientRejectedTest : public mxkit::fakemx::testing::FakemxTest {
 protected:
  mxkit::fakemx::ScenarioSource Scenario() override {
    return mxkit::fakemx::ScenarioSource::Named("reject-rcpt");
  }
};

TEST_F(RecipientRejectedTest, TheAppSeesThe550AndNothingIsDelivered) {
  EXPECT_EQ(SendWelcomeMail(smtp_port(), "unknown.user@example.test"),
            "550 5.1.1 No such user here");
  mxkit::fakemx::CapturedSession s;
  ASSERT_TRUE(WaitForSession([](const mxkit::fakemx::CapturedSession&) { return true; }, &s));
  EXPECT_TRUE(s.messages.empty());
  EXPECT_EQ(s.scenario, "reject-rcpt");
}

}  // namespace
