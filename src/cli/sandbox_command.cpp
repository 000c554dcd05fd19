// `sgeventd sandbox`: runs the sandbox site (docs/sandbox.md) in the foreground until SIGINT
// or SIGTERM. The first line of stdout is machine-readable: "listening http://HOST:PORT".
#include <signal.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "sandbox/schema_import.h"
#include "sgeventd/sandbox.h"

namespace sgeventd::cli {
namespace {

struct SandboxArgs {
  int port = 8090;
  std::string bind = "127.0.0.1";
  std::string scripts = "sandbox:sandbox-key";
  std::string users;
  std::string data;
  std::string seed;
  std::string schema;
  std::string schema_entity;
  bool test_controls = false;
  int page_size = 500;
  int max_body_mb = 64;
  int threads = 512;
  std::string webhook_url;
  std::string webhook_secret;
  std::string webhook_secret_file;
  bool webhook_batched = false;
};

// The secret of --webhook-secret-file: the file's text less its trailing line break, so
// `echo secret > file` works.
bool read_secret_file(const std::string& path, std::string& secret, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) {
    // Signing was asked for: an empty secret would quietly send unsigned deliveries.
    error = path + " is empty";
    return false;
  }
  return true;
}

// "login:password[:Display Name],..." for --users.
bool parse_users(const std::string& text, std::vector<sandbox::UserCredential>& out,
                 std::string& error) {
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto c1 = item.find(':');
    if (c1 == std::string::npos || c1 == 0) {
      error = "expected login:password, got '" + item + "'";
      return false;
    }
    const auto c2 = item.find(':', c1 + 1);
    sandbox::UserCredential u;
    u.login = item.substr(0, c1);
    u.password = item.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    if (c2 != std::string::npos) u.name = item.substr(c2 + 1);
    out.push_back(std::move(u));
  }
  return true;
}

int run_sandbox(const SandboxArgs& args) {
  sandbox::SandboxOptions options;
  options.port = args.port;
  options.bind = args.bind;
  auto scripts = sandbox::parse_scripts(args.scripts);
  if (!scripts) {
    std::cerr << "sgeventd sandbox: --scripts: " << scripts.error() << "\n";
    return kExitUsage;
  }
  options.scripts = std::move(*scripts);
  std::string error;
  if (!parse_users(args.users, options.users, error)) {
    std::cerr << "sgeventd sandbox: --users: " << error << "\n";
    return kExitUsage;
  }
  options.data_file = args.data;
  options.seed_file = args.seed;
  options.schema_file = args.schema;
  options.schema_entity_file = args.schema_entity;
  options.test_controls = args.test_controls;
  options.api_max_entities_per_page = args.page_size;
  options.max_body_bytes = static_cast<std::size_t>(args.max_body_mb) << 20;
  options.threads = args.threads;
  options.webhook_url = args.webhook_url;
  options.webhook_secret = args.webhook_secret;
  if (!args.webhook_secret_file.empty() &&
      !read_secret_file(args.webhook_secret_file, options.webhook_secret, error)) {
    std::cerr << "sgeventd sandbox: --webhook-secret-file: " << error << "\n";
    return kExitUsage;
  }
  options.webhook_batched = args.webhook_batched;

  // Block the stop signals before any thread starts, so they all inherit the mask and the
  // main thread alone receives them in sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  sandbox::Sandbox site;
  if (auto ok = site.start(options); !ok) {
    std::cerr << "sgeventd sandbox: " << ok.error() << "\n";
    return kExitFailure;
  }
  std::cout << "listening " << site.url() << std::endl;
  std::cerr << "sgeventd sandbox: api3 at " << site.url() << "/api3/json; scripts:";
  for (const auto& s : options.scripts) std::cerr << " " << s.name;
  std::cerr << (options.data_file.empty() ? "; memory only" : "; data in " + options.data_file)
            << (options.test_controls ? "; test controls at /_sandbox/" : "");
  if (!options.webhook_url.empty()) {
    std::cerr << "; webhooks to " << options.webhook_url
              << (options.webhook_secret.empty() ? " (unsigned" : " (signed")
              << (options.webhook_batched ? ", batched)" : ")");
  }
  std::cerr << ". Stop with Ctrl-C.\n";
  for (const auto& note : site.seed_notes())
    std::cerr << "sgeventd sandbox: seed: " << note << "\n";
  if (!options.schema_file.empty()) {
    std::cerr << "sgeventd sandbox: the schema of " << options.schema_file;
    if (site.schema_warnings().empty())
      std::cerr << ", as given\n";
    else
      std::cerr << ", with " << site.schema_warnings().size() << " note(s):\n";
    for (const auto& line : sandbox::first_warnings(site.schema_warnings())) {
      std::cerr << "  " << line << "\n";
    }
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  site.stop();
  return kExitOk;
}

}  // namespace

