#include "workers/fork_server.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "sgeventd/json.h"
#include "workers/child_registry.h"
#include "workers/worker_process.h"

namespace sgeventd::workers {
namespace {

using namespace std::chrono_literals;

// A server imports the runtime, shotgun_api3 and the preloads before it says it is ready: the
// real shotgun_api3 takes a few hundred milliseconds on a slow disk. The start runs on the
// thread that starts workers, so a preload that hangs must not hold it long.
constexpr auto kReadyTimeout = 10s;
// A fork of a warm interpreter takes milliseconds; a server this slow is treated as gone.
constexpr auto kAnswerTimeout = 5s;
constexpr auto kFirstBackoff = 1s;
constexpr auto kMaxBackoff = 60s;
constexpr std::size_t kMaxAnswer = 64 * 1024;
// The server reads its first message (--prepare) into this much (forkserver.py MAX_PREPARE).
constexpr std::size_t kMaxPrepare = 1 << 20;

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::shared_ptr<ForkServer> ForkServer::shared(const ForkServerSpec& spec, Reporter report) {
  static std::mutex mutex;
  static std::vector<std::weak_ptr<ForkServer>> alive;
  std::lock_guard lock(mutex);
  alive.erase(std::remove_if(alive.begin(), alive.end(), [](const auto& w) { return w.expired(); }),
              alive.end());
  for (const auto& weak : alive) {
    if (auto server = weak.lock(); server && server->spec() == spec) return server;
  }
  auto server = std::make_shared<ForkServer>(spec, std::move(report));
  alive.push_back(server);
  return server;
}

ForkServer::ForkServer(ForkServerSpec spec, Reporter report)
    : spec_(std::move(spec)), report_(std::move(report)) {}

ForkServer::~ForkServer() {
  std::lock_guard lock(mutex_);
  stop();
}

pid_t ForkServer::server_pid() const {
  std::lock_guard lock(mutex_);
  return pid_;
}

void ForkServer::stop() {
  if (socket_ >= 0) ::close(socket_);
  socket_ = -1;
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    child_registry::remove(pid_);
  }
  pid_ = -1;
}

void ForkServer::failed(const std::string& problem) {
  stop();
  backoff_ = std::min<std::chrono::milliseconds>(
      backoff_.count() ? backoff_ * 2 : std::chrono::milliseconds(kFirstBackoff), kMaxBackoff);
  retry_at_ = Clock::now() + backoff_;
  if (report_) {
    report_(true, "the Python fork server (" + spec_.argv[0] + ") " + problem +
                      "; workers are spawned meanwhile, and it is started again in " +
                      std::to_string(backoff_.count() / 1000) + " s");
  }
}

::sgeventd::Expected<std::string, std::string> ForkServer::receive(
    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return tl::unexpected(std::string("did not answer in time"));
    pollfd p{socket_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return tl::unexpected(errno_text("poll"));
    if (ready == 0) continue;
    std::string buffer(kMaxAnswer, '\0');
    const ssize_t n = ::recv(socket_, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(errno_text("recv"));
    if (n == 0) return tl::unexpected(std::string("closed its socket (it exited)"));
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
  }
}

void ForkServer::send_prepare() {
  // One message: a config too big for one (over the socket's buffer, a few hundred KiB, or
  // over what the server reads) is replaced by an empty one: it warms up without it.
  auto send = [this](const std::string& body) {
    ssize_t sent;
    do {
      sent = ::send(socket_, body.data(), body.size(), MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent >= 0;
  };
  // The server reads at most kMaxPrepare (forkserver.py MAX_PREPARE): more would be cut.
  const bool fits = spec_.prepare.size() <= kMaxPrepare;
  if (!fits || (!send(spec_.prepare) && errno == EMSGSIZE)) send("{}");
  // Any other failure: the server is gone, which waiting for its ready says.
}

::sgeventd::Expected<void, std::string> ForkServer::start() {
  if (spec_.argv.size() < 2) return tl::unexpected(std::string("has no script to run"));
  if (!child_registry::become_subreaper()) {
    return tl::unexpected(errno_text("cannot make the daemon a child subreaper (prctl)"));
  }
  int pair[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return tl::unexpected(errno_text("socketpair"));
  }
  std::vector<std::string> argv = {spec_.argv[0], spec_.argv[1], "--fork-server"};
  if (!spec_.path.empty()) argv.insert(argv.end(), {"--path", joined(spec_.path)});
  if (!spec_.preload.empty()) argv.insert(argv.end(), {"--preload", joined(spec_.preload)});
  if (!spec_.prepare.empty()) argv.emplace_back("--prepare");
  // stdout to /dev/null (it has nothing to say there), stderr the daemon's own: a server that
  // cannot start says why where the daemon's own startup errors go.
  auto child = spawn_child(argv, spec_.env, "", {pair[1], -1, 2});
  ::close(pair[1]);
  if (!child) {
    ::close(pair[0]);
    errno = child.error();
    return tl::unexpected(errno_text("cannot start"));
  }
  socket_ = pair[0];
  pid_ = *child;
  const auto began = Clock::now();
  if (!spec_.prepare.empty()) send_prepare();
  auto ready = receive(kReadyTimeout);
  if (!ready) return tl::unexpected("did not start: " + ready.error());
  auto message = parse_json(*ready);
  if (!message || !(*message)["ready"].is_bool()) {
    return tl::unexpected(std::string("did not start: it said ") + *ready);
  }
  if (const List* problems = (*message)["problems"].if_list(); problems && report_) {
    for (const Value& p : *problems) {
      if (const std::string* text = p.if_string()) {
        report_(true, "[python] preload: " + *text + " (a plugin that imports it still tries)");
      }
    }
  }
  if (const std::string* why = (*message)["warm_up"].if_string(); why && report_) {
    report_(true, "the Python fork server could not warm up (" + *why +
                      "): its workers set themselves up after the fork, using more memory");
  }
  if (report_) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
    report_(false, "Python fork server started (pid " + std::to_string(pid_) + ", " +
                       spec_.argv[0] + ", ready in " + std::to_string(ms.count()) +
                       " ms): Python workers fork from it");
  }
  return {};
}

::sgeventd::Expected<pid_t, std::string> ForkServer::fork_worker(
    int in, int out, int err, const std::vector<std::string>& args) {
  std::lock_guard lock(mutex_);
  if (socket_ < 0) {
    if (Clock::now() < retry_at_) return tl::unexpected(std::string("restarting"));
    if (auto started = start(); !started) {
      failed(started.error());
      return tl::unexpected(started.error());
    }
  }
  List argv;
  for (const auto& a : args) argv.emplace_back(a);
  const std::string request = to_json(Value(Dict{{"argv", std::move(argv)}}));

  // The worker becomes our child (reparented) before the answer comes: register its pid
  // before an orphan sweep may look (child_registry::mutex held until then).
  std::string problem;
  bool server_lives = false;
  {
    std::lock_guard registering(child_registry::mutex());
    iovec body{const_cast<char*>(request.data()), request.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &body;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(3 * sizeof(int));
    const int fds[3] = {in, out, err};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    ssize_t sent;
    do {
      sent = ::sendmsg(socket_, &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      problem = errno_text("is gone (sendmsg)");
    } else if (auto answer = receive(kAnswerTimeout); !answer) {
      problem = answer.error();
    } else if (auto parsed = parse_json(*answer); !parsed) {
      problem = "answered " + *answer;
    } else if (auto pid = (*parsed)["pid"].if_int(); pid && *pid > 0) {
      child_registry::add(static_cast<pid_t>(*pid));
      backoff_ = {};  // a server that forks is a good one (one that only starts is not)
      return static_cast<pid_t>(*pid);
    } else if (const std::string* error = (*parsed)["error"].if_string()) {
      problem = "could not fork a worker: " + *error;
      server_lives = true;
    } else {
      problem = "answered " + *answer;
    }
  }
  if (!server_lives) {
    failed(problem);
  } else if (report_) {
    report_(true, "the Python fork server (" + spec_.argv[0] + ") " + problem +
                      "; this worker is spawned instead");
  }
  return tl::unexpected(problem);
}

}  // namespace sgeventd::workers
