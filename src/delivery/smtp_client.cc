// smtp_client.cc - the outbound SMTP/LMTP machine (see smtp_client.h).
//
// Two states, kept apart as in Postfix's smtp_proto.c:
//  - the send state is the job's SendStep (and which RCPT is next); it moves
//    on whenever it may: at once under PIPELINING, else only when no reply
//    is outstanding;
//  - the receive state is `expect`, the queue of replies still owed, each
//    tagged with the command (and recipient) it answers.
// Every reply pops the head of the queue; its handler records results and
// may queue more output (the body after 354), then the send state advances
// and the job completes once nothing is owed and nothing is left to send.
// Any failure goes through fail(), which answers every open recipient.
//
// Jobs in flight are a queue too. Replies come back in the order commands
// went out, and each job's commands go out together, so every transaction
// reply belongs to the oldest job (which counts what it is still owed);
// new jobs are sent behind it only when it went out whole (BDAT).
#include "listgate/delivery/smtp_client.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "listgate/delivery/smtp_auth.h"
#include "listgate/delivery/smtp_body.h"
#include "smtp_commands.h"

namespace listgate::delivery {
namespace {

constexpr int kGreetingOk = 220;
constexpr int kAuthOk = 235;
constexpr int kAuthContinue = 334;
constexpr int kStartMailInput = 354;
constexpr int kServiceClosing = 421;

constexpr std::string_view kDotLine = ".\r\n";

// Replies the client makes up itself, in one place.
struct LocalReply {
  int code;
  std::string_view enhanced;
  std::string_view text;
  Reply make() const { return make_reply(code, enhanced, text); }
};
constexpr LocalReply kBadSender{501, "5.1.7", "bad sender address syntax"};
constexpr LocalReply kBadRecipient{501, "5.1.3", "bad recipient address syntax"};
constexpr LocalReply kNeedsSmtputf8{550, "5.6.7", "SMTPUTF8 is required, but was not offered by the upstream"};
constexpr LocalReply kTooBig{552, "5.3.4", "message size exceeds fixed maximum message size of the upstream"};
constexpr LocalReply kNoAuth{454, "4.7.0", "upstream offers no AUTH PLAIN or LOGIN"};
// Texts of the synthetic 451 4.4.2 results.
constexpr std::string_view kLost = "connection lost";
constexpr std::string_view kConnectFailed = "connection failed: ";
constexpr std::string_view kProtocolError = "upstream protocol error: ";
constexpr std::string_view kRsetRefused = "upstream refused RSET: ";
constexpr std::string_view kNoFinalReply = "no final reply from upstream";

enum class SendStep : uint8_t { rset, mail, rcpt, data, done };

struct Expect {
  // Handshake kinds come before rset; the order matters (see on_reply).
  enum class Kind : uint8_t {
    greeting,
    hello,            // EHLO or LHLO
    helo,             // HELO after a refused EHLO
    auth_plain,       // AUTH PLAIN <initial response>
    auth_login_user,  // AUTH LOGIN: 334 asks for the user
    auth_login_pass,  // 334 asks for the password
    auth_done,        // 235 after the password
    rset,
    mail,
    rcpt,
    data,
    dot,              // SMTP: the one reply after the final dot
    dot_lmtp,         // LMTP: one reply per accepted recipient
    dot_discard,      // after an empty DATA phase nobody asked for
    bdat_last,        // SMTP: the one reply to BDAT ... LAST
    quit,
  };
  Kind kind;
  uint32_t recipient = 0;  // rcpt, dot_lmtp: index into Job::recipients
};

struct ActiveJob {
  Job job;
  std::string header_prefix;       // as it goes out: wire form (DATA) or CRLF lines (BDAT)
  ReplyList results;
  std::vector<bool> answered;
  std::vector<uint32_t> to_send;   // recipients that get a RCPT, in order
  std::vector<uint32_t> accepted;  // RCPT accepted, in order
  size_t next_rcpt = 0;
  size_t dots_owed = 0;
  size_t replies_owed = 0;         // expected replies of this job not in yet
  SendStep step = SendStep::mail;
  uint64_t size = 0;
  bool bdat = false;               // the message goes out with BDAT, not DATA
  bool smtputf8 = false;
  bool mail_sent = false;
  bool mail_accepted = false;
  bool mail_refused = false;
  bool dot_done = false;
  bool synthetic = false;
};

Reply synthetic(std::string_view text) { return make_reply(kSyntheticTempCode, kSyntheticTempStatus, text); }

}  // namespace

std::string_view to_string(ClientState s) {
  switch (s) {
    case ClientState::connecting: return "connecting";
    case ClientState::greeting: return "greeting";
    case ClientState::hello: return "hello";
    case ClientState::ready: return "ready";
    case ClientState::busy: return "busy";
    case ClientState::closing: return "closing";
    case ClientState::closed: return "closed";
    case ClientState::failed: return "failed";
  }
  return "unknown";
}

struct SmtpClient::Impl {
  Impl(ClientConfig c, ClientCounters& k) : config(std::move(c)), counters(k) {}

