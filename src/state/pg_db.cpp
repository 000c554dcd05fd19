#include "state/pg_db.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <regex>

namespace sgeventd::state::pg {
namespace {

// What a failed statement means to the daemon, by its SQLSTATE class
// (https://www.postgresql.org/docs/15/errcodes-appendix.html).
StateErrorKind kind_for(const char* sqlstate, bool connection_bad) {
  if (connection_bad || !sqlstate) return StateErrorKind::kUnreachable;
  const std::string code(sqlstate);
  const std::string cls = code.substr(0, 2);
  if (cls == "08" || code == "57P01" || code == "57P02" || code == "57P03" || code == "57014") {
    return StateErrorKind::kUnreachable;  // gone, shutting down, or too slow (statement_timeout)
  }
  if (code == "42501" || cls == "53" || cls == "25") return StateErrorKind::kUnwritable;
  if (cls == "23" || cls == "22") return StateErrorKind::kInvalidArgument;
  return StateErrorKind::kInternal;
}

std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Rows::Rows(pg_result* result) : result_(result) {}
Rows::Rows(Rows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}
Rows::~Rows() {
  if (result_) PQclear(result_);
}

int Rows::size() const { return result_ ? PQntuples(result_) : 0; }
bool Rows::is_null(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }
std::string Rows::text(int row, int col) const {
  return std::string(PQgetvalue(result_, row, col),
                     static_cast<std::size_t>(PQgetlength(result_, row, col)));
}
std::int64_t Rows::integer(int row, int col) const {
  return std::strtoll(PQgetvalue(result_, row, col), nullptr, 10);
}
std::optional<std::int64_t> Rows::optional_integer(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return integer(row, col);
}
std::int64_t Rows::affected() const {
  const char* n = result_ ? PQcmdTuples(result_) : "";
  return *n ? std::strtoll(n, nullptr, 10) : 0;
}

StateResult<std::unique_ptr<Connection>> Connection::open(ConnectOptions options) {
  std::unique_ptr<Connection> c(new Connection(std::move(options)));
  if (auto r = c->connect(); !r) return tl::unexpected(r.error());
  return c;
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

StateResult<void> Connection::connect() {
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  // Our defaults first: the URL's own settings, expanded from "dbname", override them.
  const std::string timeout = std::to_string(options_.connect_timeout_seconds);
  std::vector<const char*> keys = {"connect_timeout", "application_name"};
  std::vector<const char*> values = {timeout.c_str(), options_.application_name.c_str()};
  if (!options_.password.empty()) {  // [state] password_file; a password in the URL wins
    keys.push_back("password");
    values.push_back(options_.password.c_str());
  }
  keys.insert(keys.end(), {"dbname", nullptr});
  values.insert(values.end(), {options_.url.c_str(), nullptr});
  conn_ = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string why = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    return state_error(StateErrorKind::kUnreachable,
                       "cannot connect to " + redact_url(options_.url) + ": " + why);
  }
  // The server's NOTICEs ("does not exist, skipping") are not the daemon's to print.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  std::string setup = "SET client_encoding = 'UTF8'";
  if (options_.statement_timeout_ms > 0) {
    const std::string ms = std::to_string(options_.statement_timeout_ms);
    setup += "; SET statement_timeout = " + ms + "; SET lock_timeout = " + ms;
  }
  if (options_.idle_in_transaction_timeout_ms > 0) {
    setup += "; SET idle_in_transaction_session_timeout = " +
             std::to_string(options_.idle_in_transaction_timeout_ms);
  }
  PGresult* r = PQexec(conn_, setup.c_str());
  const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string why = ok ? "" : trimmed(PQerrorMessage(conn_));
  if (r) PQclear(r);
  if (!ok) {
    PQfinish(conn_);
    conn_ = nullptr;
    return state_error(StateErrorKind::kUnreachable,
                       "cannot set up the connection to " + redact_url(options_.url) + ": " + why);
  }
  return {};
}

StateResult<Rows> Connection::run(const std::string& sql, const std::vector<Param>& params) {
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    if (auto r = connect(); !r) return tl::unexpected(r.error());
  }
  PGresult* result = nullptr;
  if (params.empty()) {
    result = PQexec(conn_, sql.c_str());
  } else {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    result = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                          values.data(), nullptr, nullptr, 0);
  }
  Rows rows(result);
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  const bool bad = PQstatus(conn_) != CONNECTION_OK;
  const char* sqlstate = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string why = result ? trimmed(PQresultErrorMessage(result)) : "";
  if (why.empty()) why = trimmed(PQerrorMessage(conn_));
  if (bad) why = "the connection to " + redact_url(options_.url) + " was lost: " + why;
  return state_error(kind_for(sqlstate, bad), why);
}

std::string Connection::literal(const std::string& text) {
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) (void)connect();
  char* quoted = conn_ ? PQescapeLiteral(conn_, text.data(), text.size()) : nullptr;
  if (quoted) {
    std::string out(quoted);
    PQfreemem(quoted);
    return out;
  }
  // Without a connection (the statement then fails anyway): standard quoting, as
  // standard_conforming_strings (on by default) reads it.
  std::string out = "'";
  for (char c : text) {
    if (c != '\0') out += c == '\'' ? std::string("''") : std::string(1, c);
  }
  return out + "'";
}

void Connection::rollback() {
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return;
  if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
  if (PGresult* r = PQexec(conn_, "ROLLBACK")) PQclear(r);
}

int Connection::backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

namespace {

// Where a URI carries its password: "scheme://user:PW@..." and "?password=PW" (group 1: what
// comes before it, group 2: the password).
const std::regex& uri_password() {
  static const std::regex r(R"(^(postgres(?:ql)?://[^:/@?]*:)([^@/?]*)@)");
  return r;
}
const std::regex& query_password() {
  static const std::regex r(R"(([?&]password=)([^&]*))");
  return r;
}

}  // namespace

std::string redact_url(const std::string& url) {
  // URI form as above; key=value form: password=...
  static const std::regex keyword_password(R"((\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))");
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return std::regex_replace(std::regex_replace(url, uri_password(), "$1***@"), query_password(),
                              "$1***");
  }
  return std::regex_replace(url, keyword_password, "$1***");
}

std::string url_password(const std::string& url) {
  std::smatch m;
  if (std::regex_search(url, m, uri_password())) return m[2];
  if (std::regex_search(url, m, query_password())) return m[2];
  return "";
}

std::string storable_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c == 0) {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // The length of the sequence this byte leads, and the range its second byte must be in
    // (which rules out overlong forms, surrogates and code points past U+10FFFF).
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    bool valid = len > 0 && i + len <= n && s[i + 1] >= lo && s[i + 1] <= hi;
    for (std::size_t k = 2; valid && k < len; ++k) valid = s[i + k] >= 0x80 && s[i + k] <= 0xBF;
    if (valid) {
      out.append(text, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace sgeventd::state::pg
