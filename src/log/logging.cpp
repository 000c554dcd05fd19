#include "log/logging.h"

#include <fmt/format.h>

#include "log/email_sink.h"

namespace sgeventd::log {

namespace fs = std::filesystem;

// A spdlog logger that marks its records with its plugin (for the JSON lines) and can be fed
// records built elsewhere (a worker's, with their own name and time).
class Logging::RoutedLogger final : public spdlog::logger {
 public:
  RoutedLogger(std::string name, std::string plugin, std::vector<spdlog::sink_ptr> sinks)
      : spdlog::logger(std::move(name), sinks.begin(), sinks.end()), plugin_(std::move(plugin)) {}

  void forward(const spdlog::details::log_msg& msg) { sink_it_(msg); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    ScopedLogPlugin scope(plugin_);
    spdlog::logger::sink_it_(msg);
  }

 private:
  std::string plugin_;
};

struct Logging::PluginEntry {
  std::shared_ptr<RoutedLogger> logger;
  std::shared_ptr<EmailSink> email;        // null without email
  std::shared_ptr<MidnightFileSink> file;  // logMode 1; null in logMode 0 or on failure
};

namespace {

std::string plugin_from_logger(std::string_view logger) {
  constexpr std::string_view kPrefix = "plugin.";
  if (logger.substr(0, kPrefix.size()) != kPrefix) return {};
  logger.remove_prefix(kPrefix.size());
  return std::string(logger.substr(0, logger.find('.')));
}

}  // namespace

::sgeventd::Expected<std::unique_ptr<Logging>, std::string> Logging::open(LoggingOptions options) {
  std::unique_ptr<Logging> logging(new Logging(std::move(options)));
  if (auto started = logging->start(); !started) return tl::unexpected(started.error());
  return logging;
}

Logging::Logging(LoggingOptions options)
    : options_(std::move(options)),
      redactor_(std::make_shared<Redactor>()),
      level_(options_.level) {
  for (const auto& secret : options_.secrets) redactor_->add(secret);
  if (options_.email.enabled) redactor_->add(options_.email.smtp.password);
}

::sgeventd::Expected<void, std::string> Logging::start() {
  if (options_.files) {
    FileSinkOptions main{file_in_log_path(options_.log_file), options_.backup_count,
                         LineLayout::kFile, true, options_.now};
    auto main_sink = MidnightFileSink::open(std::move(main), redactor_);
    if (!main_sink) return tl::unexpected(main_sink.error());
    main_sink_ = *main_sink;
  }

  if (options_.timing_log && main_sink_) {
    FileSinkOptions timing{main_sink_->path().string() + ".timing", options_.backup_count,
                           LineLayout::kFile, false, options_.now};
    auto timing_sink = MidnightFileSink::open(std::move(timing), redactor_);
    if (!timing_sink) return tl::unexpected(timing_sink.error());
    timing_sink_ = *timing_sink;
    timing_logger_ = std::make_shared<spdlog::logger>("timing", timing_sink_);
    timing_logger_->set_level(spdlog::level::info);
  }

  if (options_.console || options_.json) {
    console_sink_ =
        std::make_shared<ConsoleSink>(options_.json ? LineLayout::kJson : LineLayout::kConsole,
                                      redactor_, options_.console_writer);
  }

  std::vector<spdlog::sink_ptr> sinks;
  if (main_sink_) sinks.push_back(main_sink_);
  if (console_sink_) sinks.push_back(console_sink_);
  if (options_.email.enabled) {
    // The sender reports through the engine's logger, made just below, before any mail exists.
    alerts_ = std::make_shared<EmailAlerts>(
        options_.email, [this](const std::string& problem) { engine_->warn(problem); },
        options_.mail_sender);
    sinks.push_back(std::make_shared<EmailSink>(alerts_, alerts_->default_recipients(), redactor_));
  }
  engine_ = std::make_shared<RoutedLogger>("engine", "", std::move(sinks));
  engine_->set_level(level_from_python(level_));

  flusher_ = std::thread([this] { flusher(); });
  return {};
}

Logging::~Logging() { shutdown(std::chrono::milliseconds(0)); }

fs::path Logging::file_in_log_path(const std::string& name) const {
  fs::path path = options_.log_path.empty() ? fs::path(name) : options_.log_path / name;
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return ec ? path : absolute;
}

std::shared_ptr<spdlog::logger> Logging::engine() const { return engine_; }

Recipients Logging::recipients_for(const PluginEmails& emails) const {
  switch (emails.kind) {
    case PluginEmails::Kind::kNone:
      return {};
    case PluginEmails::Kind::kList:
      return emails.addresses;
    case PluginEmails::Kind::kDefault:
      break;
  }
  return alerts_ ? alerts_->default_recipients() : Recipients{};
}

Logging::PluginEntry& Logging::plugin_entry_locked(const std::string& name) {
  auto found = plugins_.find(name);
  if (found != plugins_.end()) return *found->second;

  auto entry = std::make_unique<PluginEntry>();
  std::vector<spdlog::sink_ptr> sinks;
  std::string file_problem;
  if (options_.mode == 1 && options_.files) {
    FileSinkOptions file{file_in_log_path("plugin." + name), options_.backup_count,
                         LineLayout::kFile, true, options_.now};
    if (auto opened = MidnightFileSink::open(std::move(file), redactor_)) {
      entry->file = *opened;
      sinks.push_back(entry->file);
    } else {
      file_problem = opened.error();
    }
  }
  if (!entry->file && main_sink_) sinks.push_back(main_sink_);
  if (console_sink_) sinks.push_back(console_sink_);
  if (alerts_) {
    auto choice = email_choices_.find(name);
    entry->email = std::make_shared<EmailSink>(
        alerts_, recipients_for(choice == email_choices_.end() ? PluginEmails{} : choice->second),
        redactor_);
    sinks.push_back(entry->email);
  }
  entry->logger = std::make_shared<RoutedLogger>("plugin." + name, name, std::move(sinks));
  auto level = level_overrides_.find(name);
  entry->logger->set_level(
      level_from_python(level == level_overrides_.end() ? level_ : level->second));
  if (!file_problem.empty()) {
    engine_->error("plugin {}: {}; its records go to the main log", name, file_problem);
  }
  return *plugins_.emplace(name, std::move(entry)).first->second;
}

std::shared_ptr<spdlog::logger> Logging::plugin(const std::string& name) {
  std::lock_guard lock(mutex_);
  return plugin_entry_locked(name).logger;
}

void Logging::log(const LogRecord& record) { route(record, true); }

void Logging::forward(const LogRecord& record) { route(record, false); }

void Logging::route(const LogRecord& record, bool check_level) {
  std::string plugin = record.plugin.empty() ? plugin_from_logger(record.logger) : record.plugin;
  std::shared_ptr<RoutedLogger> target = engine_;
  if (!plugin.empty()) {
    std::lock_guard lock(mutex_);
    target = plugin_entry_locked(plugin).logger;
  }
  auto level = level_from_python(record.level);
  if (check_level && !target->should_log(level)) return;
  spdlog::source_loc where;
  if (!record.path.empty()) {
    where = {record.path.c_str(), record.line,
             record.function.empty() ? nullptr : record.function.c_str()};
  }
  std::string_view name = record.logger.empty() ? std::string_view(target->name()) : record.logger;
  spdlog::details::log_msg msg(record.time.value_or(std::chrono::system_clock::now()), where,
                               spdlog::string_view_t(name.data(), name.size()), level,
                               spdlog::string_view_t(record.message.data(), record.message.size()));
  ScopedLogFields fields(record.fields);
  target->forward(msg);
}

void Logging::set_level(int python_level) {
  std::lock_guard lock(mutex_);
  level_ = python_level;
  engine_->set_level(level_from_python(python_level));
  for (auto& [name, entry] : plugins_) {
    if (!level_overrides_.contains(name)) entry->logger->set_level(level_from_python(python_level));
  }
}

void Logging::set_plugin_level(const std::string& plugin, int python_level) {
  std::lock_guard lock(mutex_);
  level_overrides_[plugin] = python_level;
  if (auto found = plugins_.find(plugin); found != plugins_.end()) {
    found->second->logger->set_level(level_from_python(python_level));
  }
}

void Logging::set_plugin_emails(const std::string& plugin, PluginEmails emails) {
  std::lock_guard lock(mutex_);
  auto found = plugins_.find(plugin);
  if (found != plugins_.end() && found->second->email) {
    found->second->email->set_recipients(recipients_for(emails));
  }
  email_choices_[plugin] = std::move(emails);
}

void Logging::timing(const TimingRecord& record) {
  if (!timing_logger_) return;
  std::string message = format_timing_message(record);
  timing_logger_->log(spdlog::level::info, spdlog::string_view_t(message.data(), message.size()));
}

void Logging::add_secret(std::string_view secret) { redactor_->add(secret); }

void Logging::flush() {
  if (main_sink_) main_sink_->flush();
  if (timing_sink_) timing_sink_->flush();
  if (console_sink_) console_sink_->flush();
  std::lock_guard lock(mutex_);
  for (auto& [name, entry] : plugins_) {
    if (entry->file) entry->file->flush();
  }
}

std::size_t Logging::reopen_files() {
  std::size_t failed = 0;
  for (const auto& sink : {main_sink_, timing_sink_}) {
    if (sink && !sink->reopen()) ++failed;
  }
  std::lock_guard lock(mutex_);
  for (auto& [name, entry] : plugins_) {
    if (entry->file && !entry->file->reopen()) ++failed;
  }
  return failed;
}

void Logging::flusher() {
  std::unique_lock lock(flusher_mutex_);
  while (!flusher_wake_.wait_for(lock, options_.flush_interval, [this] { return flusher_stop_; })) {
    lock.unlock();
    flush();
    lock.lock();
  }
}

void Logging::shutdown(std::chrono::milliseconds email_grace) {
  if (shut_down_) return;
  shut_down_ = true;
  // Mail first: its failures are logged, and must reach the files before they close.
  if (alerts_) alerts_->stop(email_grace);
  {
    std::lock_guard lock(flusher_mutex_);
    flusher_stop_ = true;
  }
  flusher_wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  flush();
}

fs::path Logging::main_log_file() const { return main_sink_ ? main_sink_->path() : fs::path(); }

fs::path Logging::plugin_log_file(const std::string& plugin) const {
  if (options_.mode != 1) return main_log_file();
  return file_in_log_path("plugin." + plugin);
}

fs::path Logging::timing_log_file() const {
  return timing_sink_ ? timing_sink_->path() : fs::path();
}

std::size_t Logging::mails_sent() const { return alerts_ ? alerts_->mails_sent() : 0; }
std::size_t Logging::mails_dropped() const { return alerts_ ? alerts_->mails_dropped() : 0; }

}  // namespace sgeventd::log