  ClientConfig config;
  ClientCounters& counters;
  ClientState state = ClientState::connecting;
  ReplyParser parser;
  std::deque<Expect> expect;
  OutputQueue out;
  OutputQueue message;  // scratch: a BDAT message, measured before its command goes out
  std::string line;     // scratch for one command group
  std::vector<JobResult> results;
  Extensions ext;
  Reply failure;
  std::optional<Job> waiting;   // submitted before the handshake was done
  std::deque<ActiveJob> jobs;   // in flight, oldest first
  uint32_t transactions = 0;
  bool dirty = false;  // the server may still be inside a transaction: RSET first
  bool quit_requested = false;

  bool finished() const { return state == ClientState::closed || state == ClientState::failed; }
  bool lmtp() const { return config.protocol == Protocol::lmtp; }
  // Whole transactions may be sent behind one another: BDAT has no 354 to
  // wait for, so a job goes out in one piece (RFC 3030 with RFC 2920).
  bool chunked() const { return !lmtp() && ext.chunking && ext.pipelining; }

  // One command line (never a view of `line` itself).
  void send(std::string_view command, Expect e) {
    line.clear();
    commands::append_line(line, command);
    out.append(line);
    expect.push_back(e);
  }
  // A transaction command's reply, owed by job `j`.
  void owe(ActiveJob& j, Expect e) {
    expect.push_back(e);
    ++j.replies_owed;
  }

  // --- recipients and results ---

  static void answer(ActiveJob& j, uint32_t i, const Reply& r) {
    if (j.answered[i]) return;
    j.results.set(i, j.results.add(r));
    j.answered[i] = true;
  }
  // Recipients answered alike share one stored copy of the reply: the final
  // dot answers every accepted member of a fan-out transaction.
  static constexpr uint32_t kNotStored = UINT32_MAX;
  static void answer_shared(ActiveJob& j, uint32_t i, const Reply& r, uint32_t& handle) {
    if (j.answered[i]) return;
    if (handle == kNotStored) handle = j.results.add(r);
    j.results.set(i, handle);
    j.answered[i] = true;
  }
  static void answer_open(ActiveJob& j, const Reply& r) {
    uint32_t handle = kNotStored;
    for (uint32_t i = 0; i < j.results.size(); ++i) answer_shared(j, i, r, handle);
  }
  static void answer_accepted(ActiveJob& j, const Reply& r) {
    uint32_t handle = kNotStored;
    for (uint32_t i : j.accepted) answer_shared(j, i, r, handle);
  }

  // --- failure ---

