// fanout_test.cc - the pool, member batches and the retry queue over real sockets.
//
// One reactor runs both sides: the UpstreamPool under test, and an SMTP
// server made of the sink's own protocol machine (bench/sink/session.h)
// behind a loopback listener, with its faults switched from the test. So
// these cases see real connects, pipelined writes, partial reads and
// dropped connections, and still finish in milliseconds. Each case runs on
// both reactor backends.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../../support/run_until.h"
#include "counters.h"
#include "faults.h"
#include "listgate/delivery/bounce_log.h"
#include "listgate/delivery/member_batch.h"
#include "listgate/delivery/retry_queue.h"
#include "listgate/delivery/spool.h"
#include "listgate/delivery/upstream_pool.h"
#include "listgate/io/reactor.h"
#include "listgate/io/socket.h"
#include "session.h"

namespace listgate::delivery {
namespace {

using namespace std::chrono_literals;
using listgate::testing::run_until;

// What the server accepted: one entry per message answered 250.
struct Accepted {
  std::string sender;
  std::vector<std::string> recipients;
};

// The sink's machine on a loopback port of the test's reactor.
class InProcessSink final : public sink::MessageObserver {
 public:
  explicit InProcessSink(io::Reactor& reactor, bool xverp = false, bool chunking = true) : reactor_(reactor) {
    options_.track_envelope = true;
    options_.xverp = xverp;
    options_.chunking = chunking;
    auto fd = io::listen_tcp("127.0.0.1", 0);
    EXPECT_TRUE(fd.ok());
    port_ = io::bound_port(fd.value());
    auto ok = reactor.listen(fd.value(), [this](int conn_fd) { accept(conn_fd); });
    EXPECT_TRUE(ok.ok());
  }
  ~InProcessSink() override = default;

  uint16_t port() const { return port_; }
  sink::FaultEngine& faults() { return faults_; }
  const sink::Counters& counters() const { return counters_; }
  const std::vector<Accepted>& accepted() const { return accepted_; }
  // MAIL commands per connection, in the order the connections came.
  std::vector<uint64_t> mails_per_connection() const {
    std::vector<uint64_t> n;
    for (const auto& c : conns_) n.push_back(c->mails());
    return n;
  }
  // The next DATA is dropped mid-body, and only that one.
  void drop_next_data() {
    faults_.faults().drop_mid_data = 1;
    drop_once_ = true;
  }
  // How often each recipient was accepted in a message answered 250.
  std::map<std::string, int> deliveries() const {
    std::map<std::string, int> n;
    for (const Accepted& a : accepted_)
      for (const std::string& r : a.recipients) ++n[r];
    return n;
  }

  void on_message(sink::AcceptedMessage& m) override {
    Accepted a;
    a.sender = std::string(m.mail_from);
    for (std::string_view r : m.recipients) a.recipients.emplace_back(r);
    accepted_.push_back(std::move(a));
  }

 private:
  class Conn final : public io::StreamHandler {
   public:
    explicit Conn(InProcessSink& owner)
        : owner_(owner), session_(owner.options_, owner.faults_, owner.counters_, &owner) {}
    void start(io::Connection& c) {
      session_.start();
      flush(c);
    }
    void on_data(io::Connection& c, io::Slice data) override {
      const uint64_t before = owner_.counters_.mails;
      session_.feed(data.view());
      mails_ += owner_.counters_.mails - before;
      flush(c);
    }
    uint64_t mails() const { return mails_; }
    void on_peer_closed(io::Connection& c, int) override {
      if (gone_) return;
      gone_ = true;
      c.close();
    }

   private:
    void flush(io::Connection& c) {
      std::string out = std::move(session_.output());
      session_.output().clear();
      const bool close = session_.closing();
      if (session_.dropped() && owner_.drop_once_) owner_.faults_.faults().drop_mid_data = 0;
      // The sink's --delay-ms, as listgate-sink's SmtpConnection applies it
      // (without its queue: the tests keep the delay fixed).
      const std::chrono::milliseconds delay(owner_.faults_.faults().delay_ms);
      if (delay.count() > 0 && !out.empty()) {
        // The Conn outlives the reactor's timers; the connection may not.
        owner_.reactor_.add_timer(delay, [this, &c, out = std::move(out), close] {
          if (gone_) return;
          c.write(out);
          if (close) {
            gone_ = true;
            c.close();
          }
        });
        return;
      }
      if (!out.empty()) c.write(out);
      if (close) {
        gone_ = true;
        c.close();
      }
    }
    InProcessSink& owner_;
    sink::Session session_;
    uint64_t mails_ = 0;
    bool gone_ = false;
  };

