// Fuzzes ReplyParser (RFC 5321 §4.2) on raw server bytes.
//
// Properties, under strict and lenient options:
//   - every reply parsed is valid (ValidateReply) and
//     parse(format(parse(x))) == parse(x), byte-exact formatting included;
//   - feeding the input in two chunks, cut at a point taken from the input,
//     gives the same replies and the same error as feeding it whole;
//   - an error offset never points past the input;
//   - an enhanced status code split off a line formats and splits back.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.h"

namespace {

using mxkit::smtp::EnhancedText;
using mxkit::smtp::FormatEnhancedStatusCode;
using mxkit::smtp::FormatReply;
using mxkit::smtp::ParseReplies;
using mxkit::smtp::ParseReply;
using mxkit::smtp::RepliesParseResult;
using mxkit::smtp::Reply;
using mxkit::smtp::ReplyError;
using mxkit::smtp::ReplyParser;
using mxkit::smtp::ReplyParserOptions;
using mxkit::smtp::ReplyParseResult;
using mxkit::smtp::SplitEnhancedStatusCode;
using mxkit::smtp::ValidateReply;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

RepliesParseResult FeedSplit(std::string_view input, size_t cut,
                             const ReplyParserOptions& options) {
  RepliesParseResult out;
  ReplyParser parser(options);
  for (std::string_view chunk : {input.substr(0, cut), input.substr(cut)}) {
    while (!chunk.empty()) {
      ReplyParser::Result r = parser.Feed(chunk);
      Check(r.consumed <= chunk.size());
      chunk.remove_prefix(r.consumed);
      if (r.error) {
        out.error = r.error;
        return out;
      }
      if (!r.reply) {
        Check(chunk.empty());
        break;
      }
      out.replies.push_back(*r.reply);
    }
  }
  out.error = parser.Finish();
  return out;
}

void CheckOptions(std::string_view input, const ReplyParserOptions& options) {
  RepliesParseResult whole = ParseReplies(input, options);
  if (whole.error) Check(whole.error->offset <= input.size());

  // The canonical form is strict except for 8-bit text.
  ReplyParserOptions canonical;
  canonical.allow_8bit_text = options.allow_8bit_text;
  std::string all;
  for (const Reply& r : whole.replies) {
    Check(r.code >= 200 && r.code <= 559);
    Check(!r.lines.empty() && r.lines.size() <= options.max_lines);
    Check(ValidateReply(r, canonical).ok());
    std::string wire = FormatReply(r);
    ReplyParseResult again = ParseReply(wire, canonical);
    Check(again.reply.has_value() && !again.error);
    Check(*again.reply == r);
    Check(FormatReply(*again.reply) == wire);
    all += wire;
    for (const std::string& line : r.lines) {
      EnhancedText split = SplitEnhancedStatusCode(line);
      if (!split.code) continue;
      std::string rebuilt = FormatEnhancedStatusCode(*split.code);
      if (!split.text.empty()) rebuilt.append(" ").append(split.text);
      EnhancedText resplit = SplitEnhancedStatusCode(rebuilt);
      Check(resplit.code == split.code && resplit.text == split.text);
    }
  }
  RepliesParseResult reparsed = ParseReplies(all, canonical);
  Check(!reparsed.error && reparsed.replies == whole.replies);

  size_t cut = input.empty() ? 0 : static_cast<unsigned char>(input[0]) % (input.size() + 1);
  RepliesParseResult split = FeedSplit(input, cut, options);
  Check(split.replies == whole.replies);
  Check(split.error == whole.error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckOptions(input, ReplyParserOptions{});
  ReplyParserOptions lenient;
  lenient.allow_bare_lf = true;
  lenient.allow_8bit_text = true;
  lenient.max_lines = 8;
  lenient.max_line_length = 80;
  CheckOptions(input, lenient);
  return 0;
}
