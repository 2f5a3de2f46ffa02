// session.cc - the LMTP server protocol machine (see session.h).
//
// Input is consumed slice by slice, never copied as a whole: a command line
// that lies inside one slice is parsed in place, one split across slices is
// gathered in a small line buffer (at most kMaxCommandLine bytes), and body
// bytes become sub-slices of the received ones (adjacent pieces of the same
// buffer are merged), so a body is never copied. The body's end is found by
// scan_data(). When a message is complete, processing stops and the rest of
// the slice is kept by reference until complete() and resume().
#include "listgate/lmtp/session.h"

#include <cstring>
#include <utility>

#include "listgate/lmtp/command.h"
#include "listgate/lmtp/data_scanner.h"
#include "listgate/lmtp/replies.h"

namespace listgate::lmtp {
namespace {

// ".\r\n": the part of the terminator that is not the body's last CRLF.
constexpr uint64_t kTerminatorTail = 3;
// Pipelined RCPTs looked up together: enough to overlap the table's memory
// accesses, few enough to stay in cache.
constexpr size_t kLookaheadRcpts = 32;

void trim_chain(io::SliceChain& chain, uint64_t n) {
  while (n > 0 && !chain.empty()) {
    io::Slice& last = chain.back();
    if (last.length <= n) {
      n -= last.length;
      chain.pop_back();
    } else {
      last.length -= static_cast<uint32_t>(n);
      n = 0;
    }
  }
}

}  // namespace

struct Session::Impl {
  enum class Phase : uint8_t {
    fresh,    // no LHLO yet
    ready,    // LHLO done, no transaction
    mail,     // MAIL accepted; RCPTs being collected
    data,     // reading the body
    pending,  // message complete, waiting for complete()
  };

  Impl(const SessionConfig& c, DirectorySource d, Counters& k)
      : config(c), directory(std::move(d)), counters(k),
        host(c.hostname, c.limits.max_message_size) {
    line.reserve(kMaxCommandLine);
  }

  SessionConfig config;
  DirectorySource directory;
  Counters& counters;
  reply::HostReplies host;
  std::string out;

  Phase phase = Phase::fresh;
  bool closed = false;
  bool draining = false;  // shutdown() came during a transaction

  Transaction tx;

  // Command line assembly across slices.
  std::string line;
  bool skipping = false;  // inside a line already answered with 500 5.5.2

  // Body state.
  DataScanState scan;
  uint64_t body_seen = 0;  // octets of DATA read so far, terminator included
  bool too_big = false;    // the body was dropped for exceeding SIZE

  // Pipelined RCPTs found ahead in the slice being consumed, resolved
  // together (Directory::resolve_batch, whose lookups overlap in memory);
  // on_rcpt takes the answers in order. The views point into that slice and
  // are dropped when consume() returns.
  struct Lookahead {
    std::vector<std::string_view> paths;
    std::vector<table::Resolution> results;
    size_t next = 0;
    void clear() {
      paths.clear();
      next = 0;
    }
  } ahead;

  // Input kept while a transaction waits (backlog[head...] is pending).
  std::vector<io::Slice> backlog;
  size_t head = 0;
  uint64_t backlog_bytes = 0;

  Status status() const {
    if (closed) return Status::closing;
    if (phase == Phase::pending) return Status::transaction_ready;
    return Status::need_input;
  }

  bool stopped() const { return closed || phase == Phase::pending; }

  bool in_transaction() const {
    return !closed && (phase == Phase::mail || phase == Phase::data || phase == Phase::pending);
  }

  // --- input -------------------------------------------------------------

  // Consumes bytes of s until it ends or processing stops; returns how many.
  uint32_t consume(const io::Slice& s) {
    uint32_t pos = 0;
    while (pos < s.length && !stopped()) {
      pos += (phase == Phase::data) ? consume_body(s, pos) : consume_command(s, pos);
    }
    ahead.clear();
    return pos;
  }

  void keep(io::Slice s) {
    backlog_bytes += s.length;
    backlog.push_back(std::move(s));
  }

