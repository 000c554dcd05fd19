// Hands ERROR and CRITICAL records of one logger to the email alerts, with that logger's
// recipients (the plugin's setEmails choice, or the config's `to`).
#pragma once

#include <memory>
#include <mutex>

#include <spdlog/sinks/base_sink.h>

#include "log/email_alerts.h"
#include "log/redactor.h"

namespace sgeventd::log {

class EmailSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  EmailSink(std::shared_ptr<EmailAlerts> alerts, Recipients recipients,
            std::shared_ptr<const Redactor> redactor);

  void set_recipients(Recipients recipients);

 private:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

  std::shared_ptr<EmailAlerts> alerts_;
  Recipients recipients_;  // guarded by the sink's mutex
  std::shared_ptr<const Redactor> redactor_;
};

}  // namespace sgeventd::log
