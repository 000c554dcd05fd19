// A thin layer over one libpq connection for the PostgreSQL state store and its lease: text
// parameters, results as rows of text, and libpq's failures turned into StateErrors (never an
// exception). A connection found broken is re-established on the next call; the call that found
// it broken fails (its transaction is gone with the connection).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgeventd/state/state_types.h"

struct pg_conn;
struct pg_result;

namespace sgeventd::state::pg {

// A parameter: text, or SQL NULL.
using Param = std::optional<std::string>;
inline Param param(std::int64_t v) { return std::to_string(v); }
inline Param param(const std::string& v) { return v; }
inline Param param(std::optional<std::int64_t> v) {
  return v ? Param(std::to_string(*v)) : std::nullopt;
}

class Rows {
 public:
  explicit Rows(pg_result* result);
  Rows(Rows&&) noexcept;
  Rows& operator=(Rows&&) noexcept;
  ~Rows();

  int size() const;
  bool empty() const { return size() == 0; }
  bool is_null(int row, int col) const;
  std::string text(int row, int col) const;
  std::int64_t integer(int row, int col) const;
  std::optional<std::int64_t> optional_integer(int row, int col) const;
  // Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;

 private:
  pg_result* result_;
};

struct ConnectOptions {
  std::string url;  // a libpq URI or key=value string
  // Unless the URL carries one (or libpq finds it in PGPASSFILE / ~/.pgpass).
  std::string password;
  // Unless the URL sets it: how long a connection attempt may take.
  int connect_timeout_seconds = 5;
  // Sent after connecting: no statement or lock wait may outlast this (0: no limit).
  int statement_timeout_ms = 5000;
  // The server ends the session when a transaction of ours sits idle this long (0: never). A
  // daemon frozen mid-commit (SIGSTOP, a VM pause) must not keep its row lock on the lease
  // and so block the standby's takeover.
  int idle_in_transaction_timeout_ms = 0;
  std::string application_name = "sgeventd";
};

class Connection {
 public:
  // Connects at once; a failure is kUnreachable with libpq's message (the password elided).
  static StateResult<std::unique_ptr<Connection>> open(ConnectOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement (or, without parameters, several separated by ';').
  StateResult<Rows> run(const std::string& sql, const std::vector<Param>& params = {});
  StateResult<void> exec(const std::string& sql) {
    auto r = run(sql);
    if (!r) return tl::unexpected(r.error());
    return {};
  }
  // `text` as an SQL string literal, quoted and escaped for this connection (for statements
  // sent without parameters, several in one round trip).
  std::string literal(const std::string& text);
  // ROLLBACK if a transaction is open (after an error); harmless otherwise.
  void rollback();
  // The server's process id for this connection (pg_terminate_backend in tests), 0 if none.
  int backend_pid() const;

 private:
  explicit Connection(ConnectOptions options) : options_(std::move(options)) {}
  StateResult<void> connect();

  ConnectOptions options_;
  pg_conn* conn_ = nullptr;
};

// "postgresql://user:secret@host/db" with the password replaced by "***", for messages.
std::string redact_url(const std::string& url);

// The password a URL carries ("postgresql://user:PW@host/db", or "?password=PW"), empty when
// none: the log masks it.
std::string url_password(const std::string& url);

// Text PostgreSQL will store: invalid UTF-8 sequences become U+FFFD, NUL bytes are dropped (a
// plugin's error text is bytes; a dead letter must not fail to park because of them).
std::string storable_text(const std::string& text);

}  // namespace sgeventd::state::pg
