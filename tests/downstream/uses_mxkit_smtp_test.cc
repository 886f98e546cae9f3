// A downstream user's test: parse and format SMTP through @mxkit//smtp.
#include <string>

#include "gtest/gtest.h"
#include "smtp/command.h"
#include "smtp/data.h"

namespace {

TEST(DownstreamUse, ParsesAndFormatsMailFrom) {
  mxkit::smtp::CommandResult parsed =
      mxkit::smtp::ParseCommand("MAIL FROM:<alice@example.org> SIZE=1024");
  ASSERT_TRUE(parsed.ok()) << parsed.error.message;
  const auto* mail = parsed.command.get_if<mxkit::smtp::MailCommand>();
  ASSERT_NE(mail, nullptr);
  EXPECT_EQ(mail->size, 1024u);
  EXPECT_EQ(mxkit::smtp::FormatCommand(parsed.command),
            "MAIL FROM:<alice@example.org> SIZE=1024\r\n");
}

TEST(DownstreamUse, RejectsUnknownParameterWith555) {
  mxkit::smtp::CommandResult parsed =
      mxkit::smtp::ParseCommand("RCPT TO:<bob@example.org> FOO=BAR");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error.reply_code, 555);
}

TEST(DownstreamUse, DataRoundTripsThroughEncoderAndDecoder) {
  const std::string message = "Subject: hi\r\n\r\n.leading dot\r\n";
  std::string wire;
  ASSERT_TRUE(mxkit::smtp::EncodeData(message, &wire).ok());
  EXPECT_EQ(wire, "Subject: hi\r\n\r\n..leading dot\r\n.\r\n");
  mxkit::smtp::DataDecoder decoder;
  std::string decoded;
  mxkit::smtp::DataPutResult result = decoder.Put(wire, &decoded);
  EXPECT_EQ(result.status, mxkit::smtp::DataStatus::kDone);
  EXPECT_EQ(result.consumed, wire.size());
  EXPECT_EQ(decoded, message);
}

}  // namespace
