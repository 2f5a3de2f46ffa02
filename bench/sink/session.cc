// session.cc - the sink's SMTP machine (see session.h).
#include "session.h"

#include <charconv>
#include <cstring>

#include "base64.h"
#include "replies.h"
#include "smtp_syntax.h"

namespace listgate::sink {
namespace {

// Bytes "." CRLF that unstuffing leaves as CRLF at the end of a kept body.
constexpr size_t kTerminatorTail = 2;

void append_number(std::string& out, uint64_t v) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, r.ptr);
}

// RFC 4954: "=" is an empty initial response.
std::string_view initial_response(std::string_view s) { return s == "=" ? std::string_view() : s; }

}  // namespace

void append_ehlo_reply(std::string& out, const SessionOptions& options) {
  out.append(reply::kEhloFirst);
  out.append("250-PIPELINING\r\n250-SIZE ");
  append_number(out, options.max_message_size);
  out.append("\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n");
  if (options.chunking) out.append("250-CHUNKING\r\n");
  if (options.xverp) out.append("250-XVERP\r\n");
  if (options.auth) out.append("250-AUTH PLAIN LOGIN\r\n");
  out.append("250 ENHANCEDSTATUSCODES\r\n");
}

Session::Session(const SessionOptions& options, FaultEngine& faults, Counters& counters, MessageObserver* observer)
    : options_(options), faults_(faults), counters_(counters), observer_(observer) {}

void Session::start() { out_.append(reply::kGreeting); }

void Session::refuse() {
  out_.append(reply::kDownGreeting);
  state_ = State::closed;
}

void Session::go_down() {
  if (state_ == State::closed) return;
  out_.append(reply::kGoingDown);
  reset_transaction();
  state_ = State::closed;
}

void Session::error(std::string_view r) {
  ++counters_.errors;
  out_.append(r);
}

void Session::feed(std::string_view in) {
  size_t pos = 0;
  while (pos < in.size() && state_ != State::closed) {
    if (state_ == State::data) {
      pos += feed_body(in.substr(pos));
    } else if (state_ == State::chunk) {
      pos += feed_chunk(in.substr(pos));
    } else {
      pos += feed_line(in.data() + pos, in.size() - pos);
    }
  }
}

// ---- command lines ---------------------------------------------------------

