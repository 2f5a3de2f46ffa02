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
    quit,
  };
  Kind kind;
  uint32_t recipient = 0;  // rcpt, dot_lmtp: index into Job::recipients
};

struct ActiveJob {
  Job job;
  std::string wire_prefix;
  ReplyList results;
  std::vector<bool> answered;
  std::vector<uint32_t> to_send;   // recipients that get a RCPT, in order
  std::vector<uint32_t> accepted;  // RCPT accepted, in order
  size_t next_rcpt = 0;
  size_t dots_owed = 0;
  SendStep step = SendStep::mail;
  uint64_t size = 0;
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
  std::string line;  // scratch for one command group
  std::vector<JobResult> results;
  Extensions ext;
  Reply failure;
  std::optional<ActiveJob> job;
  uint32_t transactions = 0;
  bool dirty = false;  // the server may still be inside a transaction: RSET first
  bool quit_requested = false;

  bool finished() const { return state == ClientState::closed || state == ClientState::failed; }
  bool lmtp() const { return config.protocol == Protocol::lmtp; }

  // One command line (never a view of `line` itself).
  void send(std::string_view command, Expect e) {
    line.clear();
    commands::append_line(line, command);
    out.append(line);
    expect.push_back(e);
  }

  // --- recipients and results ---

  void answer(uint32_t i, const Reply& r) {
    if (job->answered[i]) return;
    job->results.set(i, job->results.add(r));
    job->answered[i] = true;
  }
  // Recipients answered alike share one stored copy of the reply: the final
  // dot answers every accepted member of a fan-out transaction.
  static constexpr uint32_t kNotStored = UINT32_MAX;
  void answer_shared(uint32_t i, const Reply& r, uint32_t& handle) {
    if (job->answered[i]) return;
    if (handle == kNotStored) handle = job->results.add(r);
    job->results.set(i, handle);
    job->answered[i] = true;
  }
  void answer_open(const Reply& r) {
    uint32_t handle = kNotStored;
    for (uint32_t i = 0; i < job->results.size(); ++i) answer_shared(i, r, handle);
  }
  void answer_accepted(const Reply& r) {
    uint32_t handle = kNotStored;
    for (uint32_t i : job->accepted) answer_shared(i, r, handle);
  }

  // --- failure ---

  // The connection is given up. `reason` is what failure() reports; open
  // recipients get `for_recipients`. A polite failure (the server is sane
  // but refused us) says QUIT; the owner closes after flushing either way.
  // Output queued before the failure stays: what the owner sends does not
  // depend on whether it drained before or after the bad reply arrived.
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
    if (job) {
      for (uint32_t i = 0; i < job->results.size(); ++i) {
        if (!job->answered[i]) job->synthetic = true;
      }
      answer_open(for_recipients);
      complete_job();
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
    if (job) {
      start_job();
    } else if (quit_requested) {
      send_quit();
    }
  }

  void send_quit() {
    state = ClientState::closing;
    send(commands::kQuit, {Expect::Kind::quit});
  }

  // --- jobs ---

  // Takes a job; it starts at once when the connection is ready, else
  // when the handshake is done (or is answered by a failure before that).
  void accept_job(Job&& next) {
    job.emplace();
    job->job = std::move(next);
    job->results.reset(job->job.recipients.size());
    job->answered.assign(job->job.recipients.size(), false);
    if (state == ClientState::ready) start_job();
  }