void add_sandbox_command(CLI::App& app, Runner& run) {
  auto args = std::make_shared<SandboxArgs>();
  auto* sub = app.add_subcommand(
      "sandbox",
      "Run a local ShotGrid site: api3 over HTTP with a real EventLogEntry stream, for tests, "
      "demos and plugin development (docs/sandbox.md).");
  sub->add_option("--port", args->port, "Port to listen on; 0 picks a free one")
      ->capture_default_str();
  sub->add_option("--bind", args->bind, "Address to listen on (keep it loopback)")
      ->capture_default_str();
  sub->add_option("--scripts", args->scripts,
                  "API scripts allowed in, as name:key,name2:key2 (script_name/script_key)")
      ->capture_default_str();
  sub->add_option("--users", args->users,
                  "Human logins allowed in, as login:password[:Display Name],... (also the "
                  "targets of sudo_as_login)");
  sub->add_option("--data", args->data,
                  "SQLite file keeping entities, fields and events across restarts "
                  "(default: memory only)");
  sub->add_option("--seed", args->seed,
                  "JSON file of fields and entities to create when the site is new, or a "
                  "recording (`sgeventd record --with-entities`) whose entities are created")
      ->check(CLI::ExistingFile);
  auto* schema =
      sub->add_option("--schema", args->schema,
                      "A studio's schema instead of the starter one: a folder `sgeventd schema "
                      "dump` wrote, or a schema_read answer as JSON or mockgun's pickle")
          ->check(CLI::ExistingPath);
  sub->add_option("--schema-entity", args->schema_entity,
                  "The schema_entity_read answer (entity display names) that goes with a "
                  "--schema file, JSON or pickle")
      ->check(CLI::ExistingFile)
      ->needs(schema);
  sub->add_flag("--test-controls", args->test_controls,
                "Enable POST /_sandbox/<action> (fault injection, id gaps, bulk events, "
                "counters, reset) for loopback clients");
  sub->add_option("--page-size", args->page_size,
                  "api_max_entities_per_page reported by info and enforced by read")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  sub->add_option("--max-body-mb", args->max_body_mb,
                  "Largest request body accepted, in MiB (larger gets HTTP 413)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  sub->add_option("--threads", args->threads,
                  "Connections served at once (each kept-alive client holds one)")
      ->capture_default_str()
      ->check(CLI::Range(4, 1024));
  auto* webhook_url =
      sub->add_option("--webhook-url", args->webhook_url,
                      "POST a ShotGrid-format webhook delivery to this http:// or https:// URL "
                      "for every event written (held events too); from a queue, so a slow or "
                      "dead receiver never slows a write");
  auto* secret = sub->add_option("--webhook-secret", args->webhook_secret,
                                 "Sign each body: X-SG-SIGNATURE: sha1=<HMAC-SHA1 hex> "
                                 "(visible in ps; prefer --webhook-secret-file)");
  auto* secret_file = sub->add_option("--webhook-secret-file", args->webhook_secret_file,
                                      "Read the signing secret from this file (trailing "
                                      "newline stripped)")
                          ->check(CLI::ExistingFile);
  auto* batched = sub->add_flag("--webhook-batched", args->webhook_batched,
                                "Send up to 50 deliveries per POST, as a site's batched "
                                "webhook does");
  secret->needs(webhook_url)->excludes(secret_file);
  secret_file->needs(webhook_url);
  batched->needs(webhook_url);
  sub->footer(
      "The first line on stdout is 'listening http://HOST:PORT' (read it when using --port 0).\n"
      "Default credentials: script 'sandbox', key 'sandbox-key'. Stops on SIGINT/SIGTERM.\n"
      "Webhooks: one try per delivery, 6 s timeout, at most 10000 queued (more are dropped);\n"
      "body and headers as ShotGrid sends them (docs/sandbox.md, Webhooks).");
  sub->callback([&run, args] { run = [args] { return run_sandbox(*args); }; });
}

}  // namespace sgeventd::cli
