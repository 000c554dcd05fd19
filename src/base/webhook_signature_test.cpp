#include "base/webhook_signature.h"

#include <gtest/gtest.h>

namespace sgeventd::base {
namespace {

// RFC 2202's HMAC-SHA1 test cases 2 and 6.
TEST(WebhookSignature, MatchesTheRfcVectors) {
  EXPECT_EQ(webhook_signature("Jefe", "what do ya want for nothing?"),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(webhook_signature(std::string(80, '\xaa'),
                              "Test Using Larger Than Block-Size Key - Hash Key First"),
            "sha1=aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST(WebhookSignature, AcceptsOnlyTheBodysOwnSignature) {
  const std::string body = R"({"data":{"event_log_entry_id":12}})";
  const std::string good = webhook_signature("s3cret", body);
  EXPECT_TRUE(signature_matches("s3cret", body, good));
  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(signature_matches("s3cret", body, upper));
  EXPECT_FALSE(signature_matches("other", body, good));                         // wrong secret
  EXPECT_FALSE(signature_matches("s3cret", body + " ", good));                  // altered body
  EXPECT_FALSE(signature_matches("s3cret", body, ""));                          // missing
  EXPECT_FALSE(signature_matches("s3cret", body, good.substr(5)));              // no algorithm
  EXPECT_FALSE(signature_matches("s3cret", body, "sha256=" + good.substr(5)));  // another one
  EXPECT_FALSE(signature_matches("s3cret", body, good.substr(0, 20)));          // a prefix
}

TEST(WebhookSignature, InPiecesIsTheSameAsWhole) {
  const std::string body(100'000, 'x');
  StreamingSignature check("k");
  for (std::size_t i = 0; i < body.size(); i += 777)
    check.update(std::string_view(body).substr(i, 777));
  EXPECT_TRUE(check.matches(webhook_signature("k", body)));
  EXPECT_EQ(webhook_signature("", "").size(), 45u);  // an empty secret still signs
}

TEST(SameSecret, ComparesWholeStrings) {
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abcd", "abc"));
  EXPECT_FALSE(same_secret("ab", "abc"));
  EXPECT_FALSE(same_secret("", "abc"));
  EXPECT_TRUE(same_secret("", ""));
}

}  // namespace
}  // namespace sgeventd::base
