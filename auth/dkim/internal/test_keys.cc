#include "auth/dkim/internal/test_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "base/base64.h"

namespace mxkit::auth::dkim::internal {

std::string GenerateRsaPem(int bits) {
  RSA* rsa = RSA_new();
  BIGNUM* e = BN_new();
  BN_set_word(e, RSA_F4);
  RSA_generate_key_ex(rsa, bits, e, nullptr);
  BN_free(e);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_RSAPrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio, &data, &len);
  std::string pem(reinterpret_cast<const char*>(data), len);
  BIO_free(bio);
  RSA_free(rsa);
  return pem;
}

std::string GenerateEd25519Seed() {
  std::string seed(32, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(seed.data()), seed.size());
  return seed;
}

std::string RsaKeyRecordFromPem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  CBB cbb;
  CBB_init(&cbb, 0);
  EVP_marshal_public_key(&cbb, pkey);
  uint8_t* der = nullptr;
  size_t der_len = 0;
  CBB_finish(&cbb, &der, &der_len);
  std::string out = "v=DKIM1; k=rsa; p=" +
                    base::EncodeBase64(std::string_view(reinterpret_cast<char*>(der), der_len));
  OPENSSL_free(der);
  EVP_PKEY_free(pkey);
  return out;
}

}  // namespace mxkit::auth::dkim::internal
