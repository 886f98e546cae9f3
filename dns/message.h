// DNS messages on the wire (RFC 1035 §4): a sans-IO parser and builder.
//
// Parsing is strict: every length is checked against what remains, name
// compression pointers may only point backwards (so they cannot loop), names
// stay within 255 octets, RDLENGTH must equal what the type's RDATA grammar
// consumed, and trailing bytes after the last section are an error. Records
// of the types mxkit uses (A, AAAA, NS, CNAME, SOA, PTR, MX, TXT, TLSA) in
// class IN are decoded into the resolver.h RDATA structs; everything else is
// kept as raw RDATA, so parse(build(m)) == m for every message that parses.
//
// Names are text in presentation form (RFC 1035 §5.1), absolute, without the
// trailing dot, in the case they were sent in; the root is "". A label byte
// that is '.', '\\' or outside printable ASCII is written as "\." "\\" or
// "\DDD", so a name with such a label still round-trips.

#ifndef MXKIT_DNS_MESSAGE_H_
#define MXKIT_DNS_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "dns/resolver.h"

namespace mxkit::dns {

// RFC 1035 §4.1.1: the fixed header.
inline constexpr size_t kDnsHeaderSize = 12;
// RFC 1035 §4.2.2: TCP's two-octet length prefix bounds a message (UDP
// messages are smaller still, RFC 1035 §4.2.1 / RFC 6891).
inline constexpr size_t kMaxDnsMessageSize = 65535;
// RFC 1035 §2.3.4: a name is at most 255 octets on the wire, a label 63.
inline constexpr size_t kMaxNameWireLength = 255;
inline constexpr size_t kMaxLabelWireLength = 63;
// RFC 1035 §4.1.4: pointers are 14-bit offsets.
inline constexpr size_t kMaxCompressionOffset = 0x3fff;
// A 255-octet name has at most 127 labels, so no honest name needs more
// pointers than that; loops are already impossible (pointers go backwards).
inline constexpr size_t kMaxCompressionPointers = 127;
// RFC 1035 §3.3: a <character-string> is a length octet and up to 255 bytes.
inline constexpr size_t kMaxCharacterStringWireLength = 255;
// RFC 1035 §3.2.1: RDLENGTH is 16 bits.
inline constexpr size_t kMaxRdataWireLength = 65535;

inline constexpr uint16_t kClassIn = 1;  // RFC 1035 §3.2.4

// RFC 1035 §4.1.1 RCODEs (RFC 6895 §2.3 for the registry).
enum class Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

// The bits of Header::z that RFC 4035 §3.2 took from RFC 1035's Z field:
// AD (authentic data, §3.2.3) and CD (checking disabled, §3.2.2).
inline constexpr uint8_t kZAuthenticData = 0x2;
inline constexpr uint8_t kZCheckingDisabled = 0x1;

struct Header {
  uint16_t id = 0;
  bool qr = false;  // a response
  uint8_t opcode = 0;  // 4 bits
  bool aa = false, tc = false, rd = false, ra = false;
  uint8_t z = 0;  // 3 bits, reserved (RFC 1035); AD/CD live here (RFC 4035 §3.2): kZ*
  uint8_t rcode = 0;  // 4 bits

  friend bool operator==(const Header&, const Header&) = default;
};

struct Question {
  std::string name;
  uint16_t type = 0;  // an RrType value or any other
  uint16_t qclass = kClassIn;

  friend bool operator==(const Question&, const Question&) = default;
};

// RDATA of a type (or class) this codec does not decode, byte for byte.
struct RawData {
  std::string bytes;

  friend bool operator==(const RawData&, const RawData&) = default;
};

using WireRData =
    std::variant<AData, AaaaData, NameData, MxData, TxtData, SoaData, TlsaData, RawData>;

struct WireRecord {
  std::string name;
  uint16_t type = 0;
  uint16_t rclass = kClassIn;  // for OPT (RFC 6891 §6.1.2) this is the UDP size
  uint32_t ttl = 0;            // for OPT: extended RCODE and flags
  WireRData data;
};
bool operator==(const WireRecord& a, const WireRecord& b);

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<WireRecord> answers;
  std::vector<WireRecord> authorities;
  std::vector<WireRecord> additionals;

