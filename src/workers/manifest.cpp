#include "workers/manifest.h"

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <string_view>

#include "workers/credentials.h"

namespace sgeventd::workers {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// "a, b,,c " -> {"a", "b", "c"}: a manifest's comma-separated values, trimmed, empty ones dropped.
std::vector<std::string> comma_list(std::string_view rest) {
  std::vector<std::string> items;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (!item.empty()) items.push_back(std::move(item));
  }
  return items;
}

bool executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string lookup_ci(const config::IniFile::Environment& env, const std::string& name) {
  for (const auto& [k, v] : env) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

}  // namespace

::sgeventd::Expected<std::vector<std::string>, std::string> split_args(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word += c;
      }
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < text.size() &&
                 std::string_view("\"\\$`").find(text[i + 1]) != std::string_view::npos) {
        word += text[++i];
      } else {
        word += c;
      }
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return tl::unexpected(std::string("a trailing backslash"));
      word += text[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return tl::unexpected(std::string("an unclosed ") + quote + " quote");
  if (in_word) words.push_back(std::move(word));
  return words;
}

::sgeventd::Expected<ExecPlugin, config::IniError> load_exec_plugin(
    const std::string& manifest_path, const config::IniFile::Environment& env) {
  auto ini = config::IniFile::load(manifest_path, env);
  if (!ini) return tl::unexpected(ini.error());
  auto error = [&](const std::string& key, std::string message) {
    return tl::unexpected(
        config::IniError{manifest_path, ini->line_of("plugin", key), std::move(message)});
  };
  if (!ini->has_section("plugin")) {
    return tl::unexpected(config::IniError{manifest_path, 0, "no [plugin] section"});
  }

  ExecPlugin out;
  const fs::path manifest = fs::absolute(manifest_path).lexically_normal();
  const fs::path folder = manifest.parent_path();
  out.plugin.name = manifest.stem().string();
  out.plugin.path = manifest.string();
  for (const auto& key : ini->keys("plugin")) {
    if (key != "command" && key != "args" && key != "env" && key != "credentials") {
      out.warnings.push_back(manifest_path + ":" + std::to_string(ini->line_of("plugin", key)) +
                             ": unknown key \"" + key + "\" in [plugin] (ignored)");
    }
  }

  auto command = ini->get("plugin", "command");
  if (!command) return tl::unexpected(command.error());
  if (!*command || trim(**command).empty()) {
    return tl::unexpected(config::IniError{manifest_path, 0, "[plugin] has no command"});
  }
  const std::string program = trim(**command);
  fs::path resolved;
  if (program.find('/') != std::string::npos) {
    resolved = fs::path(program).is_absolute() ? fs::path(program) : folder / program;
    resolved = resolved.lexically_normal();
    if (!executable_file(resolved)) {
      return error("command", "command \"" + program + "\": " + resolved.string() +
                                  " is not an executable file");
    }
  } else if (executable_file(folder / program)) {
    resolved = folder / program;
  } else {
    const std::string path_var = lookup_ci(env, "PATH");
    std::string_view rest = path_var;
    while (resolved.empty() && !rest.empty()) {
      const auto colon = rest.find(':');
      const std::string dir(rest.substr(0, colon));
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
      if (!dir.empty() && executable_file(fs::path(dir) / program)) {
        resolved = fs::path(dir) / program;
      }
    }
    if (resolved.empty()) {
      return error("command",
                   "command \"" + program + "\" is neither in " + folder.string() + " nor on PATH");
    }
  }
  out.spawn.argv.push_back(resolved.string());

  auto args = ini->get("plugin", "args");
  if (!args) return tl::unexpected(args.error());
  if (*args) {
    auto words = split_args(**args);
    if (!words) return error("args", "args: " + words.error());
    for (auto& w : *words) out.spawn.argv.push_back(std::move(w));
  }

  auto env_value = ini->get("plugin", "env");
  if (!env_value) return tl::unexpected(env_value.error());
  if (*env_value) {
    for (const std::string& item : comma_list(**env_value)) {
      const auto eq = item.find('=');
      const std::string name = eq == std::string::npos ? item : trim(item.substr(0, eq));
      if (eq == std::string::npos || !valid_env_name(name)) {
        return error("env", "env: \"" + item + "\" is not NAME=value");
      }
      out.spawn.env.emplace_back(name, trim(item.substr(eq + 1)));
    }
  }

  auto credentials = ini->get("plugin", "credentials");
  if (!credentials) return tl::unexpected(credentials.error());
  if (*credentials) {
    for (const std::string& name : comma_list(**credentials)) {
      if (!is_credential_name(name)) {
        std::string known;
        for (std::string_view n : kCredentialNames)
          known += (known.empty() ? "" : ", ") + std::string(n);
        return error("credentials", "credentials: \"" + name + "\" is not one of " + known);
      }
      out.credentials.push_back(name);
    }
  }

  out.spawn.working_dir = folder.string();
  out.watch_paths = {out.plugin.path, resolved.string()};
  return out;
}

}  // namespace sgeventd::workers
