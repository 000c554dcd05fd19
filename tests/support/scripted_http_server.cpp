#include "scripted_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "sgeventd/json.h"

namespace sgeventd::testing {
namespace {

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

ScriptedAction ScriptedAction::json(const Value& body, int status, std::string reason) {
  return text(to_json(body), "application/json; charset=utf-8", status, std::move(reason));
}

ScriptedAction ScriptedAction::text(std::string body, std::string content_type, int status,
                                    std::string reason) {
  ScriptedAction a;
  a.status = status;
  a.reason = std::move(reason);
  if (!content_type.empty()) a.headers.emplace_back("Content-Type", std::move(content_type));
  a.body = std::move(body);
  return a;
}

ScriptedAction ScriptedAction::gzip_json(const Value& body) {
  ScriptedAction a = json(body);
  a.gzip = true;
  return a;
}

ScriptedAction ScriptedAction::hang(std::chrono::milliseconds how_long) {
  ScriptedAction a;
  a.kind = Kind::kHang;
  a.delay = how_long;
  return a;
}

ScriptedAction ScriptedAction::reset() {
  ScriptedAction a;
  a.kind = Kind::kReset;
  return a;
}

ScriptedAction ScriptedAction::close() {
  ScriptedAction a;
  a.kind = Kind::kClose;
  return a;
}

ScriptedAction ScriptedAction::truncated(std::string partial_body, std::size_t declared_length) {
  ScriptedAction a = text(std::move(partial_body), "application/json");
  a.kind = Kind::kTruncate;
  a.headers.emplace_back("Content-Length", std::to_string(declared_length));
  return a;
}

ScriptedAction ScriptedAction::raw(std::string bytes) {
  ScriptedAction a;
  a.kind = Kind::kRaw;
  a.body = std::move(bytes);
  return a;
}

std::string_view RecordedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

ScriptedHttpServer::ScriptedHttpServer() {
  default_ = ScriptedAction::text("no scripted answer", "text/plain", 500, "Internal Server Error");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error(std::string("scripted server: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers = std::move(workers_);
  }
  for (auto& t : workers) t.join();
}

void ScriptedHttpServer::enqueue(ScriptedAction action) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(action));
}

void ScriptedHttpServer::set_default(ScriptedAction action) {
  std::lock_guard lock(mutex_);
  default_ = std::move(action);
}

void ScriptedHttpServer::set_greeting(std::string bytes) {
  std::lock_guard lock(mutex_);
  greeting_ = std::move(bytes);
}

std::vector<RecordedRequest> ScriptedHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

ScriptedAction ScriptedHttpServer::next_action() {
  std::lock_guard lock(mutex_);
  if (queue_.empty()) return default_;
  ScriptedAction a = std::move(queue_.front());
  queue_.pop_front();
  return a;
}

void ScriptedHttpServer::accept_loop() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    const int connection = ++connections_;
    std::lock_guard lock(mutex_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd, connection] { serve(fd, connection); });
  }
}

void ScriptedHttpServer::serve(int fd, int connection) {
  std::string greeting;
  {
    std::lock_guard lock(mutex_);
    greeting = greeting_;
  }
  if (!greeting.empty()) {
    send_all(fd, greeting);
    std::lock_guard lock(mutex_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
    return;
  }
  std::string buffer;
  char chunk[65536];
  const auto read_more = [&]() {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  bool open = true;
  while (open && !stopping_) {
    std::size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more()) {
        open = false;
        break;
      }
    }
    if (!open) break;
    RecordedRequest request;
    request.connection = connection;
    const std::string head = buffer.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const auto sp1 = request_line.find(' ');
    const auto sp2 = request_line.find(' ', sp1 + 1);
    request.method = request_line.substr(0, sp1);
    request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t content_length = 0;
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      const std::string line = head.substr(pos, end - pos);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = lower(line.substr(0, colon));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "content-length") content_length = std::stoul(value);
        request.headers.emplace_back(std::move(name), std::move(value));
      }
      pos = end + 2;
    }
    buffer.erase(0, header_end + 4);
    while (buffer.size() < content_length) {
      if (!read_more()) {
        open = false;
        break;
      }
    }
    if (!open) break;
    request.body = buffer.substr(0, content_length);
    buffer.erase(0, content_length);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }

    ScriptedAction action = next_action();
    using Kind = ScriptedAction::Kind;
    if (action.kind == Kind::kHang || action.delay.count() > 0) {
      // Wait in small steps so the server can still stop promptly.
      const auto until = std::chrono::steady_clock::now() + action.delay;
      while (!stopping_ && std::chrono::steady_clock::now() < until) {
        pollfd p{fd, POLLRDHUP, 0};
        ::poll(&p, 1, 20);
        if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) break;  // the client gave up
      }
      if (action.kind == Kind::kHang) break;
    }
    if (action.kind == Kind::kReset) {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      break;
    }
    if (action.kind == Kind::kClose) break;
    if (action.kind == Kind::kRaw) {
      send_all(fd, action.body);
      break;
    }
    std::string body = action.gzip ? gzip_compress(action.body) : action.body;
    std::string out = "HTTP/1.1 " + std::to_string(action.status) + " " + action.reason + "\r\n";
    bool has_length = false;
    for (const auto& [k, v] : action.headers) {
      out += k + ": " + v + "\r\n";
      if (lower(k) == "content-length") has_length = true;
    }
    if (!has_length) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (action.gzip) out += "Content-Encoding: gzip\r\n";
    if (action.close_after) out += "Connection: close\r\n";
    out += "\r\n";
    out += body;
    if (!send_all(fd, out)) break;
    if (action.kind == Kind::kTruncate || action.close_after) break;
  }
  std::lock_guard lock(mutex_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

}  // namespace sgeventd::testing