  friend bool operator==(const Message&, const Message&) = default;
};

enum class WireErrorKind {
  kTruncated,       // a length or count needs more bytes than remain
  kBadLabelType,    // label type 0x40/0x80 (RFC 6891 §5 retired them)
  kNameTooLong,     // over kMaxNameWireLength octets, or a label over 63
  kBadPointer,      // compression pointer forward, to itself, or into the header
  kTooManyPointers, // more than kMaxCompressionPointers in one name
  kBadRdataLength,  // RDLENGTH differs from what the RDATA grammar consumed
  kBadRdata,        // RDATA malformed for its type (e.g. an empty TXT)
  kTrailingData,    // bytes after the last record
  // Building only:
  kBadName,         // a name's text is not a valid name (empty label, bad escape)
  kTooLarge,        // a string, RDATA, count or the message exceeds its limit
};

std::string_view WireErrorKindName(WireErrorKind kind);

struct WireError {
  WireErrorKind kind;
  size_t offset = 0;  // parsing: where in the input; building: in the output
  std::string message;
};

// A value or the error that stopped parsing or building.
template <typename T>
class WireResult {
 public:
  WireResult(T value) : v_(std::move(value)) {}              // NOLINT: implicit on purpose
  WireResult(WireError error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const WireError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, WireError> v_;
};

// Parses one whole message (no TCP length prefix). Never reads outside
// `wire`; on error reports the kind, the offset and what was wrong.
WireResult<Message> ParseMessage(std::string_view wire);

struct BuildOptions {
  // RFC 1035 §4.1.4 compression of owner names and of the names inside
  // NS, CNAME, SOA, PTR and MX RDATA (RFC 3597 §4 forbids it elsewhere).
  bool compress = true;
};

// Serialises `message`; the counts come from the vectors. Fails when a name
// is not valid presentation text, a string or RDATA is too long, or the
// message would exceed kMaxDnsMessageSize.
WireResult<std::string> BuildMessage(const Message& message, BuildOptions options = {});

// A recursion-desired query for one name (trailing dot allowed) and type.
Message MakeQuery(uint16_t id, std::string_view name, uint16_t type);

// The resolver.h view of a record: nothing for classes other than IN or
// for types RrType does not name.
std::optional<ResourceRecord> ToResourceRecord(const WireRecord& record);

// The wire view of a resolver.h record (class IN).
WireRecord ToWireRecord(const ResourceRecord& record);

// Equality of the resolver.h RDATA structs, which have no operator== of their own.
bool RDataEquals(const WireRData& a, const WireRData& b);

// Compares presentation names the way DNS does: ASCII case-insensitively
// (RFC 4343), ignoring one trailing dot.
bool NamesEqual(std::string_view a, std::string_view b);

// Longest CNAME chain InterpretAnswer follows (BIND's bound is 16 too).
inline constexpr size_t kMaxAnswerCnameChain = 16;

// What a server's answer to a query for (`name`, `type`) means, as
// resolver.h reports it: the RCODE decides NXDOMAIN (kNxDomain), SERVFAIL
// (kTemporaryFailure), REFUSED/FORMERR/NOTIMP/others (kPermanentFailure);
// for NOERROR the CNAMEs in the answer section are followed from `name` and
// the records of `type` at the end of the chain make kAnswer, none kNoData.
// An unparseable answer, one for another question, or a CNAME loop is
// kPermanentFailure; a truncated (TC) answer is kTemporaryFailure.
// `authenticated` is the answer's AD bit, whatever the RCODE (a validated
// NXDOMAIN is a validated denial), but only for a parseable, untruncated
// response to the question asked: never for the failures above.
LookupResult InterpretAnswer(std::string_view name, RrType type, std::string_view wire);

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_MESSAGE_H_
