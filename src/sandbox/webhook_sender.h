// Sends the sandbox's webhook deliveries (docs/sandbox.md, "Webhooks"): one background thread
// POSTing from a bounded queue, so a write only copies its events into the queue and never
// waits on the receiver. One attempt per delivery, as counted in WebhookStats.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <tl/expected.hpp>

#include "sandbox/event_log.h"
#include "sandbox/webhook_payload.h"
#include "sgeventd/result.h"
#include "sgeventd/sandbox.h"

namespace httplib {
class Client;
}

namespace sgeventd::sandbox {

struct WebhookSenderOptions {
  std::string url;  // http://host[:port][/path] or https://...
  std::string secret;
  bool batched = false;
  std::size_t queue_limit = 10000;  // deliveries waiting; past it new ones are dropped
  std::size_t batch_limit = 50;     // deliveries per POST when batched (the site's limit)
  std::chrono::seconds timeout{6};  // connect, and each read or write (the site's limit)
  // How long stop() lets an in-flight request finish before cutting it.
  std::chrono::milliseconds stop_grace{1000};
};

// "https://host:port" and "/path?query" of a webhook URL.
struct WebhookTarget {
  std::string origin;
  std::string path;
};
::sgeventd::Expected<WebhookTarget, std::string> parse_webhook_url(const std::string& url);

class WebhookSender {
 public:
  // Checks the URL; sends nothing until start().
  static ::sgeventd::Expected<std::unique_ptr<WebhookSender>, std::string> create(
      WebhookSenderOptions options);
  ~WebhookSender();  // stop()
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues one delivery per event (a Store::CommitListener). Takes a short lock, never waits
  // on the network; also before start() (a seed's events), which sends them once started.
  void enqueue(const StringPool& pool, const std::vector<EventRecord>& events);
  // Starts the thread. `site_url` goes out as X-SG-WEBHOOK-SITE-URL.
  void start(std::string site_url);
  // Lets an in-flight request finish for up to stop_grace, then cuts it (counted failed);
  // what is still queued is counted dropped. Safe to call twice, or without start().
  void stop();

  WebhookStats stats() const;
  // After the site's events were wiped (test control reset), ids start at 1 again: a new
  // webhook number keeps delivery ids unique within the run.
  void next_generation();

 private:
  WebhookSender(WebhookSenderOptions options, WebhookTarget target);
  void run();
  // One POST of these deliveries; true when the receiver answered 2xx.
  bool post(std::vector<PendingDelivery> deliveries);
  std::string random_uuid();

  const WebhookSenderOptions options_;
  const WebhookTarget target_;
  std::unique_ptr<httplib::Client> client_;  // used by the thread; stop() may cut it
  std::mt19937_64 random_;                   // the thread's (after construction)
  std::string webhook_id_;                   // X-SG-WEBHOOK-ID, fixed for the run
  std::string site_url_;
  std::uint64_t batch_number_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;      // work queued, or stopping
  std::condition_variable finished_;  // the thread has exited its loop
  std::deque<PendingDelivery> queue_;
  std::int64_t webhook_number_ = 0;
  bool stopping_ = false;
  bool thread_done_ = false;
  WebhookStats stats_;
  std::thread thread_;
};

}  // namespace sgeventd::sandbox