  void drain() {
    while (head < backlog.size() && !stopped()) {
      io::Slice s = std::move(backlog[head]);
      ++head;
      backlog_bytes -= s.length;
      const uint32_t used = consume(s);
      if (closed) return;  // close() dropped the backlog
      if (used < s.length) {
        --head;
        backlog_bytes += s.length - used;
        backlog[head] = s.sub(used);
      }
    }
    if (head == backlog.size()) {
      backlog.clear();
      head = 0;
    }
  }

  Status feed(io::Slice in) {
    if (closed || in.length == 0) return status();
    if (phase == Phase::pending || head < backlog.size()) {
      keep(std::move(in));
      if (phase != Phase::pending) drain();
      return status();
    }
    const uint32_t used = consume(in);
    if (used < in.length && !closed) keep(in.sub(used));
    return status();
  }

  uint32_t consume_command(const io::Slice& s, uint32_t pos) {
    const char* p = s.data() + pos;
    const uint32_t avail = s.length - pos;
    const auto* lf = static_cast<const char*>(std::memchr(p, '\n', avail));
    if (skipping) {
      if (lf == nullptr) return avail;
      skipping = false;
      return static_cast<uint32_t>(lf - p) + 1;
    }
    if (lf == nullptr) {
      if (line.size() + avail >= kMaxCommandLine) {
        // Already kMaxCommandLine octets and no LF: too long whatever follows.
        line.clear();
        skipping = true;
        line_too_long();
      } else {
        line.append(p, avail);
      }
      return avail;
    }
    const uint32_t n = static_cast<uint32_t>(lf - p);
    if (line.size() + n + 1 > kMaxCommandLine) {
      line.clear();
      line_too_long();
    } else if (line.empty()) {
      if (phase == Phase::mail && ahead.next >= ahead.paths.size()) resolve_ahead(p, s.data() + s.length);
      handle_line(std::string_view(p, n));
    } else {
      line.append(p, n);
      handle_line(line);
      line.clear();
    }
    return n + 1;
  }

  uint32_t consume_body(const io::Slice& s, uint32_t pos) {
    const DataScanResult r = scan_data(std::string_view(s.data() + pos, s.length - pos), scan);
    const auto n = static_cast<uint32_t>(r.consumed);
    body_seen += n;
    if (!too_big) {
      append_body(s, pos, n);
      const uint64_t max = config.limits.max_message_size;
      if (body_seen > max && body_seen - max > kTerminatorTail) {
        too_big = true;
        tx.body.clear();  // release the buffers now; keep scanning for the end
      }
    }
    if (r.end) finish_body();
    return n;
  }

  void append_body(const io::Slice& s, uint32_t pos, uint32_t n) {
    if (n == 0) return;
    if (!tx.body.empty()) {
      io::Slice& last = tx.body.back();
      if (last.buffer.get() == s.buffer.get() && last.offset + last.length == s.offset + pos) {
        last.length += n;
        return;
      }
    }
    tx.body.push_back(s.sub(pos, n));
  }

  void finish_body() {
    const uint64_t size = body_seen - kTerminatorTail;
    ++counters.transactions;
    counters.body_bytes += size;
    if (too_big || size > config.limits.max_message_size) {
      ++counters.messages_too_big;
      for (size_t i = 0; i < tx.recipients.size(); ++i) out += reply::kMessageTooBig;
      end_transaction();
      return;
    }
    trim_chain(tx.body, kTerminatorTail);
    tx.body_length = size;
    tx.bare_newlines = scan.bare_newline;
    phase = Phase::pending;
  }

