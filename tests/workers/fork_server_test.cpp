// Integration: the Python fork server (workers/fork_server.h) with the real Python worker. A
// forked worker must be to the daemon exactly what a spawned one is: its child, in a group of
// its own, speaking the protocol; and a server that dies must cost no worker, only the speed
// of the next starts until it is back.
#include "workers/fork_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "process.h"
#include "recording_listener.h"
#include "sgeventd/json.h"
#include "workers/child_registry.h"

namespace sgeventd::workers {
namespace {

using testing::Harness;

std::string plugin_file() {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sgeventd-fork-test-" + std::to_string(::getpid()) + ".py");
  std::ofstream(path) << "def registerCallbacks(reg):\n"
                         "    reg.registerCallback('s', 'k', cb)\n"
                         "def cb(sg, logger, event, args):\n"
                         "    pass\n";
  return path.string();
}

ForkServerSpec python_spec() {
  return {{"/usr/bin/python3", sgeventd::testing::binary("sgeventd-python-worker")}, {}, {}, {}};
}

// A stand-in for the Python fork server, as a script for /usr/bin/python3: it says it is ready,
// then behaves as `mode` says with each request.
//   steal: keeps the worker's pipes and starts a child that reads the worker's stdin (what a
//          worker forked before its answer was lost would do), and never answers;
//   die:   exits at the first request;
//   cold:  says its warm-up failed, then dies at the first request.
ForkServerSpec fake_spec(const std::string& mode) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sgeventd-fake-fork-server-" + std::to_string(::getpid()) + "-" + mode);
  std::ofstream(path) << R"(import array, os, socket, sys, time
sock = socket.socket(fileno=0)
mode = sys.argv[-1]
sock.send(b'{"ready": true, "problems": [], "warm_up": "too cold"}' if mode == "cold"
          else b'{"ready": true, "problems": []}')
while True:
    fds = array.array("i")
    msg, anc, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(12))
    if not msg:
        sys.exit(0)
    if mode in ("die", "cold"):
        sys.exit(1)
    for _level, _kind, data in anc:
        fds.frombytes(data)
    if os.fork() == 0:
        while os.read(fds[0], 65536):
            pass
        os._exit(0)
)";
  // Started as `python3 script --fork-server --preload MODE`: the mode is its last argument.
  return {{"/usr/bin/python3", path.string()}, {}, {}, {mode}};
}

struct Reports {
  std::vector<std::string> news, problems;
  ForkServer::Reporter reporter() {
    return [this](bool problem, const std::string& line) {
      (problem ? problems : news).push_back(line);
    };
  }
};

SessionOptions python_options(const std::string& plugin) {
  SessionOptions options;
  options.hello.daemon = "sgeventd test";
  options.hello.site = Dict{{"url", "https://studio.example.com"}};
  options.plugins = {{"probe", plugin}};
  return options;
}

SpawnSpec spec_with(std::shared_ptr<ForkServer> server) {
  SpawnSpec spec;
  spec.argv = server->spec().argv;
  spec.fork_server = std::move(server);
  return spec;
}

// The parent of `pid`, from /proc/<pid>/stat.
pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  char state = 0;
  int ppid = -1;
  std::sscanf(text.c_str() + close + 1, " %c %d", &state, &ppid);
  return ppid;
}

