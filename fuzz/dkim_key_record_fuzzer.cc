// Fuzz target for //auth/dkim:key_record (ParseKeyRecord, RFC 6376 §3.6.1,
// RFC 8301, RFC 8463).
//
// Input: byte 0 picks where to split the record into two TXT strings, the
// rest is the record.
// Properties checked (a violation traps):
//  1. Splitting a record over TXT strings never changes the result (RFC 6376
//     §3.6.2.2 concatenation): same error, offset and key.
//  2. On success: a revoked key has no key bytes; an Ed25519 key is 32 bytes;
//     an RSA key is parsed and within [kMinRsaKeyBits, kMaxRsaKeyBits].
//  3. On failure the offset lies within the input (or at its end).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim/key_record.h"

namespace {

using namespace mxkit::auth::dkim;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string record(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t cut = record.empty() ? 0 : data[0] % (record.size() + 1);
  KeyRecordResult whole = ParseKeyRecord(record);
  KeyRecordResult split =
      ParseKeyRecord(std::vector<std::string>{record.substr(0, cut), record.substr(cut)});
  Check(whole.error == split.error);
  Check(whole.offset == split.offset);
  if (!whole.ok()) {
    Check(whole.offset <= record.size() || whole.error == KeyRecordError::kTooLong);
    Check(!whole.message.empty());
    return 0;
  }
  const KeyRecord& key = whole.record;
  Check(key.public_key == split.record.public_key);
  Check(key.key_type == split.record.key_type);
  if (key.revoked) {
    Check(key.public_key.empty());
    Check(key.rsa == nullptr);
  } else if (key.key_type == KeyType::kEd25519) {
    Check(key.public_key.size() == kEd25519PublicKeyBytes);
  } else {
    Check(key.rsa != nullptr);
    Check(key.rsa_bits >= kMinRsaKeyBits && key.rsa_bits <= kMaxRsaKeyBits);
  }
  return 0;
}
