// The sandbox site: a local ShotGrid that speaks api3 over loopback HTTP and writes a real
// EventLogEntry stream (docs/sandbox.md). Embeddable: the daemon starts one in-process when
// its config says `server = sandbox`, and tests start many in parallel on port 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

struct ScriptCredential {
  std::string name;  // script_name
  std::string key;   // script_key
};

struct UserCredential {
  std::string login;     // user_login, also sudo_as_login
  std::string password;  // user_password
  std::string name;      // display name; empty means the login
};

struct SandboxOptions {
  std::string bind = "127.0.0.1";
  int port = 0;  // 0: pick a free port (see Sandbox::port())
  std::vector<ScriptCredential> scripts{{"sandbox", "sandbox-key"}};
  std::vector<UserCredential> users;  // optional human logins
  std::string data_file;              // SQLite file that survives restarts; empty: memory only
  // JSON entities (and fields) loaded into an empty site, or a recording (`sgeventd record
  // --with-entities` JSON lines) whose entities are created under their own ids.
  std::string seed_file;
  // A studio's schema instead of the starter one (docs/sandbox.md, "A studio's schema"): a
  // folder `sgeventd schema dump` wrote, or a schema_read answer in JSON or mockgun's pickle;
  // schema_entity_file, when set, is the schema_entity_read answer beside it.
  std::string schema_file;
  std::string schema_entity_file;
  int api_max_entities_per_page = 500;
  bool test_controls = false;  // POST /_sandbox/<action>, loopback clients only
  std::size_t max_body_bytes = std::size_t{64} << 20;  // larger requests get HTTP 413
  // Connections served at once (keep-alive holds one each): a thread each, made on demand;
  // past this many, new connections wait for one to end.
  int threads = 512;

  // Webhooks (docs/sandbox.md, "Webhooks"): every event written is POSTed to this URL in
  // ShotGrid's delivery format, from a background thread with a bounded queue, so a slow or
  // dead receiver never slows a write. http:// or https://; empty: no webhooks.
  std::string webhook_url;
  std::string webhook_secret;    // signs each body (X-SG-SIGNATURE); empty: unsigned
  bool webhook_batched = false;  // up to 50 deliveries per POST, as a site's batched webhook
};

// Webhook deliveries (one per event) since start().
struct WebhookStats {
  std::uint64_t sent = 0;     // the receiver answered 2xx
  std::uint64_t failed = 0;   // no answer, a timeout, or another status (never retried)
  std::uint64_t dropped = 0;  // never sent: the queue was full, or still queued at stop()
};

// A recording as `sgeventd record` writes it (JSON lines): its events (lines of type
// EventLogEntry, or of no type) and its entity snapshots (any other type), each in file order.
struct Recording {
  List events;
  List entities;
};
// An error names the first line that is not a JSON object ("line 3: not a JSON object").
::sgeventd::Expected<Recording, std::string> parse_recording(std::string_view text);

// Parses "name:key,name2:key2" (the CLI's --scripts).
::sgeventd::Expected<std::vector<ScriptCredential>, std::string> parse_scripts(
    const std::string& text);

class Sandbox {
 public:
  Sandbox();
  ~Sandbox();  // stops it
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Loads the data file and seed, binds, and serves on background threads. An error message
  // when it cannot (port taken, unreadable data or seed file).
  ::sgeventd::Expected<void, std::string> start(const SandboxOptions& options);
  // Stops serving and closes the data file; safe to call twice.
  void stop();

  bool running() const;
  int port() const;
  std::string url() const;  // "http://127.0.0.1:<port>"

  // Id of the newest visible EventLogEntry (0 when none); handy for tests and the daemon.
  std::int64_t last_event_id() const;

  // Zero when webhooks are off. Still readable after stop().
  WebhookStats webhook_stats() const;

  // Creates the entities of a recording (`sgeventd record --with-entities` lines other than
  // events) under their own ids, with events, leaving out what the schema does not have and
  // links to entities that are not there. The notes say what was left out.
  ::sgeventd::Expected<std::vector<std::string>, std::string> seed_snapshot(const List& entities);

  // What seeding from a recording (seed_file in JSON lines) left out; empty otherwise.
  const std::vector<std::string>& seed_notes() const;

  // What loading schema_file kept other than as given (unknown data types, types the sandbox
  // added), one line each; empty with the starter schema.
  const std::vector<std::string>& schema_warnings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgeventd::sandbox