size_t Session::feed_line(const char* p, size_t n) {
  const void* hit = std::memchr(p, '\n', n);
  if (hit == nullptr) {  // keep the start of a line for the next input
    if (!overlong_ && partial_.size() + n >= kMaxCommandLine) {
      overlong_ = true;
      partial_.clear();
    }
    if (!overlong_) partial_.append(p, n);
    return n;
  }
  const size_t len = static_cast<size_t>(static_cast<const char*>(hit) - p);
  if (overlong_ || partial_.size() + len + 1 > kMaxCommandLine) {
    overlong_ = false;
    partial_.clear();
    error(reply::kLineTooLong);
    return len + 1;
  }
  std::string_view line(p, len);
  if (!partial_.empty()) {
    partial_.append(p, len);
    line = partial_;
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  handle_line(line);
  partial_.clear();
  return len + 1;
}

void Session::handle_line(std::string_view line) {
  switch (state_) {
    case State::auth_plain: return auth_plain_response(line);
    case State::auth_login_user: return auth_login_user(line);
    case State::auth_login_pass: return auth_login_pass(line);
    default: break;
  }
  std::string_view rest;
  switch (parse_verb(line, &rest)) {
    case Verb::rcpt: return rcpt(rest);
    case Verb::mail: return mail(rest);
    case Verb::data: return data(rest);
    case Verb::bdat: return bdat(rest);
    case Verb::ehlo: return ehlo(rest);
    case Verb::helo: return helo(rest);
    case Verb::auth: return auth(rest);
    case Verb::rset:
      if (!rest.empty()) return error(reply::kSyntax);
      reset_transaction();
      out_.append(reply::kOk);
      return;
    case Verb::noop: out_.append(reply::kOk); return;
    case Verb::vrfy: out_.append(reply::kVrfy); return;
    case Verb::help: out_.append(reply::kHelp); return;
    case Verb::quit:
      out_.append(reply::kBye);
      reset_transaction();
      state_ = State::closed;
      return;
    case Verb::unknown: return error(reply::kUnknown);
  }
}

void Session::ehlo(std::string_view rest) {
  if (rest.empty()) return error(reply::kSyntax);
  reset_transaction();
  greeted_ = true;
  append_ehlo_reply(out_, options_);
}

void Session::helo(std::string_view rest) {
  if (rest.empty()) return error(reply::kSyntax);
  reset_transaction();
  greeted_ = true;
  out_.append(reply::kHelo);
}

void Session::mail(std::string_view rest) {
  if (!greeted_ || in_mail_) return error(reply::kBadSequence);
  if (options_.auth && !authenticated_) return error(reply::kAuthRequired);
  std::string_view address, params;
  if (!parse_path_argument(rest, "FROM:", &address, &params)) return error(reply::kSyntax);
  std::string_view key, value;
  while (next_parameter(params, &key, &value)) {
    if (equals_ignoring_case(key, "SIZE")) {
      uint64_t size = 0;
      if (!parse_decimal(value, &size)) return error(reply::kSyntax);
      if (options_.max_message_size != 0 && size > options_.max_message_size) {
        out_.append(reply::kMessageTooBig);
        return;
      }
    } else if (equals_ignoring_case(key, "BODY")) {
      if (!equals_ignoring_case(value, "7BIT") && !equals_ignoring_case(value, "8BITMIME")) {
        return error(reply::kSyntax);
      }
    } else if (equals_ignoring_case(key, "SMTPUTF8")) {
      if (!value.empty()) return error(reply::kSyntax);
    } else if (equals_ignoring_case(key, "XVERP") && options_.xverp) {
      // Accepted with or without delimiters; the sink does not expand it.
    } else if (equals_ignoring_case(key, "AUTH") && options_.auth) {
      // RFC 4954 5: the submitter's identity, accepted and ignored.
    } else {
      return error(reply::kBadParameter);
    }
  }
  in_mail_ = true;
  ++counters_.mails;
  if (options_.track_envelope) mail_from_.assign(address);
  out_.append(reply::kMailOk);
}

void Session::rcpt(std::string_view rest) {
  if (!in_mail_ || bdat_started_) return error(reply::kBadSequence);
  std::string_view address, params;
  if (!parse_path_argument(rest, "TO:", &address, &params) || address.empty()) return error(reply::kSyntax);
  if (!params.empty()) return error(reply::kBadParameter);  // no DSN advertised
  if (options_.max_recipients != 0 && rcpt_count_ >= options_.max_recipients) {
    ++counters_.rcpt_refused;
    out_.append(reply::kTooManyRecipients);
    return;
  }
  if (const uint16_t code = faults_.rcpt_code(address); code != 0) {
    ++counters_.rcpt_refused;
    append_rcpt_refusal(out_, code);
    return;
  }
  ++rcpt_count_;
  ++counters_.rcpt_accepted;
  if (options_.track_envelope) {
    rcpt_bytes_.append(address);
    rcpt_ends_.push_back(static_cast<uint32_t>(rcpt_bytes_.size()));
  }
  out_.append(reply::kRcptOk);
}

void Session::data(std::string_view rest) {
  if (!rest.empty()) return error(reply::kSyntax);
  // RFC 3030: DATA and BDAT are not mixed in one transaction.
  if (!in_mail_ || bdat_started_) return error(reply::kBadSequence);
  if (rcpt_count_ == 0) return error(reply::kNoValidRecipients);
  out_.append(reply::kDataGo);
  state_ = State::data;
  start_body();
}

// A body begins: DATA answered 354, or a transaction's first BDAT with a recipient.
void Session::start_body() {
  scanner_.reset();
  wire_bytes_ = 0;
  dots_ = 0;
  if (options_.track_envelope) header_.reset();
  if (options_.keep_body) {
    unstuffer_.reset();
    body_.clear();
  }
  drop_pending_ = faults_.drop_mid_data();
}

// ---- BDAT (RFC 3030) -----------------------------------------------------------

void Session::bdat(std::string_view rest) {
  if (!options_.chunking) return error(reply::kUnknown);
  uint64_t size = 0;
  bool last = false;
  // Without a size the chunk's end is unknown: what follows is read as commands.
  if (!parse_bdat_argument(rest, &size, &last)) return error(reply::kSyntax);
  chunk_refusal_ = chunk_refusal(size);
  chunk_size_ = size;
  chunk_left_ = size;
  chunk_last_ = last;
  state_ = State::chunk;
  if (size == 0) {
    if (drop_pending_) return drop();  // no bytes to drop in the middle of: close instead of the reply
    end_chunk();
  }
}

// Decided before the chunk's bytes come: the (counted) reply of a refused chunk,
// whose bytes are then read and thrown away, or empty to take it. The first
// chunk of a transaction with a recipient starts the body.
std::string_view Session::chunk_refusal(uint64_t size) {
  if (!in_mail_) {
    ++counters_.errors;
    return reply::kBadSequence;
  }
  const bool first = !bdat_started_;
  bdat_started_ = true;
  if (rcpt_count_ == 0) {
    ++counters_.errors;
    return reply::kNoValidRecipients;
  }
  if (first) start_body();
  // RFC 3030: chunks pipelined after a failed one are discarded too.
  if (!bdat_failure_.empty()) return bdat_failure_;
  // Known before the bytes come, so an oversized message is never copied.
  if (options_.max_message_size != 0 && size > options_.max_message_size - wire_bytes_) {
    ++counters_.data_failed;
    bdat_failure_ = reply::kMessageTooBig;
    return bdat_failure_;
  }
  return {};
}

size_t Session::feed_chunk(std::string_view in) {
  if (drop_pending_) {  // close in the middle of the chunk, no reply
    drop();
    return in.size();
  }
  const size_t n = chunk_left_ < in.size() ? static_cast<size_t>(chunk_left_) : in.size();
  const std::string_view part = in.substr(0, n);
  chunk_left_ -= n;
  counters_.data_bytes += n;
  if (chunk_refusal_.empty()) {
    wire_bytes_ += n;
    if (options_.track_envelope && !header_.done()) header_.add(part);
    if (options_.keep_body) body_.append(part);
  }
  if (chunk_left_ == 0) end_chunk();
  return n;
}

void Session::end_chunk() {
  state_ = State::command;
  if (!chunk_refusal_.empty()) {
    out_.append(chunk_refusal_);
    if (chunk_last_) reset_transaction();  // LAST ends the transaction, refused or not
    return;
  }
  if (chunk_last_) return finish_message(wire_bytes_);
  out_.append(reply::kChunkOkPrefix);
  append_number(out_, chunk_size_);
  out_.append(reply::kChunkOkSuffix);
}

// ---- AUTH --------------------------------------------------------------------

void Session::auth(std::string_view rest) {
  if (!options_.auth) return error(reply::kAuthUnavailable);
  if (!greeted_ || authenticated_ || in_mail_) return error(reply::kBadSequence);
  const size_t space = rest.find(' ');
  const std::string_view mechanism = rest.substr(0, space);
  const std::string_view initial =
      space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  if (equals_ignoring_case(mechanism, "PLAIN")) {
    if (initial.empty()) {
      out_.append(reply::kAuthPlainGo);
      state_ = State::auth_plain;
      return;
    }
    return auth_plain_response(initial_response(initial));
  }
  if (equals_ignoring_case(mechanism, "LOGIN")) {
    if (initial.empty()) {
      out_.append(reply::kAuthUsername);
      state_ = State::auth_login_user;
      return;
    }
    return auth_login_user(initial_response(initial));
  }
  error(reply::kAuthMechanism);
}

void Session::auth_plain_response(std::string_view b64) {
  state_ = State::command;
  if (b64 == "*") return error(reply::kAuthCancelled);
  if (!decode_base64(b64, scratch_)) return error(reply::kAuthBadBase64);
  // authzid NUL authcid NUL passwd
  const std::string_view s = scratch_;
  const size_t first = s.find('\0');
  const size_t second = first == std::string_view::npos ? first : s.find('\0', first + 1);
  bool ok = second != std::string_view::npos && s.find('\0', second + 1) == std::string_view::npos &&
            s.substr(first + 1, second - first - 1) == options_.auth->user &&
            s.substr(second + 1) == options_.auth->pass;
  finish_auth(ok);
}

void Session::finish_auth(bool ok) {
  if (ok) {
    authenticated_ = true;
    ++counters_.auth_ok;
    out_.append(reply::kAuthOk);
  } else {
    ++counters_.auth_failed;
    out_.append(reply::kAuthInvalid);
  }
}

void Session::auth_login_user(std::string_view b64) {
  state_ = State::command;
  if (b64 == "*") return error(reply::kAuthCancelled);
  if (!decode_base64(b64, scratch_)) return error(reply::kAuthBadBase64);
  auth_user_.assign(scratch_);
  out_.append(reply::kAuthPassword);
  state_ = State::auth_login_pass;
}

void Session::auth_login_pass(std::string_view b64) {
  state_ = State::command;
  if (b64 == "*") return error(reply::kAuthCancelled);
  if (!decode_base64(b64, scratch_)) return error(reply::kAuthBadBase64);
  const bool ok = auth_user_ == options_.auth->user && scratch_ == options_.auth->pass;
  finish_auth(ok);
}

// ---- DATA ----------------------------------------------------------------------

size_t Session::feed_body(std::string_view in) {
  if (drop_pending_) {  // close in the middle of the body, no reply
    drop();
    return in.size();
  }
  const BodyScanner::Step step = scanner_.scan(in);
  wire_bytes_ += step.consumed;
  dots_ += step.dots;
  counters_.data_bytes += step.consumed;
  const std::string_view part = in.substr(0, step.consumed);
  if (options_.track_envelope && !header_.done()) header_.add(part);
  if (options_.keep_body && (options_.max_message_size == 0 || body_.size() <= options_.max_message_size)) {
    unstuffer_.append(body_, part);
  }
  if (step.end) finish_data();
  return step.consumed;
}

void Session::finish_data() {
  state_ = State::command;
  // Unstuffing leaves the terminator's CRLF at the end of a kept body.
  if (options_.keep_body && body_.size() >= kTerminatorTail) body_.resize(body_.size() - kTerminatorTail);
  finish_message(wire_bytes_ - dots_ - kTerminatorTail);
}

// The end of a message (final dot or LAST chunk) of `size` bytes: refused or accepted.
void Session::finish_message(uint64_t size) {
  if (options_.max_message_size != 0 && size > options_.max_message_size) {
    ++counters_.data_failed;
    out_.append(reply::kMessageTooBig);
    reset_transaction();
    return;
  }
  if (const uint16_t code = faults_.data_code(); code != 0) {
    ++counters_.data_failed;
    append_data_refusal(out_, code);
    reset_transaction();
    return;
  }
  ++counters_.transactions;
  counters_.body_bytes += size;
  out_.append(reply::kQueuedPrefix);
  append_number(out_, counters_.transactions);
  out_.append("\r\n");
  if (observer_ != nullptr) {
    AcceptedMessage m;
    m.recipient_count = rcpt_count_;
    m.body_bytes = size;
    if (options_.track_envelope) {
      m.mail_from = mail_from_;
      rcpt_views_.clear();
      uint32_t begin = 0;
      for (uint32_t end : rcpt_ends_) {
        rcpt_views_.emplace_back(rcpt_bytes_.data() + begin, end - begin);
        begin = end;
      }
      m.recipients = rcpt_views_;
      find_message_id(header_.block(), message_id_);
      m.message_id = message_id_;
    }
    if (options_.keep_body) m.body = &body_;
    observer_->on_message(m);
  }
  reset_transaction();
}

void Session::drop() {
  ++counters_.drops;
  dropped_ = true;
  reset_transaction();
  state_ = State::closed;
}

void Session::reset_transaction() {
  in_mail_ = false;
  bdat_started_ = false;
  bdat_failure_ = {};
  drop_pending_ = false;
  rcpt_count_ = 0;
  mail_from_.clear();
  rcpt_bytes_.clear();
  rcpt_ends_.clear();
}

}  // namespace listgate::sink
