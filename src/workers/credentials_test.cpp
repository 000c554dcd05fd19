#include "workers/credentials.h"

#include <gtest/gtest.h>

#include "sgeventd/json.h"

namespace sgeventd::workers {
namespace {

HelloInfo hello_with_secrets() {
  HelloInfo h;
  h.site = Dict{{"url", "https://studio.shotgrid.autodesk.com"},
                {"proxy", "http://ops:Pr0xyPass@proxy:3128"}};
  h.config = Dict{{"shotgun", Dict{{"server", "https://studio.shotgrid.autodesk.com"},
                                   {"name", "events"},
                                   {"key", "SCRIPTKEY-0123"},
                                   {"proxy_server", "http://ops:Pr0xyPass@proxy:3128"}}},
                  {"emails", Dict{{"server", "smtp.studio"}, {"password", "SMTP-PASS"}}},
                  {"slack", Dict{{"channel", "pipeline"}}}};
  return h;
}

TEST(Credentials, AnExecPluginGetsNoneUnlessItNamesThem) {
  const HelloInfo h = without_credentials(hello_with_secrets(), {});
  const std::string text = to_json(h.config) + to_json(h.site);
  EXPECT_EQ(text.find("SCRIPTKEY-0123"), std::string::npos) << text;
  EXPECT_EQ(text.find("SMTP-PASS"), std::string::npos) << text;
  EXPECT_EQ(text.find("Pr0xyPass"), std::string::npos) << text;
  // Everything else stays: the plugin reads its own section and the site's address.
  EXPECT_EQ(h.config["shotgun"]["name"].as_string(), "events");
  EXPECT_EQ(h.config["shotgun"]["proxy_server"].as_string(), "http://ops@proxy:3128");
  EXPECT_EQ(h.config["slack"]["channel"].as_string(), "pipeline");
  EXPECT_EQ(h.site["proxy"].as_string(), "http://ops@proxy:3128");
  EXPECT_FALSE(h.config["shotgun"].as_dict().contains("key"));
  EXPECT_FALSE(h.config["emails"].as_dict().contains("password"));
}

TEST(Credentials, NamedOnesStay) {
  const HelloInfo h =
      without_credentials(hello_with_secrets(), {"shotgun.key", "shotgun.proxy_server"});
  EXPECT_EQ(h.config["shotgun"]["key"].as_string(), "SCRIPTKEY-0123");
  EXPECT_EQ(h.site["proxy"].as_string(), "http://ops:Pr0xyPass@proxy:3128");
  EXPECT_EQ(h.config["shotgun"]["proxy_server"].as_string(), "http://ops:Pr0xyPass@proxy:3128");
  EXPECT_FALSE(h.config["emails"].as_dict().contains("password"));
}

TEST(Credentials, ProxyPasswordOnlyIsRemoved) {
  EXPECT_EQ(proxy_without_password("http://u:p@h:1"), "http://u@h:1");
  EXPECT_EQ(proxy_without_password("u:p@h:1"), "u@h:1");
  EXPECT_EQ(proxy_without_password("u@h:1"), "u@h:1");
  EXPECT_EQ(proxy_without_password("h:3128"), "h:3128");
  EXPECT_EQ(proxy_without_password("http://h:3128"), "http://h:3128");
  EXPECT_EQ(proxy_without_password("u:p:q@h"), "u@h");  // a colon in the password
  EXPECT_EQ(proxy_password("http://u:p@h:1"), "p");
  EXPECT_EQ(proxy_password("u:p:q@h"), "p:q");
  EXPECT_EQ(proxy_password("u@h:1"), "");
  EXPECT_EQ(proxy_password("h:3128"), "");
  EXPECT_EQ(proxy_without_password(""), "");
}

}  // namespace
}  // namespace sgeventd::workers