  // Parses the run of complete RCPT lines starting at `from` and resolves
  // their paths in one batch (only worth it for two or more).
  void resolve_ahead(const char* from, const char* end) {
    ahead.clear();
    while (from < end && ahead.paths.size() < kLookaheadRcpts) {
      const auto* lf = static_cast<const char*>(std::memchr(from, '\n', static_cast<size_t>(end - from)));
      if (lf == nullptr || static_cast<size_t>(lf - from) + 1 > kMaxCommandLine) break;
      std::string_view text(from, static_cast<size_t>(lf - from));
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      const Command cmd = split_command(text);
      RcptArgs r;
      if (cmd.verb != Verb::rcpt || parse_rcpt(cmd.arg, r) != ParseError::none) break;
      ahead.paths.push_back(r.path);
      from = lf + 1;
    }
    if (ahead.paths.size() < 2) {
      ahead.clear();
      return;
    }
    ahead.results.resize(ahead.paths.size());
    tx.directory->resolve_batch(ahead.paths, ahead.results);
  }

  // The table's answer for `path`: from the lookahead when it is next there.
  table::Resolution resolve(std::string_view path) {
    if (ahead.next < ahead.paths.size() && ahead.paths[ahead.next] == path) return ahead.results[ahead.next++];
    ahead.clear();
    return tx.directory->resolve(path);
  }

  // --- commands ----------------------------------------------------------

  void line_too_long() {
    ++counters.commands;
    ++counters.lines_too_long;
    out += reply::kLineTooLong;
  }

  void error(std::string_view r) {
    ++counters.command_errors;
    out += r;
  }

  void handle_line(std::string_view text) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    ++counters.commands;
    const Command cmd = split_command(text);
    switch (cmd.verb) {
      case Verb::mail: return on_mail(cmd.arg);
      case Verb::rcpt: return on_rcpt(cmd.arg);
      case Verb::data: return on_data(cmd.arg);
      case Verb::lhlo: return on_lhlo(cmd.arg);
      case Verb::rset: return on_rset(cmd.arg);
      case Verb::noop: out += reply::kOk; return;
      case Verb::quit: return on_quit(cmd.arg);
      case Verb::vrfy:
        if (cmd.arg.empty()) return error(reply::kVrfySyntax);
        out += reply::kVrfy;
        return;
      case Verb::help: out += reply::kHelp; return;
      case Verb::helo:
      case Verb::ehlo: return error(reply::kUseLhlo);
      case Verb::empty: return error(reply::kEmptyLine);
      case Verb::unknown: return error(reply::kUnknownCommand);
    }
  }

  void on_lhlo(std::string_view arg) {
    if (arg.empty()) return error(reply::kLhloSyntax);
    const bool had = in_transaction();
    if (had) reset_transaction();
    phase = Phase::ready;
    out += host.lhlo;
    if (had) after_transaction();
  }

  void on_mail(std::string_view arg) {
    if (phase == Phase::fresh) return error(reply::kNeedLhlo);
    if (phase != Phase::ready) return error(reply::kNestedMail);
    MailArgs m;
    switch (parse_mail(arg, m)) {
      case ParseError::none: break;
      case ParseError::syntax: return error(reply::kMailSyntax);
      case ParseError::bad_value: return error(reply::kBadParameterValue);
      case ParseError::unknown_parameter: return error(reply::kUnknownParameter);
    }
    if (m.has_size && m.size > config.limits.max_message_size) {
      ++counters.messages_too_big;
      out += reply::kMessageTooBig;
      return;
    }
    std::shared_ptr<const table::Directory> snapshot = directory ? directory() : nullptr;
    if (!snapshot) {
      out += reply::kNoDirectory;
      return;
    }
    tx.sender.assign(m.path);
    tx.body_8bitmime = m.body == BodyType::eight_bit_mime;
    tx.smtputf8 = m.smtputf8;
    tx.directory = std::move(snapshot);
    phase = Phase::mail;
    out += reply::kMailOk;
  }

