#include "state/pg_test_support.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "state/pg_db.h"

namespace sgeventd::state::testing {
namespace {

std::string run_script(const std::string& action) {
  const std::string command = test_server_script() + " " + action + " '" + test_server_dir() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return "";
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe.get())) out += buf;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The databases go with the process; the server stays for the other tests (the ctest fixture
// stops it).
struct Database {
  std::string server;
  std::string name;
  std::string url;
  std::vector<std::string> extra;  // fresh_database_url's
  ~Database() {
    if (name.empty()) return;
    if (auto db = pg::Connection::open({server})) {
      extra.push_back(name);
      for (const auto& n : extra)
        (void)(*db)->exec("DROP DATABASE IF EXISTS " + n + " WITH (FORCE)");
    }
  }
};

std::string url_of(const std::string& server, const std::string& database) {
  std::string url = server;
  const std::string from = "/postgres?";
  url.replace(url.find(from), from.size(), "/" + database + "?");
  return url;
}

Database& database() {
  static Database db = [] {
    Database d;
    d.server = run_script("start");
    if (d.server.empty()) {
      ADD_FAILURE() << "cannot start the tests' PostgreSQL server (" << test_server_script()
                    << " start " << test_server_dir() << ")";
      return d;
    }
    auto admin = pg::Connection::open({d.server});
    if (!admin) {
      ADD_FAILURE() << admin.error().describe();
      return d;
    }
    d.name = "sgeventd_test_" + std::to_string(getpid());
    (void)(*admin)->exec("DROP DATABASE IF EXISTS " + d.name + " WITH (FORCE)");
    if (auto r = (*admin)->exec("CREATE DATABASE " + d.name); !r) {
      ADD_FAILURE() << r.error().describe();
      d.name.clear();
      return d;
    }
    d.url = url_of(d.server, d.name);
    return d;
  }();
  return db;
}

}  // namespace

std::string test_server_dir() {
  if (const char* dir = std::getenv("SGEVENTD_TEST_PG_DIR"); dir && *dir) return dir;
  return SGEVENTD_TEST_PG_DIR;
}

std::string test_server_script() { return SGEVENTD_SOURCE_DIR "/tests/support/pg_server.sh"; }

const std::string& test_database_url() { return database().url; }

std::string fresh_database_url(const std::string& tag) {
  Database& d = database();
  if (d.url.empty()) return "";
  const std::string name = d.name + "_" + tag;
  auto admin = pg::Connection::open({d.server});
  if (!admin) {
    ADD_FAILURE() << admin.error().describe();
    return "";
  }
  (void)(*admin)->exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  if (auto r = (*admin)->exec("CREATE DATABASE " + name); !r) {
    ADD_FAILURE() << r.error().describe();
    return "";
  }
  d.extra.push_back(name);
  return url_of(d.server, name);
}

std::string unique_state_name(const std::string& stem) {
  static std::atomic<int> next{0};
  return stem + "-" + std::to_string(++next);
}

}  // namespace sgeventd::state::testing
