#include "sg/response.h"

#include <gtest/gtest.h>

#include "fake_transport.h"

namespace sgeventd::sg {
namespace {

using testing::raw_reply;

TEST(Response, NonJsonContentTypesAreReturnedAsText) {
  auto r = decode_response(raw_reply("<html>hi</html>", "text/html"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, Value("<html>hi</html>"));
  r = decode_response(raw_reply("", "application/json"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, Value(""));
  r = decode_response(raw_reply(R"({"results": 1})", ""));  // no content type means JSON
  EXPECT_EQ(*r, Value(1));
  r = decode_response(raw_reply(R"({"results": 1})", "Text/JavaScript; charset=utf-8"));
  EXPECT_EQ(*r, Value(1));
}

TEST(Response, MalformedBodiesAreResponseErrors) {
  for (const char* body :
       {"{", "[1,", "garbage", "{\"results\": }", "\xff\xfe", "nul", "{\"a\":1}{\"b\":2}"}) {
    auto r = decode_response(raw_reply(body, "application/json"));
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::kResponseError);
  }
}

TEST(Response, FaultMessagesThatAreNotStrings) {
  auto r = decode_response(
      raw_reply(R"({"exception": 1, "error_code": 102, "message": null})", "application/json"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kAuthenticationFault);
  EXPECT_EQ(r.error().message, "None");
  r = decode_response(
      raw_reply(R"({"exception": "yes", "error_code": "102"})", "application/json"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kFault);  // "102" is not 102
  EXPECT_EQ(r.error().message, "Unknown Error");
}

TEST(Response, TransportErrorKinds) {
  EXPECT_EQ(transport_error({TransportErrorKind::kTooLarge, "x"}).kind, ErrorKind::kResponseError);
  EXPECT_EQ(transport_error({TransportErrorKind::kTruncated, "x"}).kind, ErrorKind::kResponseError);
  EXPECT_EQ(transport_error({TransportErrorKind::kTls, "x"}).kind, ErrorKind::kTlsError);
  EXPECT_EQ(transport_error({TransportErrorKind::kTimeout, "x"}).kind, ErrorKind::kTimeout);
}

}  // namespace
}  // namespace sgeventd::sg
