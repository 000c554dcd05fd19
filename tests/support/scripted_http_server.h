// A small HTTP/1.1 server on 127.0.0.1 for integration tests: it records every request and
// answers each with the next scripted action (a response, gzip, a hang, a reset, a truncated or
// raw body). Real sockets, so libcurl's keep-alive, decompression and timeouts are exercised.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sgeventd/sg/transport.h"
#include "sgeventd/value.h"

namespace sgeventd::testing {

struct ScriptedAction {
  enum class Kind { kRespond, kHang, kReset, kClose, kTruncate, kRaw };
  Kind kind = Kind::kRespond;
  int status = 200;
  std::string reason = "OK";
  sg::HeaderList headers;
  std::string body;
  bool gzip = false;
  bool close_after = false;            // send "connection: close" and close after answering
  std::chrono::milliseconds delay{0};  // before answering (kRespond) or how long to hang

  static ScriptedAction json(const Value& body, int status = 200, std::string reason = "OK");
  static ScriptedAction text(std::string body, std::string content_type, int status = 200,
                             std::string reason = "OK");
  static ScriptedAction gzip_json(const Value& body);
  static ScriptedAction hang(std::chrono::milliseconds how_long);
  static ScriptedAction reset();
  static ScriptedAction close();
  // Declares Content-Length larger than the bytes sent, then closes.
  static ScriptedAction truncated(std::string partial_body, std::size_t declared_length);
  static ScriptedAction raw(std::string bytes);
};

struct RecordedRequest {
  std::string method;
  std::string target;
  sg::HeaderList headers;  // names lower-cased
  std::string body;
  int connection = 0;  // 1-based index of the TCP connection it came on

  std::string_view header(std::string_view name) const;
};

class ScriptedHttpServer {
 public:
  ScriptedHttpServer();
  ~ScriptedHttpServer();
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void enqueue(ScriptedAction action);
  // Answer when the queue is empty (default: 500 "no scripted answer").
  void set_default(ScriptedAction action);

  // Sends these bytes as soon as a connection is accepted, then closes it without reading
  // (e.g. to answer a TLS handshake with plain text).
  void set_greeting(std::string bytes);

  std::vector<RecordedRequest> requests() const;
  int connections() const { return connections_.load(); }

 private:
  void accept_loop();
  void serve(int fd, int connection);
  ScriptedAction next_action();

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::deque<ScriptedAction> queue_;
  ScriptedAction default_;
  std::string greeting_;
  std::vector<RecordedRequest> requests_;
};

// gzip-compresses bytes (for scripted answers and tests of decompression).
std::string gzip_compress(std::string_view data);

}  // namespace sgeventd::testing
