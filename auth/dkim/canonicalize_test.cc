#include "auth/dkim/canonicalize.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::auth::dkim {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out;
}

struct HeaderRow {
  std::string raw;
  std::string simple;
  std::string relaxed;
};

TEST(CanonicalizeHeader, SimpleAndRelaxedTable) {
  const std::vector<HeaderRow> rows = {
      {"Subject: Hello", "Subject: Hello\r\n", "subject:Hello\r\n"},
      // Only the name is lowercased.
      {"SUBJECT: MiXeD Value", "SUBJECT: MiXeD Value\r\n", "subject:MiXeD Value\r\n"},
      // WSP before and after the colon goes; inner runs become one SP.
      {"Subject \t:  a \t b  ", "Subject \t:  a \t b  \r\n", "subject:a b\r\n"},
      // Unfolding removes CRLF and keeps the WSP after it, which collapses.
      {"Subject: a\r\n\tb", "Subject: a\r\n\tb\r\n", "subject:a b\r\n"},
      {"Subject: a \r\n  b", "Subject: a \r\n  b\r\n", "subject:a b\r\n"},
      {"Subject:a\r\n b", "Subject:a\r\n b\r\n", "subject:a b\r\n"},
      // A value starting with a fold (OpenDKIM pull 119's "Name:\r\n\tValue").
      {"Subject:\r\n\tValue", "Subject:\r\n\tValue\r\n", "subject:Value\r\n"},
      {"Subject:", "Subject:\r\n", "subject:\r\n"},
      {"Subject:   ", "Subject:   \r\n", "subject:\r\n"},
      {"Subject:\r\n ", "Subject:\r\n \r\n", "subject:\r\n"},
      // Value bytes other than WSP are untouched, including non-ASCII.
      {"X-Y: caf\xc3\xa9\x01!", "X-Y: caf\xc3\xa9\x01!\r\n", "x-y:caf\xc3\xa9\x01!\r\n"},
      // Colons after the first belong to the value.
      {"To: a :b", "To: a :b\r\n", "to:a :b\r\n"},
  };
  for (const HeaderRow& row : rows) {
    EXPECT_EQ(Escape(CanonicalizeHeader(Canonicalization::kSimple, row.raw)), Escape(row.simple))
        << Escape(row.raw);
    EXPECT_EQ(Escape(CanonicalizeHeader(Canonicalization::kRelaxed, row.raw)),
              Escape(row.relaxed))
        << Escape(row.raw);
  }
}

struct BodyRow {
  std::string body;
  std::string simple;
  std::string relaxed;
};

