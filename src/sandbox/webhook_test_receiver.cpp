#include "sandbox/webhook_test_receiver.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sgeventd::sandbox::testing {

std::string ReceivedWebhook::header(const std::string& name) const {
  auto it = headers.find(name);  // httplib::Headers compare names case-insensitively
  return it == headers.end() ? std::string() : it->second;
}

WebhookReceiver::WebhookReceiver() {
  // An idle kept-alive connection holds the server's stop() up to this long.
  server_.set_keep_alive_timeout(1);
  server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(mutex_);
    received_.push_back({req.path, req.body, req.headers});
    changed_.notify_all();
    if (mode_ == Mode::kHang) {
      changed_.wait(lock, [this] { return closing_; });
      res.status = 503;
      return;
    }
    res.status = mode_ == Mode::kFail ? 500 : 200;
    res.set_content("{}", "application/json");
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // stop() does nothing before the accept loop runs.
  for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

WebhookReceiver::~WebhookReceiver() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  server_.stop();
  thread_.join();
}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void WebhookReceiver::set_mode(Mode mode) {
  std::lock_guard lock(mutex_);
  mode_ = mode;
}

std::vector<ReceivedWebhook> WebhookReceiver::wait_for(std::size_t count,
                                                       std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
  return received_;
}

std::vector<ReceivedWebhook> WebhookReceiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

int closed_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  return bound ? ntohs(a.sin_port) : 1;  // port 1: nothing listens there either
}

}  // namespace sgeventd::sandbox::testing
