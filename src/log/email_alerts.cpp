#include "log/email_alerts.h"

#include <fmt/format.h>

namespace sgeventd::log {

using Steady = std::chrono::steady_clock;

namespace {

std::string join(const Recipients& to) {
  std::string out;
  for (const auto& address : to) out += (out.empty() ? "" : ", ") + address;
  return out;
}

}  // namespace

EmailAlerts::EmailAlerts(EmailOptions options, std::function<void(const std::string&)> warn,
                         MailSender sender)
    : options_(std::move(options)),
      warn_(std::move(warn)),
      sender_(std::move(sender)),
      batcher_(options_.digest, options_.subject) {
  if (!sender_) {
    sender_ = [smtp = options_.smtp](const Mail& mail, const std::function<bool()>& should_abort) {
      return send_mail(smtp, mail, should_abort);
    };
  }
  thread_ = std::thread([this] { run(); });
}

EmailAlerts::~EmailAlerts() { stop(std::chrono::milliseconds(0)); }

void EmailAlerts::submit(const Recipients& to, Alert alert) {
  if (to.empty()) return;
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  if (auto mail = batcher_.add(to, std::move(alert), Steady::now())) {
    enqueue_locked(std::move(*mail));
    wake_.notify_one();
  }
}

void EmailAlerts::enqueue_locked(OutgoingMail mail) {
  if (queue_.size() >= options_.queue_limit) {
    ++dropped_;
    ++dropped_unreported_;  // reported by the sender thread, not on the logging thread
    return;
  }
  queue_.push_back(std::move(mail));
}

void EmailAlerts::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = Steady::now() + grace;
      for (auto& mail : batcher_.drain()) enqueue_locked(std::move(mail));
    } else {
      stop_deadline_ = std::min(stop_deadline_, Steady::now() + grace);
    }
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool EmailAlerts::abandon_locked() const { return stopping_ && Steady::now() >= stop_deadline_; }

void EmailAlerts::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (dropped_unreported_ > 0) {
      std::size_t count = dropped_unreported_;
      dropped_unreported_ = 0;
      lock.unlock();
      warn_(fmt::format("{} alert mail{} dropped: the mail queue is full", count,
                        count == 1 ? "" : "s"));
      lock.lock();
      continue;
    }
    if (!stopping_) {
      for (auto& mail : batcher_.due(Steady::now())) enqueue_locked(std::move(mail));
    }
    if (!queue_.empty()) {
      if (abandon_locked()) {
        std::size_t left = queue_.size();
        queue_.clear();
        dropped_ += left;
        lock.unlock();
        warn_(fmt::format("{} alert mail{} not sent: shutting down", left, left == 1 ? "" : "s"));
        lock.lock();
        continue;
      }
      OutgoingMail mail = std::move(queue_.front());
      queue_.pop_front();
      send_with_retries(mail, lock);
      continue;
    }
    if (stopping_) return;
    if (auto deadline = batcher_.next_deadline()) {
      wake_.wait_until(lock, *deadline);
    } else {
      wake_.wait(lock);
    }
  }
}

bool EmailAlerts::send_with_retries(const OutgoingMail& outgoing,
                                    std::unique_lock<std::mutex>& lock) {
  Mail mail{options_.from, outgoing.to, outgoing.subject, outgoing.body,
            std::chrono::system_clock::now()};
  auto should_abort = [this] {
    std::lock_guard guard(mutex_);
    return abandon_locked();
  };
  std::string last_error;
  auto backoff = options_.retry_backoff;
  int attempts = std::max(options_.attempts, 1);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    lock.unlock();
    auto sent = sender_(mail, should_abort);
    lock.lock();
    if (sent) {
      ++sent_;
      return true;
    }
    last_error = sent.error();
    if (attempt == attempts || abandon_locked()) break;
    // Wait out the backoff, unless shutdown's grace ends first.
    auto until = Steady::now() + backoff;
    while (Steady::now() < until && !abandon_locked()) {
      wake_.wait_until(lock, stopping_ ? std::min(until, stop_deadline_) : until);
    }
    if (abandon_locked()) break;
    backoff *= 2;
  }
  ++dropped_;
  lock.unlock();
  warn_(fmt::format("could not send the alert mail \"{}\" to {} ({} record{}): {}; dropped",
                    outgoing.subject, join(outgoing.to), outgoing.records,
                    outgoing.records == 1 ? "" : "s", last_error));
  lock.lock();
  return false;
}

}  // namespace sgeventd::log