  // The connection is given up. `reason` is what failure() reports; open
  // recipients of every job get `for_recipients`. A polite failure (the
  // server is sane but refused us) says QUIT; the owner closes after
  // flushing either way. Output queued before the failure stays: what the
  // owner sends does not depend on whether it drained before or after the
  // bad reply arrived.
  void fail(const Reply& reason, const Reply& for_recipients, bool polite) {
    failure = reason;
    state = ClientState::failed;
    ++counters.connection_failures;
    expect.clear();
    if (polite) {
      line.clear();
      commands::append_line(line, commands::kQuit);
      out.append(line);
    }
    if (waiting) jobs.push_back(make_active(std::move(*waiting)));
    waiting.reset();
    while (!jobs.empty()) {
      ActiveJob& j = jobs.front();
      for (uint32_t i = 0; i < j.results.size(); ++i) {
        if (!j.answered[i]) j.synthetic = true;
      }
      answer_open(j, for_recipients);
      complete_front();
    }
  }
  void refused(const Reply& r) { fail(r, synthetic(std::string(kConnectFailed) + r.line()), true); }
  void protocol_error(std::string_view what) {
    ++counters.protocol_errors;
    const Reply r = synthetic(std::string(kProtocolError) + std::string(what));
    fail(r, r, false);
  }

  // --- handshake ---

  void on_connected() {
    state = ClientState::greeting;
    expect.push_back({Expect::Kind::greeting});
  }

  void send_hello(bool helo) {
    state = ClientState::hello;
    line.clear();
    commands::append_hello(line, config.protocol, helo, config.helo_name);
    out.append(line);
    expect.push_back({helo ? Expect::Kind::helo : Expect::Kind::hello});
  }

  void after_hello() {
    if (config.auth_user.empty() || config.auth_password.empty()) {
      become_ready();
      return;
    }
    switch (choose_auth(ext)) {
      case AuthMechanism::plain:
        send(std::string(commands::kAuthPlain) + auth_plain_response(config.auth_user, config.auth_password),
             {Expect::Kind::auth_plain});
        return;
      case AuthMechanism::login:
        send(commands::kAuthLogin, {Expect::Kind::auth_login_user});
        return;
      case AuthMechanism::none:
        break;
    }
    refused(kNoAuth.make());
  }

  void become_ready() {
    state = ClientState::ready;
    if (waiting) {
      Job job = std::move(*waiting);
      waiting.reset();
      launch(std::move(job));
    } else if (quit_requested) {
      send_quit();
    }
  }

  void send_quit() {
    state = ClientState::closing;
    send(commands::kQuit, {Expect::Kind::quit});
  }

  // --- jobs ---

  static ActiveJob make_active(Job&& job) {
    ActiveJob j;
    j.job = std::move(job);
    j.results.reset(j.job.recipients.size());
    j.answered.assign(j.job.recipients.size(), false);
    return j;
  }

  // Takes a job; it starts at once when the connection is ready (or has
  // jobs in flight), else when the handshake is done (or is answered by a
  // failure before that).
  void accept_job(Job&& next) {
    if (state == ClientState::ready || state == ClientState::busy) {
      launch(std::move(next));
    } else {
      waiting.emplace(std::move(next));
    }
  }

  // Checks the job against what the server can take; a job that cannot go
  // out at all completes at once, else it is sent (behind the jobs in flight).
  void launch(Job&& next) {
    ActiveJob j = make_active(std::move(next));
    if (!prepare(j)) {
      finish(j);
      if (jobs.empty()) after_last_job();
      return;
    }
    // Behind a job still in flight nobody knows yet whether its transaction
    // ended (a refused BDAT may leave it open): RSET first, in the same write.
    j.step = (dirty || !jobs.empty()) ? SendStep::rset : SendStep::mail;
    state = ClientState::busy;
    jobs.push_back(std::move(j));
    send_commands(jobs.back());
  }

  // One pass per address: syntax and SMTPUTF8 (the fan-out's per-member
  // cost); then SMTPUTF8 and SIZE against the server. False when nothing
  // is left to send (every recipient answered).
  bool prepare(ActiveJob& j) {
    const size_t n = j.job.recipients.size();
    const commands::PathCheck sender = commands::check_path(j.job.sender);
    if (!sender.valid) {
      answer_open(j, kBadSender.make());
      return false;
    }
    bool non_ascii = sender.non_ascii;
    j.to_send.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      const commands::PathCheck c = commands::check_path(j.job.recipients[i]);
      non_ascii |= c.non_ascii;
      if (c.valid) {
        j.to_send.push_back(i);
      } else {
        answer(j, i, kBadRecipient.make());
      }
    }
    j.accepted.reserve(j.to_send.size());
    j.smtputf8 = j.job.smtputf8 || non_ascii;
    j.bdat = chunked() && !j.job.bare_newlines;
    j.header_prefix = j.bdat ? chunk_header_prefix(j.job.header_prefix) : wire_header_prefix(j.job.header_prefix);
    // The wire-form body: exact for DATA, a slight overestimate for BDAT.
    j.size = j.header_prefix.size() + (j.job.body ? io::total_length(*j.job.body) : 0);
    if (j.to_send.empty()) return false;
    if (j.smtputf8 && !ext.smtputf8) {
      answer_open(j, kNeedsSmtputf8.make());
      return false;
    }
    if (ext.size && ext.size_limit != 0 && j.size > ext.size_limit) {
      answer_open(j, kTooBig.make());
      return false;
    }
    return true;
  }

