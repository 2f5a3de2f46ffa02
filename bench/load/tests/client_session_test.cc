// client_session_test.cc - the LMTP client machine against scripted replies,
// fed byte by byte: what it sends, what it counts, how it pipelines.
#include "client_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace listgate::loadbench {
namespace {

using namespace std::chrono_literals;

class FakePort final : public SessionPort {
 public:
  void send(const io::Slice& bytes) override { sent += bytes.view(); }
  void close() override { ++closes; }
  io::Clock::time_point now() override { return clock; }
  void report_error(std::string_view what) override { errors.emplace_back(what); }

  // What was sent since the last call.
  std::string take() { return std::exchange(sent, {}); }

  std::string sent;
  int closes = 0;
  io::Clock::time_point clock{};
  std::vector<std::string> errors;
};

struct Fixture {
  explicit Fixture(WorkloadSpec spec, bool overlap = true) {
    auto w = Workload::build(spec);
    EXPECT_TRUE(w.ok()) << w.error().message;
    workload = std::move(w.value());
    session = std::make_unique<ClientSession>(port, *workload, counters, latency,
                                              SessionOptions{workload->lhlo(), workload->quit(), workload->rset(), overlap});
  }
  // The server's bytes, one at a time.
  void server(std::string_view bytes) {
    for (char c : bytes) session->on_bytes(std::string_view(&c, 1));
  }
  std::string message(size_t i = 0) const { return std::string(workload->bodies()[i].message.view()); }

