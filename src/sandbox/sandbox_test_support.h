// Helpers for the sandbox integration tests: a sandbox on a free loopback port, the real
// api3 client pointed at it, and raw HTTP for what the client cannot send.
#pragma once

#include <string>

#include "sgeventd/sandbox.h"
#include "sgeventd/sg/client.h"
#include "sgeventd/value.h"
#include "vectors.h"  // PrintTo(Value) for readable failures

namespace sgeventd::sandbox::testing {

struct RawReply {
  int status = 0;  // 0 when the connection failed
  std::string body;
  std::string content_type;
  std::string retry_after;
};

class TestSite {
 public:
  explicit TestSite(SandboxOptions options = default_options());
  ~TestSite();

  static SandboxOptions default_options();  // port 0, test controls, script daemon:key-123

  Sandbox& sandbox() { return sandbox_; }
  std::string url() const { return sandbox_.url(); }
  int port() const { return sandbox_.port(); }

  // A client authenticated as the first script (settings may add sudo, session_uuid...).
  sg::Client client(sg::ConnectionSettings settings = {}) const;
  // POST /_sandbox/<action>; the parsed JSON answer (fails the test on an error).
  Value control(const std::string& action, const Value& body = Dict{}) const;
  RawReply post(const std::string& path, const std::string& body,
                const std::string& content_type = "application/json") const;

 private:
  SandboxOptions options_;
  Sandbox sandbox_;
};

// Unwraps a client result, failing the test with the error description.
#define SB_OK(expr)                                                        \
  ([&]() {                                                                 \
    auto _r = (expr);                                                      \
    EXPECT_TRUE(_r.has_value()) << #expr << ": " << _r.error().describe(); \
    if (!_r.has_value()) throw std::runtime_error("sandbox test: " #expr); \
    return std::move(*_r);                                                 \
  }())

// {"type": T, "id": n}
Value ref(const std::string& type, std::int64_t id);

}  // namespace sgeventd::sandbox::testing
