#include "state/state_test_support.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace sgeventd::state::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/sgeventd-state-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string python3() {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

int run_python(const std::string& program, const std::string& arg) {
  TempDir dir;
  const std::string script = dir.file("program.py");
  write_file(script, program);
  // Paths from mkdtemp hold no shell metacharacters; quote them anyway.
  const std::string command = python3() + " '" + script + "' '" + arg + "'";
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

DeadLetter dead_letter(const PluginKey& plugin, std::string callback, EventId event, int attempts,
                       WallTime at, std::string error) {
  DeadLetter d;
  d.plugin = plugin;
  d.callback = std::move(callback);
  d.event_id = event;
  d.event_json = R"({"id": )" + std::to_string(event) + "}";
  d.error = std::move(error);
  d.attempts = attempts;
  d.first_failure = at;
  d.last_failure = at;
  return d;
}

std::optional<EventId> cursor_of(StateStore& store, const PluginKey& key) {
  auto p = store.plugin(key);
  EXPECT_TRUE(p) << p.error().describe();
  return p && *p ? (*p)->cursor : std::nullopt;
}

}  // namespace sgeventd::state::testing