  FakePort port;
  std::unique_ptr<Workload> workload;
  LoadCounters counters;
  LatencyHistogram latency;
  std::unique_ptr<ClientSession> session;
};

WorkloadSpec spec_for(uint32_t rcpts, double unknown_share, uint64_t limit) {
  WorkloadSpec s;
  s.known = {"dev@lists.example.org", "announce@lists.example.org"};
  s.unknown = {"no-such-list-0@lists.example.org"};
  s.rcpts_per_message = rcpts;
  s.unknown_share = unknown_share;
  s.sizes = parse_size_distribution("400").value();
  s.message_limit = limit;
  s.sender = "b@x.org";
  return s;
}

constexpr std::string_view kGreeting = "220 host LMTP listgate ready\r\n";
constexpr std::string_view kLhloPipelining = "250-host\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE 52428800\r\n";
constexpr std::string_view kLhloPlain = "250-host\r\n250 SIZE 52428800\r\n";

TEST(ClientSession, PipelinesAndOverlapsTransactions) {
  Fixture f(spec_for(1, 0, 2));
  f.server(kGreeting);
  EXPECT_EQ(f.port.take(), "LHLO listgate-bench.example\r\n");
  f.server(kLhloPipelining);
  EXPECT_TRUE(f.session->pipelining());
  EXPECT_EQ(f.counters.connections_opened, 1u);
  // The first envelope in one write.
  EXPECT_EQ(f.port.take(), "MAIL FROM:<b@x.org> SIZE=400\r\nRCPT TO:<dev@lists.example.org>\r\nDATA\r\n");
  EXPECT_EQ(f.session->in_flight(), 1u);

  f.port.clock += 1s;
  f.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  // Body, then at once the next envelope behind its final dot.
  EXPECT_EQ(f.port.take(), f.message() +
                               "MAIL FROM:<b@x.org> SIZE=400\r\nRCPT TO:<announce@lists.example.org>\r\nDATA\r\n");
  EXPECT_EQ(f.session->in_flight(), 2u);
  EXPECT_EQ(f.counters.messages_sent, 1u);

  f.port.clock += 3ms;
  // The first message's reply and the second envelope's replies in one go.
  f.server("250 2.0.0 Ok delivered\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
  EXPECT_EQ(f.counters.messages_completed, 1u);
  EXPECT_EQ(f.latency.count(), 1u);
  EXPECT_EQ(f.latency.max(), 3ms);
  // The second body; the budget (2) is spent, so nothing behind it.
  EXPECT_EQ(f.port.take(), f.message());

  f.port.clock += 5ms;
  f.server("250 2.0.0 Ok delivered\r\n");
  EXPECT_EQ(f.counters.messages_completed, 2u);
  EXPECT_EQ(f.latency.max(), 5ms);
  EXPECT_EQ(f.port.take(), "QUIT\r\n");
  EXPECT_EQ(f.session->state(), ClientSession::State::quitting);

  f.server("221 2.0.0 Bye\r\n");
  EXPECT_TRUE(f.session->done());
  EXPECT_EQ(f.port.closes, 1);
  EXPECT_EQ(f.counters.messages_started, 2u);
  EXPECT_EQ(f.counters.messages_all_2xx, 2u);
  EXPECT_EQ(f.counters.rcpt_sent, 2u);
  EXPECT_EQ(f.counters.rcpt_accepted, 2u);
  EXPECT_EQ(f.counters.data_replies_2xx, 2u);
  EXPECT_EQ(f.counters.body_bytes, 800u);
  EXPECT_EQ(f.counters.errors(), 0u);
  EXPECT_EQ(f.counters.wrong_replies(), 0u);
  EXPECT_TRUE(f.port.errors.empty());
}

TEST(ClientSession, NoOverlapWaitsForTheReplies) {
  Fixture f(spec_for(1, 0, 2), /*overlap=*/false);
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.port.take();
  f.server("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(f.port.take(), f.message());  // body only
  f.server("250 delivered\r\n");
  EXPECT_EQ(f.port.take(), "MAIL FROM:<b@x.org> SIZE=400\r\nRCPT TO:<announce@lists.example.org>\r\nDATA\r\n");
}

TEST(ClientSession, OneReplyPerAcceptedRecipientAndUnknownsGet550) {
  // Two RCPTs per message, half of all unknown: find a seed whose first
  // message has one known and one unknown recipient.
  WorkloadSpec spec = spec_for(2, 0.5, 1);
  for (spec.seed = 1;; ++spec.seed) {
    auto w = Workload::build(spec);
    ASSERT_TRUE(w.ok());
    const RecipientSet& first = (*w)->recipient_sets()[0];
    if (first.unknown[0] + first.unknown[1] == 1) break;
  }
  Fixture f(spec);
  const RecipientSet& set = f.workload->recipient_sets()[0];
  ASSERT_EQ(set.rcpts(), 2u);
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.port.take();
  std::string replies = "250 2.1.0 Ok\r\n";
  for (uint32_t i = 0; i < set.rcpts(); ++i) replies += set.unknown[i] ? "550 5.1.1 Unknown\r\n" : "250 2.1.5 Ok\r\n";
  replies += "354 go\r\n";
  f.server(replies);
  EXPECT_EQ(f.counters.rcpt_accepted + f.counters.rcpt_refused, 2u);
  EXPECT_EQ(f.port.take(), f.message());
  f.server("250 2.0.0 Ok\r\n");  // one accepted recipient: one reply completes the message
  EXPECT_EQ(f.counters.messages_completed, 1u);
  EXPECT_EQ(f.counters.unknown_refused, 1u);
  EXPECT_EQ(f.counters.rcpt_accepted, 1u);
  EXPECT_EQ(f.counters.wrong_replies(), 0u);
  EXPECT_EQ(f.port.take(), "QUIT\r\n");
}

TEST(ClientSession, PerRecipientRepliesAreCountedByClass) {
  Fixture f(spec_for(3, 0, 1));
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.server("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  f.server("250 2.0.0 ok\r\n451 4.3.0 later\r\n");
  EXPECT_EQ(f.counters.messages_completed, 0u);  // three replies due
  f.server("554 5.4.6 loop\r\n");
  EXPECT_EQ(f.counters.messages_completed, 1u);
  EXPECT_EQ(f.counters.messages_all_2xx, 0u);
  EXPECT_EQ(f.counters.data_replies_2xx, 1u);
  EXPECT_EQ(f.counters.data_replies_4xx, 1u);
  EXPECT_EQ(f.counters.data_replies_5xx, 1u);
}

TEST(ClientSession, EveryRecipientRefusedMeansNoBody) {
  Fixture f(spec_for(1, 1.0, 2));
  f.server(kGreeting);
  f.port.take();
  f.server(kLhloPipelining);
  EXPECT_EQ(f.port.take(), "MAIL FROM:<b@x.org> SIZE=400\r\nRCPT TO:<no-such-list-0@lists.example.org>\r\nDATA\r\n");
  f.server("250 ok\r\n550 5.1.1 no such list\r\n503 5.5.1 no valid recipients\r\n");
  EXPECT_EQ(f.counters.messages_no_recipient, 1u);
  EXPECT_EQ(f.counters.messages_sent, 0u);
  EXPECT_EQ(f.counters.unknown_refused, 1u);
  // No body; the server still holds the transaction: RSET, and the next envelope behind it.
  EXPECT_EQ(f.port.take(),
            "RSET\r\nMAIL FROM:<b@x.org> SIZE=400\r\nRCPT TO:<no-such-list-0@lists.example.org>\r\nDATA\r\n");
  EXPECT_EQ(f.session->in_flight(), 2u);
  f.server("250 2.0.0 Ok\r\n250 ok\r\n550 5.1.1 no\r\n503 5.5.1 no\r\n");
  EXPECT_EQ(f.counters.messages_no_recipient, 2u);
  EXPECT_EQ(f.port.take(), "RSET\r\n");  // the budget (2) is spent
  f.server("250 2.0.0 Ok\r\n");
  EXPECT_EQ(f.port.take(), "QUIT\r\n");
  EXPECT_EQ(f.counters.wrong_replies(), 0u);
  EXPECT_EQ(f.counters.errors(), 0u);
}

TEST(ClientSession, RsetWaitsForItsReplyWithoutOverlap) {
  Fixture f(spec_for(1, 1.0, 0), /*overlap=*/false);
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.port.take();
  f.server("250 ok\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n");
  EXPECT_EQ(f.port.take(), "RSET\r\n");
  f.server("250 2.0.0 Ok\r\n");
  EXPECT_EQ(f.port.take(), "MAIL FROM:<b@x.org> SIZE=400\r\nRCPT TO:<no-such-list-0@lists.example.org>\r\nDATA\r\n");
  f.server("250 ok\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n500 5.5.1 what\r\n");
  EXPECT_EQ(f.counters.protocol_errors, 1u);  // RSET refused
  EXPECT_TRUE(f.session->done());
}

TEST(ClientSession, WrongRepliesAreCounted) {
  Fixture f(spec_for(1, 0, 2));
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.server("250 ok\r\n550 5.1.1 unknown\r\n554 5.5.1 no recipients\r\n");  // a known address refused
  EXPECT_EQ(f.counters.known_refused, 1u);
  EXPECT_EQ(f.counters.wrong_replies(), 1u);
  f.server("250 2.0.0 Ok\r\n");                              // RSET
  f.server("451 4.3.0 not now\r\n250 ok\r\n354 go\r\n");  // MAIL refused, RCPT accepted anyway
  EXPECT_EQ(f.counters.mail_refused, 1u);
  EXPECT_EQ(f.port.errors.size(), 2u);
}

TEST(ClientSession, OneCommandAtATimeWithoutPipelining) {
  Fixture f(spec_for(2, 0, 1));
  f.server(kGreeting);
  f.port.take();
  f.server(kLhloPlain);
  EXPECT_FALSE(f.session->pipelining());
  EXPECT_EQ(f.port.take(), "MAIL FROM:<b@x.org> SIZE=400\r\n");
  f.server("250 ok\r\n");
  EXPECT_EQ(f.port.take(), "RCPT TO:<dev@lists.example.org>\r\n");
  f.server("250 ok\r\n");
  EXPECT_EQ(f.port.take(), "RCPT TO:<announce@lists.example.org>\r\n");
  f.server("250 ok\r\n");
  EXPECT_EQ(f.port.take(), "DATA\r\n");
  f.server("354 go\r\n");
  EXPECT_EQ(f.port.take(), f.message());  // no overlap without pipelining
  f.server("250 ok\r\n250 ok\r\n");
  EXPECT_EQ(f.counters.messages_completed, 1u);
  EXPECT_EQ(f.port.take(), "QUIT\r\n");
}

TEST(ClientSession, MalformedReplyIsAProtocolError) {
  Fixture f(spec_for(1, 0, 0));
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.server("250 ok\r\nhello there\r\n250 never read\r\n");
  EXPECT_TRUE(f.session->done());
  EXPECT_EQ(f.counters.protocol_errors, 1u);
  EXPECT_EQ(f.counters.unfinished, 1u);
  EXPECT_EQ(f.port.closes, 1);
  EXPECT_EQ(f.counters.rcpt_accepted, 0u);
}

TEST(ClientSession, A421EndsTheSession) {
  Fixture f(spec_for(1, 0, 0));
  f.server("421 4.3.2 too many connections\r\n");
  EXPECT_TRUE(f.session->done());
  EXPECT_EQ(f.counters.connect_failures, 1u);
  EXPECT_EQ(f.port.closes, 1);

  Fixture g(spec_for(1, 0, 0));
  g.server(kGreeting);
  g.server(kLhloPipelining);
  g.server("421 4.4.2 idle\r\n");
  EXPECT_EQ(g.counters.protocol_errors, 1u);
  EXPECT_EQ(g.counters.unfinished, 1u);
}

TEST(ClientSession, LostConnectionCountsWhatWasInFlight) {
  Fixture f(spec_for(1, 0, 0));
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.server("250 ok\r\n250 ok\r\n354 go\r\n");  // body 1 and envelope 2 in flight
  f.session->on_peer_closed(0);
  EXPECT_TRUE(f.session->done());
  EXPECT_EQ(f.counters.connections_lost, 1u);
  EXPECT_EQ(f.counters.unfinished, 2u);
  EXPECT_EQ(f.counters.errors(), 1u);
  f.server("250 ok\r\n");  // ignored after the end
  EXPECT_EQ(f.counters.messages_completed, 0u);
}

TEST(ClientSession, GiveUpAndConnectFailure) {
  Fixture f(spec_for(1, 0, 0));
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.session->give_up();
  EXPECT_EQ(f.counters.connections_given_up, 1u);
  EXPECT_EQ(f.counters.unfinished, 1u);
  EXPECT_EQ(f.port.closes, 1);

  Fixture g(spec_for(1, 0, 0));
  g.session->on_connect_failed("Connection refused");
  EXPECT_TRUE(g.session->done());
  EXPECT_EQ(g.counters.connect_failures, 1u);
  EXPECT_EQ(g.port.errors, std::vector<std::string>{"connect: Connection refused"});
}

TEST(ClientSession, QuitWithoutReplyIsFine) {
  Fixture f(spec_for(1, 0, 1));
  f.server(kGreeting);
  f.server(kLhloPipelining);
  f.server("250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n");
  EXPECT_EQ(f.session->state(), ClientSession::State::quitting);
  f.session->on_peer_closed(0);
  EXPECT_TRUE(f.session->done());
  EXPECT_EQ(f.counters.errors(), 0u);
}

}  // namespace
}  // namespace listgate::loadbench
