#include "sg/endpoint.h"

#include <gtest/gtest.h>

namespace sgeventd::sg {
namespace {

TEST(Endpoint, PathRulesOfTheOfficialClient) {
  struct Case {
    const char* base;
    const char* url;
  };
  for (Case c :
       {Case{"https://h", "https://h/api3/json"}, Case{"https://h/", "https://h/api3/json"},
        Case{"https://h/sg", "https://h/api3/json"},
        Case{"https://h/sg/", "https://h/sg/api3/json"},
        Case{"HTTPS://Studio.Example.COM:8443/Prefix/",
             "https://studio.example.com:8443/prefix/api3/json"},
        Case{"http://127.0.0.1:8080", "http://127.0.0.1:8080/api3/json"},
        Case{"https://h/a/b?x=1", "https://h/a/api3/json"}}) {
    auto e = parse_base_url(c.base);
    ASSERT_TRUE(e) << c.base;
    EXPECT_EQ(e->url, c.url) << c.base;
    EXPECT_TRUE(e->authorization.empty());
  }
}

TEST(Endpoint, CredentialsInTheUrlBecomeBasicAuth) {
  auto e = parse_base_url("https://us%40er:Pa%3Ass@h.example/");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->server, "h.example");
  EXPECT_EQ(e->authorization, "Basic " + base64_encode("us@er:Pa:ss"));
  EXPECT_EQ(e->url, "https://h.example/api3/json");
}

TEST(Endpoint, RejectsOtherSchemesAndEmptyHosts) {
  for (const char* bad : {"ftp://h", "h.example.com", "", "https://", "file:///x"}) {
    auto e = parse_base_url(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().kind, ErrorKind::kInvalidArgument);
  }
}

TEST(Endpoint, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Proxy, Forms) {
  auto p = parse_proxy("10.0.0.1");
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->host, "10.0.0.1");
  EXPECT_EQ((*p)->port, 8080);
  p = parse_proxy("proxy.local:3128");
  EXPECT_EQ((*p)->port, 3128);
  p = parse_proxy("joe:pa@ss@proxy.local:3128");
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->user, "joe");
  EXPECT_EQ((*p)->password, "pa@ss");
  EXPECT_EQ((*p)->host, "proxy.local");
  EXPECT_FALSE(*parse_proxy(""));
}

TEST(Proxy, BadPortIsAnErrorWithoutTheCredentials) {
  auto p = parse_proxy("joe:secretpw@proxy.local:http");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(p.error().message.find("secretpw"), std::string::npos);
  EXPECT_FALSE(parse_proxy("proxy:99999"));
  EXPECT_FALSE(parse_proxy("nocolon@proxy"));
}

}  // namespace
}  // namespace sgeventd::sg
