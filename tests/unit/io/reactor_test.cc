// reactor_test.cc - both backends over real loopback sockets: echo, batching,
// backpressure, close-after-flush, timers and readable watches.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "listgate/io/reactor.h"
#include "listgate/io/socket.h"
#include "../../support/run_until.h"

namespace listgate::io {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Reactor> make(const std::string& backend) {
  std::string why;
  auto r = Reactor::create(backend == "uring" ? IoMode::uring : IoMode::epoll, &why);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r.value()) : nullptr;
}

// Echoes every byte back; counts what it saw; closes on "bye\n".
class Echo : public StreamHandler {
 public:
  void on_data(Connection& c, Slice data) override {
    received += data.view();
    ++chunks;
    if (received.find("bye\n") != std::string::npos) {
      c.write("closing\n");
      c.close();
      return;
    }
    c.write(data);  // by reference, from the receive buffer
  }
  void on_peer_closed(Connection& c, int) override {
    peer_closed = true;
    c.close();
  }
  std::string received;
  int chunks = 0;
  bool peer_closed = false;
};

class ReactorTest : public ::testing::TestWithParam<std::string> {};

using listgate::testing::run_until;

std::string read_some(int fd, size_t want, std::chrono::milliseconds limit = 5s) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  timeval tv{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST_P(ReactorTest, EchoesOverLoopbackAndClosesAfterFlush) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  auto lfd = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(lfd.ok());
  uint16_t port = bound_port(lfd.value());
  Echo echo;
  Connection* conn = nullptr;
  ASSERT_TRUE(r->listen(lfd.value(), [&](int fd) { conn = r->attach(fd, &echo); }).ok());

  std::string reply;
  std::thread client([&] {
    auto fd = connect_tcp("127.0.0.1", port);
    ASSERT_TRUE(fd.ok());
    std::string big(200000, 'x');  // larger than one receive buffer
    ASSERT_EQ(::send(fd.value(), big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
    reply = read_some(fd.value(), big.size());
    ::send(fd.value(), "bye\n", 4, 0);
    reply += read_some(fd.value(), 8);
    char c;
    EXPECT_EQ(::recv(fd.value(), &c, 1, 0), 0);  // the server closed after flushing
    ::close(fd.value());
  });
  run_until(*r, [&] { return conn != nullptr && r->connection_count() == 0; });
  client.join();
  EXPECT_EQ(reply.size(), 200000u + 8u);
  EXPECT_EQ(reply.substr(reply.size() - 8), "closing\n");
  EXPECT_GT(echo.chunks, 1);
  EXPECT_EQ(r->stats().bytes_in, 200004u);
  EXPECT_EQ(r->buffers_holding_data(), 0u) << "every buffer went back";
}

TEST_P(ReactorTest, WritesOfOneTurnGoOutInOneSend) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  struct Many : StreamHandler {
    void on_data(Connection& c, Slice) override {
      for (int i = 0; i < 50; ++i) c.write("250 2.1.5 Ok\r\n");
    }
    void on_peer_closed(Connection& c, int) override { c.close(); }
  } many;
  r->attach(sv[0], &many);
  ASSERT_EQ(::write(sv[1], "go", 2), 2);
  uint64_t sends_before = r->stats().sends;
  run_until(*r, [&] { return r->stats().bytes_out >= 50 * 14; });
  EXPECT_EQ(r->stats().sends - sends_before, 1u);
  ::close(sv[1]);
  run_until(*r, [&] { return r->connection_count() == 0; });
}

TEST_P(ReactorTest, PausedConnectionReceivesNothingUntilResumed) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  Echo echo;
  Connection* c = r->attach(sv[0], &echo);
  c->pause_reading();
  ASSERT_EQ(::write(sv[1], "abc", 3), 3);
  run_until(*r, [] { return false; }, 100ms);
  EXPECT_EQ(echo.received, "");
  c->resume_reading();
  run_until(*r, [&] { return echo.received == "abc"; });
  EXPECT_EQ(echo.received, "abc");
  ::close(sv[1]);
  run_until(*r, [&] { return r->connection_count() == 0; });
  EXPECT_TRUE(echo.peer_closed);
}

TEST_P(ReactorTest, TimersFireInOrderAndCancelledOnesDoNot) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  std::string order;
  r->add_timer(30ms, [&] { order += "c"; });
  r->add_timer(10ms, [&] { order += "a"; });
  TimerId gone = r->add_timer(20ms, [&] { order += "X"; });
  r->add_timer(20ms, [&] { order += "b"; });
  r->cancel_timer(gone);
  r->add_timer(50ms, [&] { r->stop(); });
  r->run();
  EXPECT_EQ(order, "abc");
}

TEST_P(ReactorTest, WatchReadableSeesEventfd) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int woken = 0;
  ASSERT_TRUE(r->watch_readable(efd, [&] {
                 uint64_t v;
                 if (::read(efd, &v, sizeof v) == sizeof v) woken += static_cast<int>(v);
               }).ok());
  std::thread t([&] {
    for (int i = 0; i < 3; ++i) {
      uint64_t one = 1;
      ASSERT_EQ(::write(efd, &one, sizeof one), 8);
      std::this_thread::sleep_for(20ms);
    }
  });
  run_until(*r, [&] { return woken == 3; });
  t.join();
  EXPECT_EQ(woken, 3);
  ::close(efd);
}