  void accept(int fd) {
    ++counters_.connections;
    conns_.push_back(std::make_unique<Conn>(*this));
    io::Connection* c = reactor_.attach(fd, conns_.back().get());
    conns_.back()->start(*c);
  }

  io::Reactor& reactor_;
  sink::SessionOptions options_;
  sink::FaultEngine faults_;
  sink::Counters counters_;
  std::vector<std::unique_ptr<Conn>> conns_;  // kept until the test ends: the reactor may still call them
  std::vector<Accepted> accepted_;
  uint16_t port_ = 0;
  bool drop_once_ = false;
};

std::unique_ptr<io::Reactor> make_reactor(const std::string& backend) {
  std::string why;
  auto r = io::Reactor::create(backend == "uring" ? io::IoMode::uring : io::IoMode::epoll, &why);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r.value()) : nullptr;
}

PoolConfig pool_config(uint16_t port, uint32_t size) {
  PoolConfig c;
  c.name = "smtp:[127.0.0.1]:" + std::to_string(port);
  auto peers = io::resolve_peer("127.0.0.1", port);
  EXPECT_TRUE(peers.ok());
  c.peers = peers.value();
  c.size = size;
  c.connect_timeout = 2s;
  c.backoff_initial = 100ms;
  c.backoff_max = 200ms;
  return c;
}

std::vector<std::string> members(size_t n) {
  std::vector<std::string> m;
  for (size_t i = 0; i < n; ++i) m.push_back("member" + std::to_string(i) + "@example.com");
  return m;
}

std::string verp(std::string_view bounces, std::string_view local, std::string_view domain) {
  return std::string(bounces) + "+" + std::string(local) + "=" + std::string(domain);
}

class FanoutTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    reactor = make_reactor(GetParam());
    ASSERT_NE(reactor, nullptr);
    body_text = "Subject: hello\r\n\r\nline one\r\n..dot-stuffed line\r\n";
  }
  BatchMessage message() {
    BatchMessage m;
    m.header_prefix = "List-Id: <dev.lists.example.org>\r\n";
    m.body = std::make_shared<io::SliceChain>(io::copy_into_pool(reactor->buffers(), body_text));
    return m;
  }
  // Sends one batch and runs the reactor until its outcomes are in.
  BatchOutcomes send(UpstreamPool& pool, const BatchEnvelope& envelope, std::vector<std::string> recipients,
                     uint32_t max_recipients) {
    bool done = false;
    BatchOutcomes outcomes;
    send_batch(pool, envelope, std::move(recipients), message(), max_recipients, batch_counters,
               [&](BatchOutcomes o) {
                 outcomes = std::move(o);
                 done = true;
               });
    EXPECT_TRUE(run_until(*reactor, [&] { return done; }, 10s));
    return outcomes;
  }

  std::unique_ptr<io::Reactor> reactor;
  std::string body_text;
  ClientCounters client_counters;
  BatchCounters batch_counters;
  VerpFormatter verp_format = verp;
};

size_t count(const BatchOutcomes& o, Outcome which) {
  size_t n = 0;
  for (const RecipientOutcome& r : o) n += r.outcome == which ? 1 : 0;
  return n;
}