  // The send state of the newest job: sends what may be sent now.
  void send_commands(ActiveJob& j) {
    line.clear();
    while (j.step != SendStep::done) {
      if (!ext.pipelining && !expect.empty()) break;
      switch (j.step) {
        case SendStep::rset:
          commands::append_line(line, commands::kRset);
          owe(j, {Expect::Kind::rset});
          j.step = SendStep::mail;
          break;
        case SendStep::mail: {
          commands::MailParameters p;
          p.size = ext.size;
          p.size_value = j.size;
          p.body_8bitmime = j.job.body_8bit && ext.eightbitmime;
          p.smtputf8 = j.smtputf8;
          p.xverp = j.job.xverp && ext.xverp;
          commands::append_mail(line, j.job.sender, p);
          owe(j, {Expect::Kind::mail});
          j.mail_sent = true;
          ++transactions;
          ++counters.transactions;
          j.step = SendStep::rcpt;
          break;
        }
        case SendStep::rcpt:
          if (j.mail_refused) {
            j.step = SendStep::done;
          } else if (j.next_rcpt < j.to_send.size() && ext.pipelining) {
            // The whole group at once (RFC 2920), in one growth of `line`.
            const std::span<const uint32_t> rest(j.to_send.data() + j.next_rcpt, j.to_send.size() - j.next_rcpt);
            commands::append_rcpts(line, j.job.recipients, rest);
            for (uint32_t i : rest) expect.push_back({Expect::Kind::rcpt, i});
            j.replies_owed += rest.size();
            j.next_rcpt = j.to_send.size();
          } else if (j.next_rcpt < j.to_send.size()) {
            const uint32_t i = j.to_send[j.next_rcpt++];
            commands::append_rcpt(line, j.job.recipients[i]);
            owe(j, {Expect::Kind::rcpt, i});
          } else {
            j.step = SendStep::data;
          }
          break;
        case SendStep::data:
          if (j.bdat) {
            send_chunk(j);
            j.step = SendStep::done;
            break;
          }
          // Without PIPELINING the RCPT replies are in: no DATA for nobody.
          if (!ext.pipelining && j.accepted.empty()) {
            j.step = SendStep::done;
            break;
          }
          commands::append_line(line, commands::kData);
          owe(j, {Expect::Kind::data});
          j.step = SendStep::done;
          break;
        case SendStep::done:
          break;
      }
    }
    out.append(std::move(line));
    line.clear();  // moved from: valid, emptied here for the next group
  }

  // "BDAT <size> LAST" and the message, as one chunk, right behind the
  // RCPTs: if every RCPT is refused the server reads the chunk and refuses
  // it (RFC 3030 2), which costs bytes but no round trip.
  void send_chunk(ActiveJob& j) {
    message.clear();
    const BodyStats s = append_unstuffed_message(message, j.header_prefix, j.job.body);
    count_body(s);
    ++counters.chunked;
    commands::append_bdat_last(line, message.size());
    out.append(std::move(line));
    line.clear();
    out.append(std::move(message));
    owe(j, {Expect::Kind::bdat_last});
  }

  void count_body(const BodyStats& s) {
    counters.body_bytes_referenced += s.referenced;
    counters.body_bytes_copied += s.copied;
    counters.body_bytes_inserted += s.inserted;
  }

