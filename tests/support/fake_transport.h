// Test doubles for the client's seams: a transport answering from a script or a handler, and a
// clock that records sleeps instead of sleeping.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "sgeventd/clock.h"
#include "sgeventd/sg/transport.h"
#include "sgeventd/value.h"

namespace sgeventd::testing {

using Reply = ::sgeventd::Expected<sg::HttpResponse, sg::TransportError>;

// A JSON 200 answer with that body.
sg::HttpResponse json_reply(const Value& body, int status = 200);
// A 200 answer with raw bytes and a content type.
sg::HttpResponse raw_reply(std::string body, std::string content_type = "application/json",
                           int status = 200, std::string reason = "OK");

class FakeTransport : public sg::HttpTransport {
 public:
  // Every request is recorded. Answers come from the queue, else from the handler, else 500.
  struct Log {
    std::vector<sg::HttpRequest> requests;
    int closed_connections = 0;
  };

  FakeTransport();
  Reply post(const sg::HttpRequest& request) override;
  void close_connection() override { ++log_->closed_connections; }

  void enqueue(Reply reply) { queue_.push_back(std::move(reply)); }
  void set_handler(std::function<Reply(const Value& body)> handler) {
    handler_ = std::move(handler);
  }
  // Shared so a test keeps reading it after the client took ownership of the transport.
  std::shared_ptr<Log> log() const { return log_; }

 private:
  std::shared_ptr<Log> log_;
  std::deque<Reply> queue_;
  std::function<Reply(const Value& body)> handler_;
};

class FakeClock : public Clock {
 public:
  time_point now() const override { return now_; }
  // Starts at 2024-01-01T00:00:00Z and moves with now().
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1704067200)) +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - time_point{});
  }
  void advance(std::chrono::milliseconds d) { now_ += d; }
  void sleep_for(std::chrono::milliseconds d) override {
    sleeps.push_back(d);
    now_ += d;
  }
  std::vector<std::chrono::milliseconds> sleeps;

 private:
  time_point now_{};
};

// The request bodies a transport saw, parsed.
std::vector<Value> request_bodies(const FakeTransport::Log& log);

}  // namespace sgeventd::testing