const std::vector<BodyRow>& BodyRows() {
  static const auto* rows = new std::vector<BodyRow>{
      // Empty bodies: simple gives CRLF, relaxed gives nothing (§3.4.3, §3.4.4).
      {"", "\r\n", ""},
      {"\r\n", "\r\n", ""},
      {"\r\n\r\n\r\n", "\r\n", ""},
      {" \r\n\t\r\n", " \r\n\t\r\n", ""},
      {"a", "a\r\n", "a\r\n"},
      {"a\r\n", "a\r\n", "a\r\n"},
      {"a\r\n\r\n\r\n", "a\r\n", "a\r\n"},
      // Inner empty lines are kept; only trailing ones go.
      {"a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
      // WSP: runs inside a line become one SP, trailing WSP goes.
      {"a \t b \r\n", "a \t b \r\n", "a b\r\n"},
      {" a\r\n", " a\r\n", " a\r\n"},
      {"\t\ta  b\t\r\n", "\t\ta  b\t\r\n", " a b\r\n"},
      // Lines that are empty only after WSP removal are trailing empty lines.
      {"a\r\n \r\n\t\r\n", "a\r\n \r\n\t\r\n", "a\r\n"},
      {"a\r\n \r\nb\r\n", "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n"},
      // CR-less cases: bare LF and bare CR are line content, so WSP before
      // them is inner WSP (one SP), not trailing WSP.
      {"a \nb\r\n", "a \nb\r\n", "a \nb\r\n"},
      {"a  \rb\r\n", "a  \rb\r\n", "a \rb\r\n"},
      {"a \r\r\n", "a \r\r\n", "a \r\r\n"},
      {"a\n", "a\n\r\n", "a\n\r\n"},
      {"\n", "\n\r\n", "\n\r\n"},
      {"a\r", "a\r\r\n", "a\r\r\n"},
      {"a \r", "a \r\r\n", "a \r\r\n"},
      {"\r", "\r\r\n", "\r\r\n"},
      {"a\r\r\n\r\n", "a\r\r\n", "a\r\r\n"},
      {"a\n\r\n\r\n", "a\n\r\n", "a\n\r\n"},
      {"\r\n\r", "\r\n\r\r\n", "\r\n\r\r\n"},
      // An unterminated last line gets a CRLF; its trailing WSP is trailing
      // WSP of that line in relaxed (dkimpy differs; see dkimpy_diff_test).
      {"a  ", "a  \r\n", "a\r\n"},
      {"a\r\n  ", "a\r\n  \r\n", "a\r\n"},
      {"  ", "  \r\n", ""},
      {"a\r\n\r\n  b", "a\r\n\r\n  b\r\n", "a\r\n\r\n b\r\n"},
      {"x\r\n\r\n \r\n", "x\r\n\r\n \r\n", "x\r\n"},
  };
  return *rows;
}

std::string RunChunks(Canonicalization c, const std::vector<std::string>& chunks,
                std::optional<uint64_t> limit = std::nullopt, uint64_t* total = nullptr) {
  StringBodySink sink;
  BodyCanonicalizer canon(c, &sink, limit);
  for (const std::string& chunk : chunks) canon.Update(chunk);
  canon.Finish();
  canon.Finish();  // idempotent
  canon.Update("ignored after Finish");
  if (total != nullptr) *total = canon.canonical_length();
  EXPECT_EQ(canon.written_length(), sink.data.size());
  return sink.data;
}

TEST(BodyCanonicalizer, OneShotTable) {
  for (const BodyRow& row : BodyRows()) {
    EXPECT_EQ(Escape(CanonicalizeBody(Canonicalization::kSimple, row.body)), Escape(row.simple))
        << Escape(row.body);
    EXPECT_EQ(Escape(CanonicalizeBody(Canonicalization::kRelaxed, row.body)),
              Escape(row.relaxed))
        << Escape(row.body);
  }
}

TEST(BodyCanonicalizer, SameOutputAtEverySplitPoint) {
  for (const BodyRow& row : BodyRows()) {
    for (Canonicalization c : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
      const std::string& want = c == Canonicalization::kSimple ? row.simple : row.relaxed;
      for (size_t i = 0; i <= row.body.size(); ++i) {
        for (size_t j = i; j <= row.body.size(); ++j) {
          std::vector<std::string> chunks = {row.body.substr(0, i), row.body.substr(i, j - i),
                                             row.body.substr(j)};
          EXPECT_EQ(Escape(RunChunks(c, chunks)), Escape(want))
              << CanonicalizationName(c) << " " << Escape(row.body) << " split at " << i << ","
              << j;
        }
      }
      std::vector<std::string> bytes;
      for (char ch : row.body) bytes.push_back(std::string(1, ch));
      EXPECT_EQ(Escape(RunChunks(c, bytes)), Escape(want)) << "byte by byte: " << Escape(row.body);
    }
  }
}

TEST(BodyCanonicalizer, LengthLimitCutsTheCanonicalBodyAtEverySplitPoint) {
  const std::string body = "Hi  there \r\n\r\n\tline\t two\r\n \r\n\r\n";
  for (Canonicalization c : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
    const std::string full = CanonicalizeBody(c, body);
    for (uint64_t limit = 0; limit <= full.size() + 2; ++limit) {
      for (size_t i = 0; i <= body.size(); ++i) {
        uint64_t total = 0;
        std::string got = RunChunks(c, {body.substr(0, i), body.substr(i)}, limit, &total);
        EXPECT_EQ(Escape(got), Escape(full.substr(0, std::min<uint64_t>(limit, full.size()))))
            << CanonicalizationName(c) << " l=" << limit << " split " << i;
        EXPECT_EQ(total, full.size());
      }
    }
  }
}

TEST(BodyCanonicalizer, ManyTrailingEmptyLinesAreDroppedAndInnerOnesKept) {
  std::string empties;
  for (int i = 0; i < 100000; ++i) empties += "\r\n";
  EXPECT_EQ(CanonicalizeBody(Canonicalization::kRelaxed, "a\r\n" + empties), "a\r\n");
  std::string kept = CanonicalizeBody(Canonicalization::kSimple, "a\r\n" + empties + "b\r\n");
  EXPECT_EQ(kept, "a\r\n" + empties + "b\r\n");
}

}  // namespace
}  // namespace mxkit::auth::dkim