TEST_P(ReactorTest, ManyConnectionsAtOnce) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  auto lfd = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(lfd.ok());
  uint16_t port = bound_port(lfd.value());
  std::vector<std::unique_ptr<Echo>> handlers;
  ASSERT_TRUE(r->listen(lfd.value(), [&](int fd) {
                 handlers.push_back(std::make_unique<Echo>());
                 r->attach(fd, handlers.back().get());
               }).ok());
  constexpr int kClients = 200;
  int ok = 0;
  std::thread client([&] {
    std::vector<int> fds;
    for (int i = 0; i < kClients; ++i) {
      auto fd = connect_tcp("127.0.0.1", port);
      if (fd.ok()) fds.push_back(fd.value());
    }
    for (int fd : fds) ::send(fd, "ping\n", 5, 0);
    for (int fd : fds) ok += read_some(fd, 5) == "ping\n";
    for (int fd : fds) ::close(fd);
  });
  run_until(*r, [&] { return handlers.size() == kClients && r->connection_count() == 0; });
  client.join();
  EXPECT_EQ(ok, kClients);
  EXPECT_EQ(r->connection_count(), 0u);
}

// The client side of an outbound connection: records the outcome, sends a
// line queued before the connect finished, collects what comes back.
class Dialer : public StreamHandler {
 public:
  void on_connected(Connection& c, int err) override {
    connected = true;
    error = err;
    if (err != 0) c.close();
  }
  void on_data(Connection&, Slice data) override { received += data.view(); }
  void on_peer_closed(Connection& c, int) override {
    peer_closed = true;
    c.close();
  }
  bool connected = false;
  int error = -1;
  bool peer_closed = false;
  std::string received;
};

TEST_P(ReactorTest, ConnectsOutboundAndSendsWhatWasQueuedBeforehand) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  auto lfd = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(lfd.ok());
  Echo echo;
  ASSERT_TRUE(r->listen(lfd.value(), [&](int fd) { r->attach(fd, &echo); }).ok());
  auto peers = resolve_peer("127.0.0.1", bound_port(lfd.value()));
  ASSERT_TRUE(peers.ok());
  auto fd = start_connect(peers.value().front());
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  Dialer dialer;
  Connection* out = r->connect(fd.value(), &dialer);
  EXPECT_TRUE(out->connecting());
  out->write("hello\n");  // held until the connect is done
  run_until(*r, [&] { return dialer.received == "hello\n"; });
  EXPECT_TRUE(dialer.connected);
  EXPECT_EQ(dialer.error, 0);
  EXPECT_FALSE(out->connecting());
  out->write("bye\n");
  run_until(*r, [&] { return dialer.peer_closed; });
  EXPECT_EQ(dialer.received, "hello\nclosing\n");
  run_until(*r, [&] { return r->connection_count() == 0; });
  EXPECT_EQ(r->connection_count(), 0u);
}

TEST_P(ReactorTest, ConnectToAClosedPortReportsTheError) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  // A port that was just free: bind, read the number, close.
  auto lfd = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(lfd.ok());
  uint16_t port = bound_port(lfd.value());
  ::close(lfd.value());
  auto peers = resolve_peer("127.0.0.1", port);
  ASSERT_TRUE(peers.ok());
  auto fd = start_connect(peers.value().front());
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  Dialer dialer;
  Connection* out = r->connect(fd.value(), &dialer);
  out->write("never sent\n");
  run_until(*r, [&] { return dialer.connected && r->connection_count() == 0; });
  EXPECT_TRUE(dialer.connected);
  EXPECT_EQ(dialer.error, ECONNREFUSED);
  EXPECT_EQ(r->connection_count(), 0u);
}

TEST_P(ReactorTest, ClosingWhileConnectingAbandonsTheAttempt) {
  auto r = make(GetParam());
  ASSERT_TRUE(r);
  // A listener that never accepts, with its accept queue already full: the
  // kernel drops further SYNs, so the next connect stays in progress.
  auto lfd = listen_tcp("127.0.0.1", 0, 0);
  ASSERT_TRUE(lfd.ok());
  uint16_t port = bound_port(lfd.value());
  std::vector<int> fillers;
  auto peers = resolve_peer("127.0.0.1", port);
  ASSERT_TRUE(peers.ok());
  for (int i = 0; i < 3; ++i) {
    auto f = start_connect(peers.value().front());
    if (f.ok()) fillers.push_back(f.value());
  }
  std::this_thread::sleep_for(50ms);  // let the handshakes that can finish, finish
  auto fd = start_connect(peers.value().front());
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  Dialer dialer;
  Connection* out = r->connect(fd.value(), &dialer);
  out->write("queued\n");
  r->add_timer(20ms, [&] { out->close(); });  // the owner's connect timeout
  run_until(*r, [&] { return r->connection_count() == 0; });
  EXPECT_EQ(r->connection_count(), 0u);
  EXPECT_FALSE(dialer.connected) << "no callback after close()";
  for (int f : fillers) ::close(f);
  ::close(lfd.value());
}

TEST(UnixPeer, StartConnectToAMissingSocketFailsAtOnce) {
  auto peer = unix_peer("/nonexistent/listgate-test.sock");
  ASSERT_TRUE(peer.ok());
  auto fd = start_connect(peer.value());
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().message.find("unix:/nonexistent/listgate-test.sock"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReactorTest, ::testing::Values("uring", "epoll"),
                         [](const auto& info) { return info.param; });

TEST(ReactorCreate, AutomaticPicksUringWhereItWorks) {
  std::string why;
  auto r = Reactor::create(IoMode::automatic, &why);
  ASSERT_TRUE(r.ok());
  if (uring_unavailable_reason().empty()) {
    EXPECT_STREQ(r.value()->backend_name(), "io_uring");
  } else {
    EXPECT_STREQ(r.value()->backend_name(), "epoll");
    EXPECT_FALSE(why.empty());
  }
}

}  // namespace
}  // namespace listgate::io