TEST(ForkServer, AForkedWorkerIsOurChildInItsOwnGroupAndSpeaksTheProtocol) {
  Reports reports;
  auto server = std::make_shared<ForkServer>(python_spec(), reports.reporter());
  Harness h;
  ASSERT_TRUE(h.start(spec_with(server), python_options(plugin_file())));
  ASSERT_TRUE(h.wait_ready()) << h.listener.stderr_lines.size();
  ASSERT_EQ(h.listener.loaded.size(), 1u)
      << (h.listener.load_failed.empty() ? "" : h.listener.load_failed[0].error);
  const pid_t worker = h.session->pid();
  ASSERT_GT(server->server_pid(), 0);
  EXPECT_NE(worker, server->server_pid());
  EXPECT_EQ(parent_of(worker), ::getpid());
  EXPECT_EQ(::getpgid(worker), worker);
  ASSERT_EQ(reports.news.size(), 1u);
  EXPECT_NE(reports.news[0].find("fork server started"), std::string::npos) << reports.news[0];
  EXPECT_TRUE(reports.problems.empty()) << reports.problems[0];
  h.session->shutdown(std::chrono::milliseconds(5000));
  ASSERT_TRUE(h.wait_end());
  EXPECT_EQ(h.listener.end->exit.code, 0);
}

// The daemon sends the config first (--prepare); one too big for a single message is replaced by
// an empty one. Either way the server warms up, says nothing of it, and its workers load.
TEST(ForkServer, APreparedServerWarmsUpWithAnyConfigAndItsWorkersLoad) {
  const std::string huge(1 << 20, 'x');
  for (const std::string& value : {std::string("hello"), huge}) {
    Reports reports;
    ForkServerSpec spec = python_spec();
    spec.prepare = to_json(Value(Dict{{"config", Dict{{"studio", Dict{{"greeting", value}}}}}}));
    auto server = std::make_shared<ForkServer>(spec, reports.reporter());
    Harness h;
    ASSERT_TRUE(h.start(spec_with(server), python_options(plugin_file())));
    ASSERT_TRUE(h.wait_ready());
    ASSERT_EQ(h.listener.loaded.size(), 1u)
        << (h.listener.load_failed.empty() ? "" : h.listener.load_failed[0].error);
    ASSERT_EQ(reports.news.size(), 1u) << value.size();
    EXPECT_TRUE(reports.problems.empty()) << reports.problems[0];
    h.session->shutdown(std::chrono::milliseconds(5000));
    ASSERT_TRUE(h.wait_end());
  }
}

TEST(ForkServer, ADeadServerCostsNoWorkerAndIsStartedAgainAfterABackoff) {
  Reports reports;
  auto server = std::make_shared<ForkServer>(python_spec(), reports.reporter());
  const std::string plugin = plugin_file();
  Harness first;
  ASSERT_TRUE(first.start(spec_with(server), python_options(plugin)));
  ASSERT_TRUE(first.wait_ready());
  const pid_t dead = server->server_pid();
  ASSERT_EQ(::kill(dead, SIGKILL), 0);

  // The next start finds the server gone: it is spawned instead, and says so once.
  Harness second;
  ASSERT_TRUE(second.start(spec_with(server), python_options(plugin)));
  ASSERT_TRUE(second.wait_ready());
  EXPECT_EQ(parent_of(second.session->pid()), ::getpid());
  ASSERT_EQ(reports.problems.size(), 1u);
  EXPECT_NE(reports.problems[0].find("started again in 1 s"), std::string::npos)
      << reports.problems[0];
  EXPECT_EQ(server->server_pid(), -1);

  // The first worker never noticed.
  ASSERT_TRUE(first.session->ping());
  ASSERT_TRUE(first.wait([&] { return !first.listener.pongs.empty(); }));

  // After the backoff the server is back, and forks again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Harness third;
  ASSERT_TRUE(third.start(spec_with(server), python_options(plugin)));
  ASSERT_TRUE(third.wait_ready());
  EXPECT_GT(server->server_pid(), 0);
  EXPECT_NE(server->server_pid(), dead);
  EXPECT_EQ(reports.news.size(), 2u);
}

TEST(ForkServer, OneServerPerSetupIsShared) {
  Reports reports;
  auto a = ForkServer::shared(python_spec(), reports.reporter());
  auto b = ForkServer::shared(python_spec(), reports.reporter());
  EXPECT_EQ(a, b);
  ForkServerSpec other = python_spec();
  other.preload = {"decimal"};
  EXPECT_NE(ForkServer::shared(other, reports.reporter()), a);
}