  // After a reply: the oldest job sends what it may now (one job at a
  // time without PIPELINING), and completes once it owes nothing.
  void advance() {
    if (jobs.empty() || state != ClientState::busy) return;
    ActiveJob& j = jobs.front();
    if (j.step != SendStep::done) send_commands(j);  // else nothing is left to send
    if (j.step == SendStep::done && j.replies_owed == 0) {
      complete_front();
      if (jobs.empty() && state == ClientState::busy) after_last_job();
    }
  }

  // Never leaves a hole, then hands the result out.
  void finish(ActiveJob& j) {
    for (uint32_t i = 0; i < j.results.size(); ++i) {
      if (!j.answered[i]) {  // not reachable by the protocol paths
        j.synthetic = true;
        answer(j, i, synthetic(kNoFinalReply));
      }
    }
    results.push_back(JobResult{j.job.id, std::move(j.results), j.synthetic});
  }

  void complete_front() {
    ActiveJob& j = jobs.front();
    if (j.mail_sent) dirty = j.mail_accepted && !j.dot_done;
    finish(j);
    jobs.pop_front();
  }

  // Idle again: QUIT when asked to or when the connection has carried its
  // share of transactions.
  void after_last_job() {
    if (state != ClientState::busy && state != ClientState::ready) return;  // failed
    state = ClientState::ready;
    if (quit_requested || (config.max_transactions != 0 && transactions >= config.max_transactions)) send_quit();
  }

  // After 354: the message, or an empty one when nobody was accepted.
  void on_go_ahead(ActiveJob& j) {
    if (!j.accepted.empty()) {
      count_body(append_message(out, j.header_prefix, j.job.body, j.job.bare_newlines));
      if (lmtp()) {
        for (uint32_t i : j.accepted) owe(j, {Expect::Kind::dot_lmtp, i});
        j.dots_owed = j.accepted.size();
      } else {
        owe(j, {Expect::Kind::dot});
      }
      return;
    }
    if (lmtp()) {
      protocol_error("354 to DATA with no accepted recipient");
      return;
    }
    out.append(kDotLine);
    owe(j, {Expect::Kind::dot_discard});
  }

  // --- the receive state ---

  void on_reply(const Reply& r) {
    if (expect.empty()) {
      protocol_error("reply when none was expected");
      return;
    }
    const Expect e = expect.front();
    expect.pop_front();
    if (e.kind == Expect::Kind::quit) {
      state = ClientState::closed;
      expect.clear();
      return;
    }
    if (r.code == kServiceClosing) {
      fail(r, r, false);
      return;
    }
    if (e.kind < Expect::Kind::rset) {
      on_handshake_reply(e, r);
      return;
    }
    if (jobs.empty()) {  // a transaction reply is only ever expected for a job
      protocol_error("reply when none was expected");
      return;
    }
    ActiveJob& j = jobs.front();
    --j.replies_owed;
    on_transaction_reply(j, e, r);
    if (!finished()) advance();
  }

  // Greeting, EHLO/HELO/LHLO and AUTH: a refusal fails the connection.
  void on_handshake_reply(const Expect& e, const Reply& r) {
    switch (e.kind) {
      case Expect::Kind::greeting:
        if (r.code != kGreetingOk) return refused(r);
        return send_hello(false);
      case Expect::Kind::hello:
        if (r.positive()) {
          ext = parse_extensions(parser.lines());
          return after_hello();
        }
        if (!lmtp() && r.permanent()) return send_hello(true);
        return refused(r);
      case Expect::Kind::helo:
        if (!r.positive()) return refused(r);
        ext = Extensions{};
        return after_hello();
      case Expect::Kind::auth_plain:
      case Expect::Kind::auth_done:
        if (r.code != kAuthOk) return refused(r);
        return become_ready();
      case Expect::Kind::auth_login_user:
        if (r.code != kAuthContinue) return refused(r);
        return send(base64_encode(config.auth_user), {Expect::Kind::auth_login_pass});
      case Expect::Kind::auth_login_pass:
        if (r.code != kAuthContinue) return refused(r);
        return send(base64_encode(config.auth_password), {Expect::Kind::auth_done});
      default:
        return;
    }
  }