  void start_job() {
    state = ClientState::busy;
    ActiveJob& j = *job;
    const size_t n = j.job.recipients.size();
    const commands::PathCheck sender = commands::check_path(j.job.sender);
    if (!sender.valid) {
      answer_open(kBadSender.make());
      complete_job();
      return;
    }
    // One pass per address: syntax and SMTPUTF8 (the fan-out's per-member cost).
    bool non_ascii = sender.non_ascii;
    j.to_send.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      const commands::PathCheck c = commands::check_path(j.job.recipients[i]);
      non_ascii |= c.non_ascii;
      if (c.valid) {
        j.to_send.push_back(i);
      } else {
        answer(i, kBadRecipient.make());
      }
    }
    j.accepted.reserve(j.to_send.size());
    j.smtputf8 = j.job.smtputf8 || non_ascii;
    j.wire_prefix = wire_header_prefix(j.job.header_prefix);
    j.size = j.wire_prefix.size() + (j.job.body ? io::total_length(*j.job.body) : 0);
    if (j.to_send.empty()) {
      complete_job();
      return;
    }
    if (j.smtputf8 && !ext.smtputf8) {
      answer_open(kNeedsSmtputf8.make());
      complete_job();
      return;
    }
    if (ext.size && ext.size_limit != 0 && j.size > ext.size_limit) {
      answer_open(kTooBig.make());
      complete_job();
      return;
    }
    j.step = dirty ? SendStep::rset : SendStep::mail;
    advance();
  }

  // The send state: sends what may be sent now.
  void send_commands() {
    ActiveJob& j = *job;
    line.clear();
    while (j.step != SendStep::done) {
      if (!ext.pipelining && !expect.empty()) break;
      switch (j.step) {
        case SendStep::rset:
          commands::append_line(line, commands::kRset);
          expect.push_back({Expect::Kind::rset});
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
          expect.push_back({Expect::Kind::mail});
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
            j.next_rcpt = j.to_send.size();
          } else if (j.next_rcpt < j.to_send.size()) {
            const uint32_t i = j.to_send[j.next_rcpt++];
            commands::append_rcpt(line, j.job.recipients[i]);
            expect.push_back({Expect::Kind::rcpt, i});
          } else {
            j.step = SendStep::data;
          }
          break;
        case SendStep::data:
          // Without PIPELINING the RCPT replies are in: no DATA for nobody.
          if (!ext.pipelining && j.accepted.empty()) {
            j.step = SendStep::done;
            break;
          }
          commands::append_line(line, commands::kData);
          expect.push_back({Expect::Kind::data});
          j.step = SendStep::done;
          break;
        case SendStep::done:
          break;
      }
    }
    out.append(std::move(line));
    line.clear();  // moved from: valid, emptied here for the next group
  }

  void advance() {
    if (!job || state != ClientState::busy) return;
    if (job->step != SendStep::done) send_commands();  // else nothing is left to send
    if (job->step == SendStep::done && expect.empty()) complete_job();
  }

  void complete_job() {
    ActiveJob& j = *job;
    for (uint32_t i = 0; i < j.results.size(); ++i) {
      if (!j.answered[i]) {  // not reachable by the protocol paths; never leave a hole
        j.synthetic = true;
        answer(i, synthetic(kNoFinalReply));
      }
    }
    if (j.mail_sent) dirty = j.mail_accepted && !j.dot_done;
    results.push_back(JobResult{j.job.id, std::move(j.results), j.synthetic});
    job.reset();
    if (state != ClientState::busy) return;  // failed
    state = ClientState::ready;
    if (quit_requested || (config.max_transactions != 0 && transactions >= config.max_transactions)) send_quit();
  }

  // After 354: the message, or an empty one when nobody was accepted.
  void on_go_ahead() {
    ActiveJob& j = *job;
    if (!j.accepted.empty()) {
      const BodyStats s = append_message(out, j.wire_prefix, j.job.body, j.job.bare_newlines);
      counters.body_bytes_referenced += s.referenced;
      counters.body_bytes_copied += s.copied;
      counters.body_bytes_inserted += s.inserted;
      if (lmtp()) {
        for (uint32_t i : j.accepted) expect.push_back({Expect::Kind::dot_lmtp, i});
        j.dots_owed = j.accepted.size();
      } else {
        expect.push_back({Expect::Kind::dot});
      }
      return;
    }
    if (lmtp()) {
      protocol_error("354 to DATA with no accepted recipient");
      return;
    }
    out.append(kDotLine);
    expect.push_back({Expect::Kind::dot_discard});
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
    on_transaction_reply(e, r);
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

  // RSET, MAIL, RCPT, DATA and the final dot: replies become results. A
  // 3xx where none belongs means the reply queue and the server disagree.
  void on_transaction_reply(const Expect& e, const Reply& r) {
    ActiveJob& j = *job;
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
          answer_open(r);
        }
        return;
      case Expect::Kind::rcpt:
        if (j.mail_refused) return;  // answered by the MAIL reply
        if (r.intermediate()) return protocol_error("3xx reply to RCPT");
        if (r.positive()) {
          j.accepted.push_back(e.recipient);
        } else {
          answer(e.recipient, r);
        }
        return;
      case Expect::Kind::data:
        if (r.code == kStartMailInput) return on_go_ahead();
        if (r.positive() || r.intermediate()) return protocol_error("unexpected reply to DATA");
        answer_accepted(r);
        return;
      case Expect::Kind::dot:
        if (r.intermediate()) return protocol_error("3xx reply after the final dot");
        answer_accepted(r);
        j.dot_done = true;
        return;
      case Expect::Kind::dot_lmtp:
        if (r.intermediate()) return protocol_error("3xx reply after the final dot");
        answer(e.recipient, r);
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
    if (!job || job->mail_refused || !parser.idle()) return false;
    size_t taken = 0;
    while (!bytes.empty() && !expect.empty() && expect.front().kind == Expect::Kind::rcpt) {
      const size_t lf = find_lf(bytes);
      if (lf == std::string_view::npos) break;
      const size_t length = lf + 1;
      if (!positive_reply_line(bytes.substr(0, length))) break;
      job->accepted.push_back(expect.front().recipient);
      expect.pop_front();
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
    return make_error(impl_->job ? "a job is in progress" : "connection is " + std::string(to_string(impl_->state)));
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
      if (!m.job) {
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
  if (m.job || m.quit_requested) return false;
  switch (m.state) {
    case ClientState::connecting:
    case ClientState::greeting:
    case ClientState::hello:
    case ClientState::ready:
      return true;
    default:
      return false;
  }
}

const Extensions& SmtpClient::extensions() const { return impl_->ext; }
const Reply& SmtpClient::failure() const { return impl_->failure; }
uint32_t SmtpClient::transactions() const { return impl_->transactions; }

}  // namespace listgate::delivery
