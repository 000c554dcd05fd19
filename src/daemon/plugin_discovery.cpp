#include "daemon/plugin_discovery.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "sgeventd/json.h"
#include "state/legacy_state.h"
#include "workers/fork_server.h"
#include "workers/manifest.h"

namespace sgeventd::daemon {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> files_with_extension(const std::string& folder, const std::string& ext,
                                              std::vector<std::string>& warnings) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) {
    warnings.push_back("plugin path " + folder + ": " + ec.message());
    return names;
  }
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ext && name.front() != '.' && entry.is_regular_file(ec)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

workers::SpawnSpec python_spawn(const Config& config, const std::string& executable_dir,
                                const workers::ForkServer::Reporter& report) {
  workers::SpawnSpec spec;
  spec.argv = {config.python.interpreter, python_worker_path(executable_dir)};
  spec.env = config.python.env;
  if (config.python.fork_server) {
    // One server per interpreter setup: every Python worker of this config forks from it.
    // The config every Python worker's hello carries (engine.cpp): the server builds what
    // workers make of it (logger.config's parser) once, before it forks them.
    const std::string prepare = to_json(Value(Dict{{"config", config_sections(config.ini)}}));
    spec.fork_server = workers::ForkServer::shared(
        {spec.argv, spec.env, config.python.path, config.python.preload, prepare}, report);
  }
  return spec;
}

}  // namespace

std::string python_worker_path(const std::string& executable_dir) {
  // Installed (cmake/install.cmake): a private folder beside bin/, off PATH.
  const std::string installed = executable_dir + "/../lib/sgeventd/sgeventd-python-worker";
  std::error_code ec;
  if (std::filesystem::is_regular_file(installed, ec)) {
    return std::filesystem::path(installed).lexically_normal().string();
  }
  return executable_dir + "/sgeventd-python-worker";  // a build tree: beside the binary
}

::sgeventd::Expected<dispatch::WorkerDefinition, std::string> worker_for_file(
    const Config& config, const std::string& executable_dir, const std::string& path,
    const config::IniFile::Environment& env) {
  const fs::path file(path);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return tl::unexpected(path + ": no such file");
  const std::string absolute = fs::absolute(file, ec).lexically_normal().string();
  dispatch::WorkerDefinition w;
  w.id = absolute;
  w.watch_paths = {absolute};
  if (file.extension() == ".py") {
    Config one = config;
    one.python.fork_server = false;
    w.spawn = python_spawn(one, executable_dir, {});
    w.plugins = {{file.stem().string(), absolute}};
    return w;
  }
  if (file.extension() == ".plugin") {
    auto exec = workers::load_exec_plugin(absolute, env);
    if (!exec) return tl::unexpected(exec.error().describe());
    w.manifest = exec->plugin.path;
    w.credentials = exec->credentials;
    w.spawn = std::move(exec->spawn);
    w.plugins = {exec->plugin};
    return w;
  }
  return tl::unexpected(path + ": a plugin is a .py file or a .plugin manifest");
}

Value config_sections(const config::IniFile& ini) {
  Dict sections;
  for (const std::string& section : ini.sections()) {
    Dict values;
    for (const std::string& key : ini.keys(section)) {
      auto v = ini.get(section, key);
      if (v && *v) values[key] = **v;
    }
    sections[section] = std::move(values);
  }
  return sections;
}

Discovery discover_plugins(const Config& config, const std::string& executable_dir,
                           const config::IniFile::Environment& env,
                           const workers::ForkServer::Reporter& fork_server_problem) {
  Discovery out;
  // Made once: every Python worker of this config has the same command and fork server (and
  // its spec holds the whole config, which is not worth serializing once per plugin).
  std::optional<workers::SpawnSpec> python_worker;
  auto python_spawn_spec = [&]() {
    if (!python_worker) python_worker = python_spawn(config, executable_dir, fork_server_problem);
    return *python_worker;
  };
  for (const std::string& raw : config.plugin_paths) {
    const std::string folder = state::normalize_folder(raw);
    const std::string prefix = folder.back() == '/' ? folder : folder + "/";
    std::vector<workers::PluginRef> python;
    for (const std::string& file : files_with_extension(folder, ".py", out.warnings)) {
      python.push_back({file.substr(0, file.size() - 3), prefix + file});
    }
    if (config.daemon.worker_per == WorkerPer::kPath && !python.empty()) {
      dispatch::WorkerDefinition w;
      w.id = folder;
      w.per = "path";
      w.spawn = python_spawn_spec();
      w.plugins = python;
      for (const auto& p : python) w.watch_paths.push_back(p.path);
      out.workers.push_back(std::move(w));
    } else {
      for (const auto& p : python) {
        dispatch::WorkerDefinition w;
        w.id = p.path;
        w.spawn = python_spawn_spec();
        w.plugins = {p};
        w.watch_paths = {p.path};
        out.workers.push_back(std::move(w));
      }
    }
    for (const std::string& file : files_with_extension(folder, ".plugin", out.warnings)) {
      auto exec = workers::load_exec_plugin(prefix + file, env);
      if (!exec) {
        out.warnings.push_back(exec.error().describe());
        continue;
      }
      for (auto& warning : exec->warnings) out.warnings.push_back(std::move(warning));
      dispatch::WorkerDefinition w;
      w.id = exec->plugin.path;
      w.manifest = exec->plugin.path;
      w.credentials = exec->credentials;
      w.spawn = std::move(exec->spawn);
      w.plugins = {exec->plugin};
      w.watch_paths = std::move(exec->watch_paths);
      out.workers.push_back(std::move(w));
    }
  }
  return out;
}

}  // namespace sgeventd::daemon
