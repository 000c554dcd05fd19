// The signature a ShotGrid site puts on each webhook delivery (X-SG-SIGNATURE): "sha1=" and
// the lowercase hex HMAC-SHA1 of the raw body, keyed with the webhook's secret token. The
// admin server checks it; the sandbox makes it. OpenSSL's libcrypto computes the HMAC
// (DESIGN.md section 11: a maintained package rather than our own cryptography).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace sgeventd::base {

// "sha1=<40 hex digits>".
std::string webhook_signature(std::string_view secret, std::string_view body);

// True when `given` is the signature of `body`. Constant time in the signature's length, so
// a wrong header says nothing of how much of it was right. The header's algorithm prefix is
// case-insensitive ("SHA1=" too) and the hex digits may be upper case.
bool signature_matches(std::string_view secret, std::string_view body, std::string_view given);

// The same, for a body read in pieces (a large batched delivery is never held whole).
class StreamingSignature {
 public:
  explicit StreamingSignature(std::string_view secret);
  ~StreamingSignature();
  StreamingSignature(const StreamingSignature&) = delete;
  StreamingSignature& operator=(const StreamingSignature&) = delete;

  void update(std::string_view piece);
  // "sha1=<hex>" of everything updated; once (it finishes the HMAC), empty after.
  std::string finish();
  // True when `given` is the signature of everything updated (once: it finishes the HMAC).
  bool matches(std::string_view given);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Constant time in the length of `expected`: for secrets and tokens.
bool same_secret(std::string_view given, std::string_view expected);

}  // namespace sgeventd::base