  // RSET, MAIL, RCPT, DATA, BDAT and the final dot: replies become results.
  // A 3xx where none belongs means the reply queue and the server disagree.
  void on_transaction_reply(ActiveJob& j, const Expect& e, const Reply& r) {
    switch (e.kind) {
      case Expect::Kind::rset:
        if (!r.positive()) return fail(r, synthetic(std::string(kRsetRefused) + r.line()), false);
        dirty = false;
        return;
      case Expect::Kind::mail:
        if (r.intermediate()) return protocol_error("3xx reply to MAIL");
        if (r.positive()) {
          j.mail_accepted = true;
        } else {
          j.mail_refused = true;
          answer_open(j, r);
        }
        return;
      case Expect::Kind::rcpt:
        if (j.mail_refused) return;  // answered by the MAIL reply
        if (r.intermediate()) return protocol_error("3xx reply to RCPT");
        if (r.positive()) {
          j.accepted.push_back(e.recipient);
        } else {
          answer(j, e.recipient, r);
        }
        return;
      case Expect::Kind::data:
        if (r.code == kStartMailInput) return on_go_ahead(j);
        if (r.positive() || r.intermediate()) return protocol_error("unexpected reply to DATA");
        answer_accepted(j, r);
        return;
      case Expect::Kind::dot:
        if (r.intermediate()) return protocol_error("3xx reply after the final dot");
        answer_accepted(j, r);
        j.dot_done = true;
        return;
      case Expect::Kind::bdat_last:
        if (r.intermediate()) return protocol_error("3xx reply to BDAT");
        // MAIL refused: the RCPTs and the chunk were refused with it.
        if (!j.mail_refused) answer_accepted(j, r);
        j.dot_done = r.positive();  // a refused chunk may leave the transaction open
        return;
      case Expect::Kind::dot_lmtp:
        if (r.intermediate()) return protocol_error("3xx reply after the final dot");
        answer(j, e.recipient, r);
        if (--j.dots_owed == 0) j.dot_done = true;
        return;
      case Expect::Kind::dot_discard:
        if (r.intermediate()) return protocol_error("3xx reply after the final dot");
        j.dot_done = true;
        return;
      default:
        return;
    }
  }

  void on_received(std::string_view bytes) {
    if (finished()) return;
    if (state == ClientState::connecting) {
      protocol_error("bytes before the connection was up");
      return;
    }
    while (!bytes.empty() && !finished()) {
      if (accept_rcpt_run(bytes)) continue;
      const ReplyParser::Status st = parser.feed(bytes);
      if (st == ReplyParser::Status::need_more) return;
      if (st == ReplyParser::Status::error) {
        protocol_error(parser.error());
        return;
      }
      on_reply(parser.take());
    }
  }

  // The fan-out's common case, without the general parser: a run of
  // one-line 2xx replies to pipelined RCPTs, each whole in `bytes` (one per
  // member). Does what on_reply() would; anything else (another code, a
  // multi-line reply, a line split across reads, a malformed one) is left
  // to the parser. Returns whether it took any.
  bool accept_rcpt_run(std::string_view& bytes) {
    if (jobs.empty() || jobs.front().mail_refused || !parser.idle()) return false;
    ActiveJob& j = jobs.front();
    size_t taken = 0;
    while (!bytes.empty() && !expect.empty() && expect.front().kind == Expect::Kind::rcpt) {
      const size_t lf = find_lf(bytes);
      if (lf == std::string_view::npos) break;
      const size_t length = lf + 1;
      if (!positive_reply_line(bytes.substr(0, length))) break;
      j.accepted.push_back(expect.front().recipient);
      expect.pop_front();
      --j.replies_owed;
      bytes.remove_prefix(length);
      ++taken;
    }
    if (taken == 0) return false;
    advance();
    return true;
  }

  // Where the first LF in `bytes` is (a reply line is longer than
  // kMaxReplyLine: npos). Most reply lines of a fan-out ("250 2.1.5 Ok")
  // end within sixteen bytes: one vector compare, no call.
  static size_t find_lf(std::string_view bytes) {
#if defined(__SSE2__)
    if (bytes.size() >= sizeof(__m128i)) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes.data()));
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));
      if (mask != 0) return static_cast<size_t>(__builtin_ctz(mask));
    }
