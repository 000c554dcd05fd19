#include "sandbox/webhook_sender.h"

#include <algorithm>
#include <cstdio>

#include <httplib.h>

#include "base/webhook_signature.h"

namespace sgeventd::sandbox {

::sgeventd::Expected<WebhookTarget, std::string> parse_webhook_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return tl::unexpected("webhook URL must start with http:// or https://, got '" + url + "'");
  }
  const std::size_t host_start = scheme_end + 3;
  const std::size_t path_start = url.find_first_of("/?#", host_start);
  WebhookTarget target;
  target.origin = url.substr(0, path_start);
  if (target.origin.size() == host_start) {
    return tl::unexpected("webhook URL has no host: '" + url + "'");
  }
  // A fragment never goes on the wire; a query alone ("?x=1") gets the root path.
  std::string path = path_start == std::string::npos ? std::string() : url.substr(path_start);
  path = path.substr(0, path.find('#'));
  target.path = (path.empty() || path.front() != '/') ? "/" + path : path;
  return target;
}

::sgeventd::Expected<std::unique_ptr<WebhookSender>, std::string> WebhookSender::create(
    WebhookSenderOptions options) {
  auto target = parse_webhook_url(options.url);
  if (!target) return tl::unexpected(target.error());
  std::unique_ptr<WebhookSender> sender(new WebhookSender(std::move(options), *target));
  if (!sender->client_->is_valid()) {
    return tl::unexpected("webhook URL not usable: '" + sender->options_.url + "'");
  }
  return sender;
}

WebhookSender::WebhookSender(WebhookSenderOptions options, WebhookTarget target)
    : options_(std::move(options)),
      target_(std::move(target)),
      client_(std::make_unique<httplib::Client>(target_.origin)),
      random_(std::random_device{}()) {
  const auto timeout = static_cast<time_t>(options_.timeout.count());
  client_->set_connection_timeout(timeout);
  client_->set_read_timeout(timeout);
  client_->set_write_timeout(timeout);
  client_->set_keep_alive(true);
  // httplib writes the headers and the body apart: with Nagle's algorithm the body would
  // wait for the receiver's delayed ACK of the headers, 40 ms on Linux, per delivery.
  client_->set_tcp_nodelay(true);
  webhook_id_ = random_uuid();
  webhook_number_ = static_cast<std::int64_t>(1000 + random_() % 90000);
}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::enqueue(const StringPool& pool, const std::vector<EventRecord>& events) {
  std::lock_guard lock(mutex_);
  if (stopping_) {
    stats_.dropped += events.size();
    return;
  }
  // Only what fits is copied, so a bulk write of a million events costs little past the limit.
  const std::size_t room =
      options_.queue_limit > queue_.size() ? options_.queue_limit - queue_.size() : 0;
  const std::size_t taken = std::min(room, events.size());
  for (std::size_t i = 0; i < taken; ++i) {
    queue_.push_back(make_pending_delivery(events[i], pool, webhook_number_));
  }
  stats_.dropped += events.size() - taken;
  if (taken > 0) wake_.notify_one();
}

void WebhookSender::start(std::string site_url) {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  site_url_ = std::move(site_url);
  thread_ = std::thread([this] { run(); });
}

void WebhookSender::stop() {
  std::unique_lock lock(mutex_);
  if (stopping_) return;
  stopping_ = true;
  if (!thread_.joinable()) {
    stats_.dropped += queue_.size();
    queue_.clear();
    return;
  }
  wake_.notify_all();
  if (!finished_.wait_for(lock, options_.stop_grace, [this] { return thread_done_; })) {
    // Cut the in-flight request: Client::stop() shuts its socket down from another thread.
    // Repeated, since a request that had not opened its socket yet would miss one call.
    while (!thread_done_) {
      lock.unlock();
      client_->stop();
      lock.lock();
      finished_.wait_for(lock, std::chrono::milliseconds(20), [this] { return thread_done_; });
    }
  }
  lock.unlock();
  thread_.join();
}

WebhookStats WebhookSender::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void WebhookSender::next_generation() {
  std::lock_guard lock(mutex_);
  ++webhook_number_;
}

void WebhookSender::run() {
  const std::size_t per_post =
      options_.batched ? std::max<std::size_t>(1, options_.batch_limit) : 1;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    std::vector<PendingDelivery> deliveries;
    const std::size_t n = std::min(per_post, queue_.size());
    deliveries.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      deliveries.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    const bool ok = post(std::move(deliveries));
    lock.lock();
    (ok ? stats_.sent : stats_.failed) += n;
  }
  stats_.dropped += queue_.size();
  queue_.clear();
  thread_done_ = true;
  finished_.notify_all();
}

bool WebhookSender::post(std::vector<PendingDelivery> deliveries) {
  const auto now = std::chrono::system_clock::now();
  httplib::Headers headers{{"User-Agent", "sgeventd-sandbox-webhook"},
                           {"X-SG-WEBHOOK-ID", webhook_id_},
                           {"X-SG-DELIVERY-ID", random_uuid()},
                           {"X-SG-WEBHOOK-SITE-URL", site_url_}};
  std::string body;
  if (options_.batched) {
    headers.emplace("X-SG-EVENT-BATCH-ID", std::to_string(++batch_number_));
    headers.emplace("X-SG-EVENT-BATCH-SIZE", std::to_string(deliveries.size()));
    List data;
    data.reserve(deliveries.size());
    for (auto& d : deliveries) data.push_back(delivery_data(std::move(d)));
    body = batched_delivery_body(std::move(data), now);
  } else {
    body = single_delivery_body(delivery_data(std::move(deliveries.front())), now);
  }
  if (!options_.secret.empty()) {
    headers.emplace("X-SG-SIGNATURE", base::webhook_signature(options_.secret, body));
  }
  const auto res = client_->Post(target_.path, headers, body, "application/json");
  return res && res->status >= 200 && res->status < 300;
}

std::string WebhookSender::random_uuid() {
  // Version 4 layout: 8-4-4-4-12 hex digits.
  const std::uint64_t hi = (random_() & 0xFFFFFFFFFFFF0FFFULL) | 0x4000ULL;
  const std::uint64_t lo = (random_() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                static_cast<unsigned long long>(hi & 0xFFFF),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

}  // namespace sgeventd::sandbox
