#include "base/webhook_signature.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cctype>

namespace sgeventd::base {

// OpenSSL 3's EVP_MAC interface (the HMAC_CTX one is deprecated). A context that could not
// be made (no memory) gives an empty signature, which matches nothing.
struct StreamingSignature::Impl {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  bool ok = false;

  explicit Impl(std::string_view secret) {
    mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac) ctx = EVP_MAC_CTX_new(mac);
    if (!ctx) return;
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    // An empty key still needs a valid pointer.
    static const unsigned char kNoKey = 0;
    const auto* key =
        secret.empty() ? &kNoKey : reinterpret_cast<const unsigned char*>(secret.data());
    ok = EVP_MAC_init(ctx, key, secret.size(), params) == 1;
  }
  ~Impl() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
  void update(std::string_view piece) {
    if (ok && !piece.empty()) {
      ok = EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(piece.data()),
                          piece.size()) == 1;
    }
  }
  std::string finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    std::size_t length = 0;
    if (!ok || EVP_MAC_final(ctx, digest, &length, sizeof digest) != 1) return {};
    ok = false;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "sha1=";
    for (std::size_t i = 0; i < length; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 0xf];
    }
    return out;
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

StreamingSignature::StreamingSignature(std::string_view secret)
    : impl_(std::make_unique<Impl>(secret)) {}
StreamingSignature::~StreamingSignature() = default;
void StreamingSignature::update(std::string_view piece) { impl_->update(piece); }

std::string StreamingSignature::finish() { return impl_->finish(); }

bool StreamingSignature::matches(std::string_view given) {
  const std::string expected = finish();
  if (expected.empty()) return false;
  std::string folded(given);
  for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return same_secret(folded, expected);
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  StreamingSignature hmac(secret);
  hmac.update(body);
  return hmac.finish();
}

bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char g = i < given.size() ? given[i] : '\0';
    diff |= static_cast<unsigned char>(g ^ expected[i]);
  }
  return diff == 0;
}

bool signature_matches(std::string_view secret, std::string_view body, std::string_view given) {
  StreamingSignature check(secret);
  check.update(body);
  return check.matches(given);
}

}  // namespace sgeventd::base
