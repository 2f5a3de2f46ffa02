// client_session.cc - see client_session.h.
#include "client_session.h"

#include <cstring>
#include <string>

#include "listgate/base/concat.h"

namespace listgate::loadbench {
namespace {

bool is_2xx(uint16_t code) { return code >= 200 && code < 300; }

// "250-PIPELINING" or "250 PIPELINING" (any case, maybe with parameters).
bool names_pipelining(std::string_view line) {
  if (line.size() < 4) return false;
  std::string_view word = line.substr(4);
  word = word.substr(0, word.find(' '));
  constexpr std::string_view kWord = "PIPELINING";
  if (word.size() != kWord.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != kWord[i]) return false;
  }
  return true;
}

}  // namespace

ClientSession::ClientSession(SessionPort& port, MessageSource& source, LoadCounters& counters,
                             LatencyHistogram& latency, SessionOptions options)
    : port_(port), source_(source), counters_(counters), latency_(latency), options_(std::move(options)) {}

void ClientSession::on_bytes(std::string_view bytes) {
  if (state_ == State::done) return;
  reader_.feed(bytes, [this](const ReplyLine& line) { return on_line(line); });
}

bool ClientSession::on_line(const ReplyLine& line) {
  if (line.code == 0) {
    fail("malformed reply line", line.text);
    return false;
  }
  if (state_ == State::lhlo && names_pipelining(line.text)) pipelining_ = true;
  if (line.last) on_reply(line.code, line.text);
  return state_ != State::done;
}

void ClientSession::on_reply(uint16_t code, std::string_view text) {
  if (code == 421 && state_ != State::quitting) {  // the server is closing the connection
    if (state_ == State::greeting) {
      ++counters_.connect_failures;
      port_.report_error(concat({"greeting: ", text}));
      state_ = State::done;
      port_.close();
      return;
    }
    fail("the server closed the session", text);
    return;
  }
  switch (state_) {
    case State::greeting:
      if (code != 220) {
        ++counters_.connect_failures;
        port_.report_error(concat({"greeting: ", text}));
        state_ = State::done;
        port_.close();
        return;
      }
      port_.send(options_.lhlo);
      state_ = State::lhlo;
      return;
    case State::lhlo:
      if (code != 250) {
        fail("LHLO refused", text);
        return;
      }
      ++counters_.connections_opened;
      state_ = State::transacting;
      continue_or_quit();
      return;
    case State::transacting:
      if (count_ == 0) {
        fail("a reply with no command in flight", text);
        return;
      }
      on_transaction_reply(front(), code, text);
      if (state_ == State::transacting && count_ == 0) continue_or_quit();
      return;
    case State::quitting:
      finish();
      return;
    case State::done:
      return;
  }
}

void ClientSession::on_transaction_reply(Transaction& t, uint16_t code, std::string_view text) {
  const RecipientSet& set = *t.plan.recipients;
  switch (t.phase) {
    case Phase::mail:
      if (!is_2xx(code)) {
        ++counters_.mail_refused;
        port_.report_error(concat({"MAIL refused: ", text}));
      }
      t.phase = Phase::rcpt;
      if (!pipelining_) port_.send(set.line(0));
      return;
    case Phase::rcpt: {
      const bool unknown = set.unknown[t.replies] != 0;
      if (is_2xx(code)) {
        ++t.accepted;
        ++counters_.rcpt_accepted;
        if (unknown) ++counters_.unknown_accepted;
      } else {
        ++counters_.rcpt_refused;
        if (!unknown) {
          ++counters_.known_refused;
          port_.report_error(concat({"RCPT of a known address refused: ", text}));
        } else if (code == 550) {
          ++counters_.unknown_refused;
        } else {
          ++counters_.unknown_not_550;
        }
      }
      ++t.replies;
      if (t.replies == set.rcpts()) t.phase = Phase::data;
      if (!pipelining_) port_.send(set.line(t.replies));  // the next RCPT, or DATA
      return;
    }
    case Phase::data:
      if (code != 354) {
        if (t.accepted > 0) {
          ++counters_.data_refused;
          port_.report_error(concat({"DATA refused: ", text}));
        } else {
          ++counters_.messages_no_recipient;
        }
        t.phase = Phase::rset;
        port_.send(options_.rset);
        if (options_.overlap && pipelining_) start_transaction();
        return;
      }
      if (t.accepted == 0) {
        fail("354 for a transaction without an accepted recipient", text);
        return;
      }
      port_.send(t.plan.body->message);
      t.dot_sent = port_.now();
      t.phase = Phase::dot;
      t.replies = 0;
      ++counters_.messages_sent;
      counters_.body_bytes += t.plan.body->size;
      if (options_.overlap && pipelining_) start_transaction();
      return;
    case Phase::dot:
      if (is_2xx(code)) {
        ++counters_.data_replies_2xx;
      } else {
        t.all_2xx = false;
        if (code >= 500) {
          ++counters_.data_replies_5xx;
        } else {
          ++counters_.data_replies_4xx;
        }
      }
      if (++t.replies == t.accepted) {
        const io::Clock::time_point now = port_.now();
        latency_.record(now - t.dot_sent);
        ++counters_.messages_completed;
        if (t.all_2xx) ++counters_.messages_all_2xx;
        counters_.last_completion = now;
        pop();
      }
      return;
    case Phase::rset:
      if (!is_2xx(code)) {
        fail("RSET refused", text);
        return;
      }
      pop();
      return;
  }
}

bool ClientSession::start_transaction() {
  std::optional<MessagePlan> plan = source_.next_message();
  if (!plan) return false;
  const size_t slot = (head_ + count_) % ring_.size();
  ring_[slot] = Transaction{*plan};
  ++count_;
  ++counters_.messages_started;
  counters_.rcpt_sent += plan->recipients->rcpts();
  port_.send(plan->body->mail_line);
  if (pipelining_) port_.send(plan->recipients->commands);
  return true;
}

void ClientSession::continue_or_quit() {
  if (start_transaction()) return;
  port_.send(options_.quit);
  state_ = State::quitting;
}

void ClientSession::fail(std::string_view what, std::string_view reply) {
  ++counters_.protocol_errors;
  counters_.unfinished += count_;
  port_.report_error(concat({what, ": '", reply.substr(0, 200), "'"}));
  state_ = State::done;
  port_.close();
}

void ClientSession::finish() {
  state_ = State::done;
  port_.close();
}

void ClientSession::on_connect_failed(std::string_view why) {
  if (state_ == State::done) return;
  ++counters_.connect_failures;
  port_.report_error(concat({"connect: ", why}));
  state_ = State::done;
}

void ClientSession::on_peer_closed(int err) {
  if (state_ == State::done) return;
  if (state_ == State::quitting) {  // closed without waiting for the 221: fine
    state_ = State::done;
    return;
  }
  if (state_ == State::greeting) {
    ++counters_.connect_failures;
  } else {
    ++counters_.connections_lost;
  }
  counters_.unfinished += count_;
  port_.report_error(err == 0 ? std::string("the server closed the connection")
                              : concat({"connection broke: ", std::strerror(err)}));
  state_ = State::done;
}

void ClientSession::give_up() {
  if (state_ == State::done) return;
  ++counters_.connections_given_up;
  counters_.unfinished += count_;
  port_.report_error(state_ == State::quitting ? "no reply to QUIT" : "gave up waiting for the server's replies");
  state_ = State::done;
  port_.close();
}

}  // namespace listgate::loadbench
