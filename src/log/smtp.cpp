#include "log/smtp.h"

#include <ctime>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

namespace sgeventd::log {

namespace {

// Header values come from the config and log records: a newline there would start a header.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

std::string rfc2822_date(std::chrono::system_clock::time_point time) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

struct Upload {
  std::string data;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, upload->data.size() - upload->offset);
  upload->data.copy(buffer, n, upload->offset);
  upload->offset += n;
  return n;
}

int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* should_abort = static_cast<const std::function<bool()>*>(user);
  return (*should_abort && (*should_abort)()) ? 1 : 0;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string smtp_url(const SmtpSettings& settings) {
  std::string_view server = settings.server;
  std::string scheme = "smtp";
  for (std::string_view prefix : {"smtp://", "smtps://"}) {
    if (server.substr(0, prefix.size()) == prefix) {
      scheme = std::string(prefix.substr(0, prefix.size() - 3));
      server.remove_prefix(prefix.size());
    }
  }
  while (!server.empty() && server.back() == '/') server.remove_suffix(1);
  // A port already in the server ("host:2525", "[::1]:2525") wins over the port key.
  std::size_t after_host = server.empty() || server.front() != '[' ? 0 : server.find(']');
  bool has_port = after_host != std::string_view::npos &&
                  server.find(':', after_host) != std::string_view::npos;
  if (has_port) return fmt::format("{}://{}", scheme, server);
  int port = settings.port;
  if (scheme == "smtps" && port == 25) port = 465;
  return fmt::format("{}://{}:{}", scheme, server, port);
}

std::string compose_message(const Mail& mail) {
  std::string to;
  for (const auto& address : mail.to) to += (to.empty() ? "" : ", ") + one_line(address);
  std::string out = fmt::format(
      "Date: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
      rfc2822_date(mail.date), one_line(mail.from), to, one_line(mail.subject));
  // SMTP lines may not exceed 998 octets; break longer ones (a dumped dict, say).
  constexpr std::size_t kMaxLine = 990;
  std::size_t column = 0;
  for (char c : mail.body) {
    if (c == '\r') continue;
    if (c == '\n') {
      out += "\r\n";
      column = 0;
      continue;
    }
    if (column == kMaxLine) {
      out += "\r\n";
      column = 0;
    }
    out += c;
    ++column;
  }
  if (column != 0) out += "\r\n";
  return out;
}

::sgeventd::Expected<void, std::string> send_mail(const SmtpSettings& settings, const Mail& mail,
                                                  const std::function<bool()>& should_abort) {
  global_init();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return tl::unexpected(std::string("libcurl could not start"));
  Upload upload{compose_message(mail)};
  curl_slist* recipients = nullptr;
  for (const auto& address : mail.to) {
    recipients = curl_slist_append(recipients, fmt::format("<{}>", address).c_str());
  }
  std::string url = smtp_url(settings);
  std::string from = fmt::format("<{}>", mail.from);
  char error[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(settings.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings.timeout.count()));
  if (settings.use_tls) curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!settings.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, settings.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, settings.password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.data.size()));
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &should_abort);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);

  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(recipients);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    std::string detail = error[0] != '\0' ? error : curl_easy_strerror(code);
    return tl::unexpected(fmt::format("{}: {}", url, detail));
  }
  return {};
}

}  // namespace sgeventd::log