TEST_P(FanoutTest, MembersGoOutInChunksOverAtMostPoolSizeConnections) {
  InProcessSink sink(*reactor);
  UpstreamPool pool(*reactor, pool_config(sink.port(), 4), client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  auto outcomes = send(pool, envelope, members(1234), 100);

  ASSERT_EQ(outcomes.size(), 1234u);
  EXPECT_EQ(count(outcomes, Outcome::delivered), 1234u);
  EXPECT_EQ(sink.counters().mails, 13u);  // 12 chunks of 100 and one of 34
  EXPECT_LE(sink.counters().connections, 4u);
  EXPECT_GE(sink.counters().connections, 2u) << "the chunks should be spread over the pool";
  auto seen = sink.deliveries();
  EXPECT_EQ(seen.size(), 1234u);
  for (const auto& [rcpt, n] : seen) EXPECT_EQ(n, 1) << rcpt;
  for (const Accepted& a : sink.accepted()) EXPECT_EQ(a.sender, "dev-bounces@lists.example.org");
  // Every transaction sent the body from the same buffers: nothing copied.
  EXPECT_EQ(client_counters.body_bytes_copied, 0u);
  // The sink offers CHUNKING: BDAT sends the message without its one stuffing dot.
  EXPECT_EQ(client_counters.body_bytes_referenced, 13u * (body_text.size() - 1));
}

// Without CHUNKING the same fan-out goes out with DATA: one transaction at
// a time per connection, the wire-form body (stuffing dot included) by reference.
TEST_P(FanoutTest, UpstreamWithoutChunkingGetsData) {
  InProcessSink sink(*reactor, false, false);
  UpstreamPool pool(*reactor, pool_config(sink.port(), 4), client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  auto outcomes = send(pool, envelope, members(1234), 100);

  ASSERT_EQ(outcomes.size(), 1234u);
  EXPECT_EQ(count(outcomes, Outcome::delivered), 1234u);
  EXPECT_EQ(sink.counters().mails, 13u);
  EXPECT_EQ(sink.deliveries().size(), 1234u);
  EXPECT_EQ(client_counters.body_bytes_copied, 0u);
  EXPECT_EQ(client_counters.body_bytes_referenced, 13u * body_text.size());
}

// A fast upstream: the transactions handed out in one turn share one
// connection and one write. Four one-member transactions at once on a warm
// pool of four go to one connection.
TEST_P(FanoutTest, FastUpstreamGetsATurnsTransactionsOnOneConnection) {
  InProcessSink sink(*reactor);
  PoolConfig config = pool_config(sink.port(), 4);
  config.batching_latency = std::chrono::hours(1);  // whatever this machine's speed: fast
  UpstreamPool pool(*reactor, config, client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  ASSERT_EQ(count(send(pool, envelope, members(4), 1), Outcome::delivered), 4u);  // opens the four
  ASSERT_EQ(pool.connections(), 4u);
  const std::vector<uint64_t> before = sink.mails_per_connection();
  ASSERT_EQ(count(send(pool, envelope, members(4), 1), Outcome::delivered), 4u);
  const std::vector<uint64_t> after = sink.mails_per_connection();
  ASSERT_EQ(after.size(), 4u);
  std::vector<uint64_t> grew;
  for (size_t i = 0; i < after.size(); ++i) grew.push_back(after[i] - before[i]);
  EXPECT_EQ(*std::max_element(grew.begin(), grew.end()), 4u) << "one connection takes all four";
  EXPECT_EQ(client_counters.chunked, 8u);
}

// A slow upstream (every reply 30 ms late): its connections work in
// parallel, so the same four transactions go out over all four.
TEST_P(FanoutTest, SlowUpstreamGetsATurnsTransactionsSpread) {
  InProcessSink sink(*reactor);
  sink.faults().faults().delay_ms = 30;
  UpstreamPool pool(*reactor, pool_config(sink.port(), 4), client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  ASSERT_EQ(count(send(pool, envelope, members(4), 1), Outcome::delivered), 4u);
  ASSERT_EQ(pool.connections(), 4u);
  const std::vector<uint64_t> before = sink.mails_per_connection();
  ASSERT_EQ(count(send(pool, envelope, members(4), 1), Outcome::delivered), 4u);
  const std::vector<uint64_t> after = sink.mails_per_connection();
  ASSERT_EQ(after.size(), 4u);
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i] - before[i], 1u) << "connection " << i;
}

TEST_P(FanoutTest, ConnectionsAreReusedAcrossBatches) {
  InProcessSink sink(*reactor);
  UpstreamPool pool(*reactor, pool_config(sink.port(), 2), client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  for (int post = 0; post < 5; ++post) {
    auto outcomes = send(pool, envelope, members(3), 500);
    EXPECT_EQ(count(outcomes, Outcome::delivered), 3u);
  }
  EXPECT_EQ(sink.counters().mails, 5u);
  EXPECT_EQ(sink.counters().connections, 1u) << "one post at a time needs one connection";
}

TEST_P(FanoutTest, MaxTransactionsRetiresConnections) {
  InProcessSink sink(*reactor);
  PoolConfig config = pool_config(sink.port(), 1);
  config.client.max_transactions = 2;
  UpstreamPool pool(*reactor, config, client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  auto outcomes = send(pool, envelope, members(6), 1);
  EXPECT_EQ(count(outcomes, Outcome::delivered), 6u);
  EXPECT_EQ(sink.counters().mails, 6u);
  EXPECT_EQ(sink.counters().connections, 3u);
}

TEST_P(FanoutTest, VerpSendsOneTransactionPerMemberWithItsOwnSender) {
  InProcessSink sink(*reactor);
  UpstreamPool pool(*reactor, pool_config(sink.port(), 4), client_counters);
  BatchEnvelope envelope{"announce-bounces@lists.example.org", true, false, &verp_format};
  auto outcomes = send(pool, envelope, {"alice@example.com", "bob@example.net", "carol@example.org"}, 500);
  EXPECT_EQ(count(outcomes, Outcome::delivered), 3u);
  ASSERT_EQ(sink.accepted().size(), 3u);
  std::set<std::string> senders;
  for (const Accepted& a : sink.accepted()) {
    ASSERT_EQ(a.recipients.size(), 1u);
    std::string local = a.recipients[0].substr(0, a.recipients[0].find('@'));
    std::string domain = a.recipients[0].substr(a.recipients[0].find('@') + 1);
    EXPECT_EQ(a.sender, "announce-bounces+" + local + "=" + domain + "@lists.example.org");
    senders.insert(a.sender);
  }
  EXPECT_EQ(senders.size(), 3u);
}

TEST_P(FanoutTest, XverpUpstreamTakesChunksInsteadOfOneTransactionPerMember) {
  InProcessSink sink(*reactor, /*xverp=*/true);
  UpstreamPool pool(*reactor, pool_config(sink.port(), 2), client_counters);
  BatchEnvelope plain{"announce-bounces@lists.example.org", false, false, &verp_format};
  send(pool, plain, members(1), 500);  // the handshake tells the pool about XVERP
  ASSERT_EQ(pool.offers_xverp(), std::optional<bool>(true));
  BatchEnvelope envelope{"announce-bounces@lists.example.org", true, true, &verp_format};
  auto outcomes = send(pool, envelope, members(10), 4);
  EXPECT_EQ(count(outcomes, Outcome::delivered), 10u);
  EXPECT_EQ(sink.counters().mails, 1u + 3u);  // the warm-up, then chunks of 4, 4 and 2
  for (size_t i = 1; i < sink.accepted().size(); ++i)
    EXPECT_EQ(sink.accepted()[i].sender, "announce-bounces@lists.example.org");
}

TEST_P(FanoutTest, RefusalsAreSortedPerMember) {
  InProcessSink sink(*reactor);
  ASSERT_TRUE(sink.faults().set("fail-rcpt", "bob=450").ok());
  ASSERT_TRUE(sink.faults().set("fail-rcpt", "carol=550").ok());
  UpstreamPool pool(*reactor, pool_config(sink.port(), 1), client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  auto outcomes = send(pool, envelope, {"alice@example.com", "bob@example.net", "carol@example.org"}, 500);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].outcome, Outcome::delivered);
  EXPECT_EQ(outcomes[1].outcome, Outcome::deferred);
  EXPECT_EQ(outcomes[1].reply.code, 450);
  EXPECT_EQ(outcomes[2].outcome, Outcome::refused);
  EXPECT_EQ(outcomes[2].reply.enhanced, "5.1.1");
  EXPECT_EQ(batch_counters.immediate_retries, 0u);
}

TEST_P(FanoutTest, RefusalAfterTheDotAnswersTheWholeTransaction) {
  InProcessSink sink(*reactor);
  ASSERT_TRUE(sink.faults().set("data-temp-fail", "1").ok());
  UpstreamPool pool(*reactor, pool_config(sink.port(), 1), client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  auto outcomes = send(pool, envelope, members(5), 2);
  EXPECT_EQ(count(outcomes, Outcome::deferred), 5u);
  EXPECT_TRUE(sink.accepted().empty());
}

TEST_P(FanoutTest, ADroppedConnectionIsRetriedOnceForTheUnansweredOnly) {
  InProcessSink sink(*reactor);
  ASSERT_TRUE(sink.faults().set("fail-rcpt", "member0@=550").ok());
  sink.drop_next_data();
  UpstreamPool pool(*reactor, pool_config(sink.port(), 1), client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  auto outcomes = send(pool, envelope, members(4), 500);  // the first DATA is dropped, the retry goes through
  EXPECT_EQ(sink.counters().drops, 1u);
  EXPECT_EQ(batch_counters.immediate_retries, 1u);
  EXPECT_EQ(outcomes[0].outcome, Outcome::refused) << "answered before the drop: kept, not retried";
  EXPECT_EQ(count(outcomes, Outcome::delivered), 3u);
  auto seen = sink.deliveries();
  EXPECT_EQ(seen.count("member0@example.com"), 0u);
  EXPECT_EQ(seen.size(), 3u);
}

TEST_P(FanoutTest, AnUpstreamThatIsDownAnswersAtOnceWith441) {
  // A port with nothing behind it: bind, read the port, close.
  auto fd = io::listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(fd.ok());
  uint16_t port = io::bound_port(fd.value());
  ::close(fd.value());
  UpstreamPool pool(*reactor, pool_config(port, 2), client_counters);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};
  auto start = std::chrono::steady_clock::now();
  auto outcomes = send(pool, envelope, members(3), 500);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_EQ(outcomes.size(), 3u);
  for (const RecipientOutcome& o : outcomes) {
    EXPECT_EQ(o.outcome, Outcome::deferred);
    EXPECT_EQ(o.reply.code, 451);
  }
  EXPECT_GE(pool.counters().connect_failures, 1u);
}

// ---------------------------------------------------------------------------
// The retry queue over a real spool directory.

class RetryTest : public FanoutTest {
 protected:
  void SetUp() override {
    FanoutTest::SetUp();
    char tmpl[] = "/tmp/listgate-fanout-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    auto s = Spool::open(dir + "/spool");
    ASSERT_TRUE(s.ok());
    spool = std::move(s.value());
    auto b = BounceLog::open(dir + "/bounces.jsonl");
    ASSERT_TRUE(b.ok());
    bounces = std::move(b.value());
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  SpoolEntry entry(std::vector<std::string> owed) {
    SpoolEntry e;
    e.kind = SpoolKind::post;
    e.list = "dev@lists.example.org";
    e.sender = "dev-bounces@lists.example.org";
    e.message_id = "<post@example.org>";
    e.created = static_cast<int64_t>(std::time(nullptr));
    e.attempts = 1;
    e.last_reply = "450 4.2.1 try later";
    e.recipients = std::move(owed);
    return e;
  }
  std::string bounce_log_text() const {
    std::ifstream in(dir + "/bounces.jsonl");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  size_t spool_files() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& f : std::filesystem::directory_iterator(dir + "/spool")) ++n;
    return n;
  }

  std::string dir;
  std::unique_ptr<Spool> spool;
  std::unique_ptr<BounceLog> bounces;
  std::vector<std::string> warnings;
  WarnFn warn = [this](std::string_view event, std::string_view detail) {
    warnings.push_back(std::string(event) + " " + std::string(detail));
  };
};

TEST_P(RetryTest, ARetryGoesOnlyToTheMembersStillOwed) {
  InProcessSink sink(*reactor);
  ASSERT_TRUE(sink.faults().set("fail-rcpt", "bob=450").ok());
  UpstreamPool pool(*reactor, pool_config(sink.port(), 2), client_counters);
  RetryConfig config;
  config.retry_initial = 1s;
  config.retry_max = 1s;
  RetryQueue queue(*reactor, *spool, *bounces, pool, verp_format, config, batch_counters, warn);
  BatchEnvelope envelope{"dev-bounces@lists.example.org", false, false, &verp_format};

  // The first attempt, as ListDeliverer makes it: alice and carol get it, bob is owed.
  auto outcomes = send(pool, envelope, {"alice@example.com", "bob@example.net", "carol@example.org"}, 500);
  ASSERT_EQ(outcomes[1].outcome, Outcome::deferred);
  io::SliceChain body = io::copy_into_pool(reactor->buffers(), body_text);
  auto id = queue.defer(entry({"bob@example.net"}), "List-Id: <dev.lists.example.org>\r\n", body);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(spool_files(), 2u);  // ID.msg and ID.meta

  // Still refused on the first retry, then the fault goes.
  ASSERT_TRUE(run_until(*reactor, [&] { return queue.counters().retries >= 1 && !queue.busy(); }, 5s));
  EXPECT_EQ(queue.entries(), 1u);
  sink.faults().clear();
  ASSERT_TRUE(run_until(*reactor, [&] { return queue.entries() == 0; }, 5s));

  auto seen = sink.deliveries();
  EXPECT_EQ(seen["alice@example.com"], 1);
  EXPECT_EQ(seen["bob@example.net"], 1);
  EXPECT_EQ(seen["carol@example.org"], 1);
  EXPECT_EQ(spool_files(), 0u);
  EXPECT_EQ(queue.counters().retried_delivered, 1u);
  EXPECT_TRUE(warnings.empty());
}

TEST_P(RetryTest, PastTheRetryPeriodTheMemberIsRecordedAsABounce) {
  InProcessSink sink(*reactor);
  ASSERT_TRUE(sink.faults().set("fail-rcpt", "bob=450").ok());
  UpstreamPool pool(*reactor, pool_config(sink.port(), 1), client_counters);
  RetryConfig config;
  config.retry_initial = 1s;
  config.retry_max = 1s;
  config.delivery_retry_period = 1s;
  RetryQueue queue(*reactor, *spool, *bounces, pool, verp_format, config, batch_counters, warn);
  io::SliceChain body = io::copy_into_pool(reactor->buffers(), body_text);
  SpoolEntry e = entry({"bob@example.net"});
  e.created -= 2;  // first tried two seconds ago
  ASSERT_TRUE(queue.defer(e, "", body).ok());
  ASSERT_TRUE(run_until(*reactor, [&] { return queue.entries() == 0; }, 5s));
  EXPECT_EQ(queue.counters().expired, 1u);
  std::string log = bounce_log_text();
  EXPECT_NE(log.find("\"member\":\"bob@example.net\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"status\":\"4.2.1\""), std::string::npos) << log;
  EXPECT_NE(log.find("delivery_retry_period expired"), std::string::npos) << log;
  EXPECT_EQ(spool_files(), 0u);
}

TEST_P(RetryTest, EntriesFromAnEarlierRunAreRetried) {
  InProcessSink sink(*reactor);
  UpstreamPool pool(*reactor, pool_config(sink.port(), 1), client_counters);
  RetryConfig config;
  config.retry_initial = 1s;
  io::SliceChain body = io::copy_into_pool(reactor->buffers(), body_text);
  {  // an earlier process spooled it
    SpoolEntry e = entry({"dave@example.com", "erin@example.net"});
    e.next_attempt = e.created;
    ASSERT_TRUE(spool->add(e, "X-Test: 1\r\n", body).ok());
  }
  std::vector<std::string> problems;
  auto loaded = spool->load_all(&problems);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded.value().size(), 1u);
  RetryQueue queue(*reactor, *spool, *bounces, pool, verp_format, config, batch_counters, warn);
  queue.load(std::move(loaded.value()));
  ASSERT_TRUE(run_until(*reactor, [&] { return queue.entries() == 0; }, 5s));
  auto seen = sink.deliveries();
  EXPECT_EQ(seen["dave@example.com"], 1);
  EXPECT_EQ(seen["erin@example.net"], 1);
  EXPECT_EQ(sink.counters().body_bytes, std::string("X-Test: 1\r\n").size() + body_text.size() - 1)
      << "prefix and body as spooled, dot-stuffing undone by the server";
}

INSTANTIATE_TEST_SUITE_P(Backends, FanoutTest, ::testing::Values("uring", "epoll"),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Backends, RetryTest, ::testing::Values("uring", "epoll"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace listgate::delivery