#endif
    const void* lf = std::memchr(bytes.data(), '\n', std::min(bytes.size(), kMaxReplyLine + 2));
    return lf == nullptr ? std::string_view::npos : static_cast<size_t>(static_cast<const char*>(lf) - bytes.data());
  }

  // "2xx text" ending in LF, or "2xx" alone: a complete, final, positive
  // reply line as the parser reads it.
  static bool positive_reply_line(std::string_view line) {
    if (line.size() < 4 || line[0] != '2' || line[1] < '0' || line[1] > '5' || line[2] < '0' || line[2] > '9') {
      return false;
    }
    const size_t line_end = line.ends_with("\r\n") ? 2 : 1;
    if (line.size() - line_end > kMaxReplyLine) return false;  // the parser's limit, and its error
    const std::string_view rest = line.substr(3);
    return rest[0] == ' ' || rest == "\n" || rest == "\r\n";
  }
};

SmtpClient::SmtpClient(ClientConfig config, ClientCounters& counters)
    : impl_(std::make_unique<Impl>(std::move(config), counters)) {}

SmtpClient::~SmtpClient() = default;

void SmtpClient::connected() {
  if (impl_->state == ClientState::connecting) impl_->on_connected();
}

void SmtpClient::received(std::string_view bytes) { impl_->on_received(bytes); }

Result<void> SmtpClient::submit(Job job) {
  if (!can_submit()) {
    const Impl& m = *impl_;
    const bool taken = m.waiting || !m.jobs.empty();
    return make_error(taken ? "a job is in progress" : "connection is " + std::string(to_string(m.state)));
  }
  impl_->accept_job(std::move(job));
  return {};
}

void SmtpClient::quit() {
  Impl& m = *impl_;
  switch (m.state) {
    case ClientState::closing:
    case ClientState::closed:
    case ClientState::failed:
      return;
    case ClientState::ready:
      m.send_quit();
      return;
    case ClientState::connecting:
      if (!m.waiting) {
        m.state = ClientState::closed;
        return;
      }
      m.quit_requested = true;
      return;
    case ClientState::greeting:
    case ClientState::hello:
    case ClientState::busy:
      m.quit_requested = true;
      return;
  }
}

void SmtpClient::connection_lost() {
  Impl& m = *impl_;
  if (m.finished()) return;
  if (m.state == ClientState::closing) {
    m.state = ClientState::closed;
    m.expect.clear();
    m.out.clear();
    return;
  }
  const Reply r = synthetic(kLost);
  m.fail(r, r, false);
  m.out.clear();  // nowhere to send it
}

std::vector<OutSegment> SmtpClient::take_output() { return impl_->out.take(); }
bool SmtpClient::has_output() const { return !impl_->out.empty(); }

std::vector<JobResult> SmtpClient::take_results() { return std::exchange(impl_->results, {}); }
bool SmtpClient::has_results() const { return !impl_->results.empty(); }

ClientState SmtpClient::state() const { return impl_->state; }

bool SmtpClient::wants_close() const {
  const ClientState s = impl_->state;
  return s == ClientState::closing || s == ClientState::closed || s == ClientState::failed;
}

bool SmtpClient::can_submit() const {
  const Impl& m = *impl_;
  if (m.quit_requested) return false;
  if (m.config.max_transactions != 0 && m.transactions >= m.config.max_transactions) return false;
  switch (m.state) {
    case ClientState::connecting:
    case ClientState::greeting:
    case ClientState::hello:
      return !m.waiting;
    case ClientState::ready:
      return true;
    case ClientState::busy:
      // Behind jobs that went out whole (BDAT), up to the configured depth.
      return m.chunked() && m.jobs.size() < m.config.pipeline_depth && m.jobs.back().bdat;
    default:
      return false;
  }
}

const Extensions& SmtpClient::extensions() const { return impl_->ext; }
const Reply& SmtpClient::failure() const { return impl_->failure; }
uint32_t SmtpClient::transactions() const { return impl_->transactions; }

}  // namespace listgate::delivery
