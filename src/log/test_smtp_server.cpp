#include "log/test_smtp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>

namespace sgeventd::log::testing {

namespace {

std::string base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0;
  unsigned buffer = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) continue;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string between_angles(std::string_view line) {
  auto open = line.find('<');
  auto close = line.find('>', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::string(line);
  return std::string(line.substr(open + 1, close - open - 1));
}

// Line reader with a poll timeout, so the server can stop while a client is idle.
class Lines {
 public:
  Lines(int fd, const std::atomic<bool>& stop) : fd_(fd), stop_(stop) {}
  std::optional<std::string> next() {
    while (true) {
      auto end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, 100);
      if (stop_) return std::nullopt;
      if (ready <= 0) continue;
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  const std::atomic<bool>& stop_;
  std::string buffer_;
};

void send_text(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TestSmtpServer::TestSmtpServer() {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 8) != 0) {
    throw std::runtime_error("test SMTP server: cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

TestSmtpServer::~TestSmtpServer() {
  stop_ = true;
  thread_.join();
  ::close(listener_);
}

std::vector<ReceivedMail> TestSmtpServer::mails() const {
  std::lock_guard lock(mutex_);
  return mails_;
}

std::vector<std::string> TestSmtpServer::dialogue() const {
  std::lock_guard lock(mutex_);
  return dialogue_;
}

bool TestSmtpServer::wait_for_mails(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return mails_.size() >= count; });
}

void TestSmtpServer::serve() {
  while (!stop_) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void TestSmtpServer::handle(int fd) {
  Lines lines(fd, stop_);
  ReceivedMail current;
  auto record = [&](const std::string& line) {
    std::lock_guard lock(mutex_);
    dialogue_.push_back(line);
  };
  auto credentials_plain = [&](std::string_view encoded) {
    // "\0user\0password"
    std::string decoded = base64_decode(encoded);
    auto first = decoded.find('\0');
    auto second = decoded.find('\0', first + 1);
    if (first != std::string::npos && second != std::string::npos) {
      current.username = decoded.substr(first + 1, second - first - 1);
      current.password = decoded.substr(second + 1);
    }
  };

  send_text(fd, "220 localhost test SMTP ready\r\n");
  while (auto line = lines.next()) {
    record(*line);
    std::string command = upper(line->substr(0, line->find(' ')));
    if (command == "EHLO") {
      send_text(fd, "250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
    } else if (command == "HELO" || command == "NOOP") {
      send_text(fd, "250 OK\r\n");
    } else if (command == "AUTH") {
      std::string rest = line->size() > 5 ? line->substr(5) : "";
      std::string mechanism = upper(rest.substr(0, rest.find(' ')));
      std::string initial =
          rest.find(' ') == std::string::npos ? "" : rest.substr(rest.find(' ') + 1);
      current.auth_mechanism = mechanism;
      if (mechanism == "PLAIN") {
        if (initial.empty()) {
          send_text(fd, "334 \r\n");
          auto response = lines.next();
          if (!response) return;
          initial = *response;
        }
        credentials_plain(initial);
      } else if (mechanism == "LOGIN") {
        if (initial.empty()) {
          send_text(fd, "334 VXNlcm5hbWU6\r\n");
          auto user = lines.next();
          if (!user) return;
          initial = *user;
        }
        current.username = base64_decode(initial);
        send_text(fd, "334 UGFzc3dvcmQ6\r\n");
        auto password = lines.next();
        if (!password) return;
        current.password = base64_decode(*password);
      } else {
        send_text(fd, "504 unrecognized authentication type\r\n");
        continue;
      }
      send_text(fd, "235 Authentication successful\r\n");
    } else if (command == "MAIL") {
      current.mail_from = between_angles(*line);
      current.rcpt_to.clear();
      send_text(fd, "250 OK\r\n");
    } else if (command == "RCPT") {
      current.rcpt_to.push_back(between_angles(*line));
      send_text(fd, "250 OK\r\n");
    } else if (command == "DATA") {
      send_text(fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
      std::string data;
      while (auto data_line = lines.next()) {
        if (*data_line == ".") break;
        std::string_view text = *data_line;
        if (text.substr(0, 2) == "..") text.remove_prefix(1);  // dot-unstuffing
        data.append(text);
        data += "\r\n";
      }
      current.data = std::move(data);
      {
        std::lock_guard lock(mutex_);
        mails_.push_back(current);
      }
      changed_.notify_all();
      send_text(fd, "250 OK queued\r\n");
    } else if (command == "RSET") {
      current.mail_from.clear();
      current.rcpt_to.clear();
      send_text(fd, "250 OK\r\n");
    } else if (command == "QUIT") {
      send_text(fd, "221 Bye\r\n");
      return;
    } else {
      send_text(fd, "502 Command not implemented\r\n");
    }
  }
}

}  // namespace sgeventd::log::testing
