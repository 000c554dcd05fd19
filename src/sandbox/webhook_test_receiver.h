// A webhook receiver for the tests: a loopback cpp-httplib server that keeps every POST it
// gets, and can be told to answer with an error or to hang (until it is destroyed).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace sgeventd::sandbox::testing {

struct ReceivedWebhook {
  std::string path;
  std::string body;
  httplib::Headers headers;

  std::string header(const std::string& name) const;
};

class WebhookReceiver {
 public:
  enum class Mode { kAccept, kFail, kHang };

  WebhookReceiver();
  ~WebhookReceiver();  // ends hangs, then stops
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::string url(const std::string& path = "/hook") const;
  void set_mode(Mode mode);

  // Waits until `count` requests have arrived (or `timeout`); all received so far.
  std::vector<ReceivedWebhook> wait_for(
      std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<ReceivedWebhook> received() const;

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ReceivedWebhook> received_;
  Mode mode_ = Mode::kAccept;
  bool closing_ = false;
};

// A loopback port nothing listens on (bound, then closed): a receiver that is down.
int closed_loopback_port();

}  // namespace sgeventd::sandbox::testing