TEST(ForkServer, AServerThatCannotStartIsAProblemAndTheWorkerIsSpawned) {
  Reports reports;
  ForkServerSpec broken = python_spec();
  broken.argv[0] = "/nonexistent/python3";
  auto server = std::make_shared<ForkServer>(broken, reports.reporter());
  Harness h;
  EXPECT_FALSE(h.start(spec_with(server), python_options(plugin_file())));  // spawn fails too
  ASSERT_EQ(reports.problems.size(), 1u);
  EXPECT_NE(reports.problems[0].find("/nonexistent/python3"), std::string::npos);
}

TEST(ForkServer, AWorkerSpawnedAfterALostAnswerGetsPipesOfItsOwn) {
  Reports reports;
  auto server = std::make_shared<ForkServer>(fake_spec("steal"), reports.reporter());
  SpawnSpec spec;
  spec.argv = python_spec().argv;  // what is spawned when the server does not answer
  spec.fork_server = server;
  Harness h;
  ASSERT_TRUE(h.start(spec, python_options(plugin_file())));
  // A process still reads the pipes the server was given: the spawned worker must not share
  // them, or it would lose its hello and its events to it.
  ASSERT_TRUE(h.wait_ready());
  ASSERT_EQ(h.listener.loaded.size(), 1u);
  ASSERT_EQ(reports.problems.size(), 1u);
  EXPECT_NE(reports.problems[0].find("did not answer in time"), std::string::npos)
      << reports.problems[0];
}

TEST(ForkServer, AFailedWarmUpIsReportedAsAProblem) {
  Reports reports;
  auto server = std::make_shared<ForkServer>(fake_spec("cold"), reports.reporter());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(server->fork_worker(fds[0], fds[1], 2, {}));  // it dies at the request
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_FALSE(reports.problems.empty());
  EXPECT_NE(reports.problems[0].find("could not warm up (too cold)"), std::string::npos)
      << reports.problems[0];
}

TEST(ForkServer, AServerThatDiesAtEveryRequestBacksOffLongerEachTime) {
  Reports reports;
  auto server = std::make_shared<ForkServer>(fake_spec("die"), reports.reporter());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(server->fork_worker(fds[0], fds[1], fds[1], {}));
  EXPECT_FALSE(server->fork_worker(fds[0], fds[1], fds[1], {}));  // within the backoff
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(server->fork_worker(fds[0], fds[1], fds[1], {}));
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_EQ(reports.problems.size(), 2u);
  EXPECT_NE(reports.problems[0].find("started again in 1 s"), std::string::npos)
      << reports.problems[0];
  EXPECT_NE(reports.problems[1].find("started again in 2 s"), std::string::npos)
      << reports.problems[1];
}

TEST(ChildRegistry, OrphansAreReapedAndOwnedChildrenAreLeftToTheirOwner) {
  ASSERT_TRUE(child_registry::become_subreaper());
  // An owned child that has ended, and an orphan (a grandchild whose parent exited).
  pid_t owned = -1;
  {
    std::lock_guard lock(child_registry::mutex());
    owned = ::fork();
    if (owned == 0) ::_exit(3);
    child_registry::add(owned);
  }
  const pid_t middle = ::fork();
  if (middle == 0) {
    if (::fork() == 0) {
      ::usleep(100'000);
      ::_exit(0);
    }
    ::_exit(0);
  }
  ::waitpid(middle, nullptr, 0);
  // Let the owned one be the first ended child the sweep sees... then reap it as its owner.
  int status = 0;
  ASSERT_EQ(::waitpid(owned, &status, 0), owned);
  EXPECT_EQ(WEXITSTATUS(status), 3);
  child_registry::remove(owned);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int reaped = 0;
  while (reaped == 0 && std::chrono::steady_clock::now() < deadline) {
    reaped += child_registry::reap_orphans();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(reaped, 1);
}

}  // namespace
}  // namespace sgeventd::workers