  void on_rcpt(std::string_view arg) {
    if (phase != Phase::mail) return error(reply::kNeedMail);
    RcptArgs r;
    switch (parse_rcpt(arg, r)) {
      case ParseError::none: break;
      case ParseError::syntax:
      case ParseError::bad_value: return error(reply::kRcptSyntax);
      case ParseError::unknown_parameter: return error(reply::kUnknownParameter);
    }
    if (tx.recipients.size() >= config.limits.max_transaction_recipients) {
      ++counters.rejected_too_many;
      out += reply::kTooManyRecipients;
      return;
    }
    const table::Resolution res = resolve(r.path);
    switch (res.verdict) {
      case table::Verdict::accept:
        tx.recipients.push_back(Recipient{std::string(r.path), res});
        ++counters.recipients_accepted;
        out += reply::kRcptOk;
        return;
      case table::Verdict::unknown_domain: ++counters.rejected_unknown_domain; break;
      case table::Verdict::unknown_list: ++counters.rejected_unknown_list; break;
      case table::Verdict::needs_backend: ++counters.rejected_needs_backend; break;
      case table::Verdict::bad_address: ++counters.rejected_bad_address; break;
    }
    out += reply::kRejectedHead;
    out += r.path;
    out += reply::kRejectedTail;
  }

  void on_data(std::string_view arg) {
    if (phase != Phase::mail) return error(reply::kNeedMail);
    if (!arg.empty()) return error(reply::kDataSyntax);
    if (tx.recipients.empty()) return error(reply::kNeedRcpt);
    scan = DataScanState{};
    body_seen = 0;
    too_big = false;
    tx.body.clear();
    phase = Phase::data;
    out += reply::kStartData;
  }

  void on_rset(std::string_view arg) {
    if (!arg.empty()) return error(reply::kRsetSyntax);
    const bool had = in_transaction();
    if (had) reset_transaction();
    out += reply::kOk;
    if (had) after_transaction();
  }

  void on_quit(std::string_view arg) {
    if (!arg.empty()) return error(reply::kQuitSyntax);
    out += host.quit;
    close();
  }

  // --- transaction end ---------------------------------------------------

  void reset_transaction() {
    tx.sender.clear();
    tx.body_8bitmime = false;
    tx.smtputf8 = false;
    tx.recipients.clear();
    tx.body.clear();
    tx.body_length = 0;
    tx.bare_newlines = false;
    tx.directory.reset();
    phase = Phase::ready;
  }

  // Ends the transaction after its replies were queued (oversize, complete()).
  void end_transaction() {
    reset_transaction();
    after_transaction();
  }

  // A draining session closes as soon as its transaction is over.
  void after_transaction() {
    if (draining && !closed) {
      out += host.shutdown;
      close();
    }
  }

  void complete(std::span<const std::string> replies) {
    if (phase != Phase::pending) return;
    if (!closed) {
      for (size_t i = 0; i < tx.recipients.size(); ++i) {
        out += i < replies.size() ? std::string_view(replies[i]) : reply::kMissingReply;
        out += reply::kCrLf;
      }
    }
    end_transaction();
  }

  void close() {
    closed = true;
    line.clear();
    skipping = false;
    backlog.clear();
    head = 0;
    backlog_bytes = 0;
    // A pending transaction stays until complete(): the owner may be using it.
    if (phase != Phase::pending) reset_transaction();
  }

  void idle_timeout() {
    if (closed) return;
    out += host.idle_timeout;
    close();
  }

  void shutdown() {
    if (closed) return;
    if (in_transaction()) {
      draining = true;
      return;
    }
    out += host.shutdown;
    close();
  }
};

Session::Session(const SessionConfig& config, DirectorySource directory, Counters& counters)
    : impl_(std::make_unique<Impl>(config, std::move(directory), counters)) {}

Session::~Session() = default;

void Session::start() { impl_->out += impl_->host.greeting; }

Session::Status Session::feed(io::Slice input) { return impl_->feed(std::move(input)); }

Session::Status Session::resume() {
  if (!impl_->stopped()) impl_->drain();
  return impl_->status();
}

Transaction& Session::transaction() { return impl_->tx; }

void Session::complete(std::span<const std::string> replies) { impl_->complete(replies); }

void Session::idle_timeout() { impl_->idle_timeout(); }

void Session::shutdown() { impl_->shutdown(); }

bool Session::in_transaction() const { return impl_->in_transaction(); }

bool Session::closing() const { return impl_->closed; }

std::string& Session::output() { return impl_->out; }

uint64_t Session::pending_input() const { return impl_->backlog_bytes; }

}  // namespace listgate::lmtp
