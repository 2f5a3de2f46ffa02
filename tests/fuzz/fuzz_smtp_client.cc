// fuzz_smtp_client.cc - libFuzzer target for the outbound SMTP/LMTP client.
//
// Input layout: byte 0 picks the configuration (SMTP or LMTP, AUTH, a
// transaction limit, a canned handshake, raw or token mode), byte 1 the
// number of split sizes that follow (1..16), then the split sizes, then the
// server's part. In raw mode those bytes are what the server sends; in token
// mode each byte picks a typical reply line from a table (so the fuzzer gets
// past the handshake and into pipelined transactions, DATA and failures
// quickly; raw mode still reaches every parser state).
//
// Two runs: (1) one job submitted before connecting, the server's bytes fed
// whole and then again cut by the split sizes: both must send the same bytes
// and report the same results; (2) fed in splits with a new job submitted
// whenever the client takes one (behind others in flight with CHUNKING).
// Odd jobs have bare CR/LF to repair (DATA), even ones a clean body (BDAT
// when offered). Checked throughout: every slice segment points into a
// job's body chain, only the repair copies body bytes, the output has no
// bare CR or LF (the odd bodies have them and must be repaired), every job
// gets exactly one result with one reply per recipient and codes 2xx..5xx,
// a failed or closed client stays silent, and after connection_lost() no
// job is left without a result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "listgate/delivery/smtp_client.h"
#include "listgate/io/buffer.h"

namespace {

using namespace listgate;
using namespace listgate::delivery;

constexpr uint32_t kPoolBuffer = 64;  // small buffers: a body of several slices
constexpr uint32_t kPoolBlock = 64;   // 64 * 64 = one page per block
constexpr uint64_t kMaxJobs = 4;

constexpr uint8_t kLmtp = 0x01;
constexpr uint8_t kAuth = 0x02;
constexpr uint8_t kCannedHandshake = 0x04;
constexpr uint8_t kTokenMode = 0x08;
constexpr uint8_t kQuitAtEnd = 0x10;
constexpr uint8_t kXverp = 0x20;
constexpr uint8_t kLimitShift = 6;  // bits 6..7: max_transactions 0..3

#define CHECK(cond)       \
  do {                    \
    if (!(cond)) abort(); \
  } while (0)

// Typical upstream lines for token mode (CRLF added).
constexpr std::string_view kTokens[] = {
    "220 mx.example.org ESMTP",
    "250 2.1.0 Ok",
    "250 2.1.5 Ok",
    "250 2.0.0 Ok: queued",
    "354 End data with <CR><LF>.<CR><LF>",
    "550 5.1.1 unknown user",
    "450 4.2.0 greylisted",
    "503 5.5.1 Error: need RCPT command",
    "421 4.4.2 timeout",
    "250-mx.example.org",
    "250-PIPELINING",
    "250-SIZE 100",
    "250 AUTH PLAIN LOGIN",
    "334 VXNlcm5hbWU6",
    "235 2.7.0 ok",
    "535 5.7.8 no",
    "221 2.0.0 bye",
    "502 5.5.2 what",
    "250 SMTPUTF8",
    "554 5.7.1 rejected",
    "250-2.0.0 multi",
    "garbage",
    "25",
    "250 ok\n",
    "250-CHUNKING",
};
constexpr size_t kTokenCount = sizeof(kTokens) / sizeof(kTokens[0]);

constexpr std::string_view kHandshake =
    "220 mx.example.org ESMTP\r\n250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 100000\r\n"
    "250-8BITMIME\r\n250-SMTPUTF8\r\n250-XVERP\r\n250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n";

// Wire form with bare CR/LF in it, and dots where a repair starts lines.
constexpr std::string_view kBody = "Subject: fuzz\r\n\r\n..stuffed\r\nbare lf\n.dot\rbare cr\r.x\r\nend\r";
// Wire form without them; one stuffing dot, which BDAT leaves out.
constexpr std::string_view kCleanBody = "Subject: clean\r\n\r\n..stuffed\r\nend";
constexpr size_t kCleanUnstuffed = kCleanBody.size() - 1;

struct Outcome {
  std::string output;
  std::vector<std::string> results;  // "id: CODE ENH TEXT|..." per job
  bool operator==(const Outcome&) const = default;
};

class Run {
 public:
  Run(const ClientConfig& config, io::BufferPool& pool, uint8_t flags)
      : client_(config, counters_), flags_(flags) {
    body_ = io::copy_into_pool(pool, kBody);
    clean_body_ = io::copy_into_pool(pool, kCleanBody);
  }

  SmtpClient& client() { return client_; }

  void submit() {
    if (submitted_ >= kMaxJobs || !client_.can_submit()) return;
    Job j;
    j.id = ++submitted_;
    j.sender = submitted_ % 2 ? "list-bounces@lists.example.org" : "";
    // Job::recipients are views: addresses_ keeps the bytes.
    for (uint64_t i = 0; i <= submitted_; ++i)
      j.recipients.push_back(addresses_.emplace_back("m" + std::to_string(i) + "@example.com"));
    if (submitted_ == 3) j.recipients.push_back("bad\r\naddress");
    j.header_prefix = "List-Id: <l.example.org>\r\n.dotted: header\n";
    j.bare_newlines = submitted_ % 2 == 1;
    j.body = j.bare_newlines ? &body_ : &clean_body_;
    j.body_8bit = submitted_ % 2 == 0;
    j.smtputf8 = submitted_ == 2;
    j.xverp = (flags_ & kXverp) != 0;
    CHECK(client_.submit(std::move(j)).ok());
    recipients_.push_back(submitted_ + 1 + (submitted_ == 3 ? 1 : 0));
  }

  void drain() {
    const bool silent = client_.state() == ClientState::closed || client_.state() == ClientState::failed;
    for (const OutSegment& s : client_.take_output()) {
      CHECK(s.size() > 0);
      if (s.is_slice) {
        bool inside = false;
        for (const io::SliceChain* chain : {&body_, &clean_body_}) {
          for (const io::Slice& b : *chain) {
            inside = inside || (b.buffer.get() == s.slice.buffer.get() && s.slice.offset >= b.offset &&
                                s.slice.offset + s.slice.length <= b.offset + b.length);
          }
        }
        CHECK(inside);
      }
      out_.output.append(s.view());
    }
    if (silent) CHECK(!was_silent_ || out_.output.size() == silent_size_);
    if (silent && !was_silent_) {
      was_silent_ = true;
      silent_size_ = out_.output.size();
    }
    for (const JobResult& r : client_.take_results()) {
      CHECK(r.id >= 1 && r.id <= submitted_);
      // Once each; in order, but a job refused before sending overtakes those in flight.
      CHECK(!answered_[r.id]);
      answered_[r.id] = true;
      ++finished_;
      CHECK(r.recipients.size() == recipients_[r.id - 1]);
      std::string line = std::to_string(r.id) + ":";
      for (const Reply& x : r.recipients) {
        CHECK(x.code >= 200 && x.code <= 599);
        for (char c : x.text) CHECK(c != '\r' && c != '\n');
        line += x.line() + "|";
      }
      out_.results.push_back(line);
    }
    // Every body sent went out whole: each byte either referenced or copied.
    CHECK(sums_of_whole_bodies(counters_.body_bytes_copied + counters_.body_bytes_referenced));
  }

  Outcome finish() {
    if (flags_ & kQuitAtEnd) client_.quit();
    drain();
    client_.connection_lost();
    drain();
    CHECK(finished_ == submitted_);  // nobody is left without an answer
    CHECK(!client_.has_output());
    // No bare CR or LF anywhere in what was sent.
    const std::string& o = out_.output;
    for (size_t i = 0; i < o.size(); ++i) {
      if (o[i] == '\n') CHECK(i > 0 && o[i - 1] == '\r');
      if (o[i] == '\r') CHECK(i + 1 < o.size() && o[i + 1] == '\n');
    }
    return out_;
  }

 private:
  // Whole bodies: repaired ones (DATA), clean ones with DATA and without
  // their stuffing dot with BDAT.
  static bool sums_of_whole_bodies(uint64_t bytes) {
    for (uint64_t repaired = 0; repaired <= kMaxJobs; ++repaired) {
      for (uint64_t clean = 0; clean <= kMaxJobs; ++clean) {
        const uint64_t data = repaired * kBody.size() + clean * kCleanBody.size();
        if (data <= bytes && (bytes - data) % kCleanUnstuffed == 0) return true;
      }
    }
    return false;
  }

  ClientCounters counters_;
  SmtpClient client_;
  io::SliceChain body_;
  io::SliceChain clean_body_;
  bool answered_[kMaxJobs + 1] = {};
  uint8_t flags_;
  uint64_t submitted_ = 0;
  uint64_t finished_ = 0;
  std::vector<size_t> recipients_;
  std::deque<std::string> addresses_;
  Outcome out_;
  bool was_silent_ = false;
  size_t silent_size_ = 0;
};

void feed_split(Run& run, std::string_view bytes, const std::vector<size_t>& splits, bool submit_when_ready) {
  size_t k = 0;
  while (!bytes.empty()) {
    const size_t n = std::min(bytes.size(), splits[k++ % splits.size()]);
    run.client().received(bytes.substr(0, n));
    bytes.remove_prefix(n);
    run.drain();
    if (submit_when_ready && run.client().can_submit()) {
      run.submit();
      run.drain();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::optional<fuzzing::FuzzInput> decoded = fuzzing::decode_fuzz_input(data, size);
  if (!decoded) return 0;
  const uint8_t flags = decoded->flags;
  const std::vector<size_t>& splits = decoded->splits;
  const std::string_view rest = decoded->bytes;

  std::string server;
  if (flags & kCannedHandshake) server = kHandshake;
  if (flags & kTokenMode) {
    for (char c : rest) {
      server += kTokens[static_cast<unsigned char>(c) % kTokenCount];
      server += "\r\n";
    }
  } else {
    server += rest;
  }

  ClientConfig config;
  config.protocol = (flags & kLmtp) ? Protocol::lmtp : Protocol::smtp;
  config.helo_name = "gw.example.org";
  if (flags & kAuth) {
    config.auth_user = "user";
    config.auth_password = "pass";
  }
  config.max_transactions = flags >> kLimitShift;

  io::BufferPool pool(kPoolBuffer, kPoolBlock);

  // (1) One job queued before connecting: the split must not matter.
  Run whole(config, pool, flags);
  whole.submit();
  whole.client().connected();
  whole.client().received(server);
  whole.drain();
  const Outcome a = whole.finish();

  Run cut(config, pool, flags);
  cut.submit();
  cut.client().connected();
  feed_split(cut, server, splits, false);
  const Outcome b = cut.finish();
  CHECK(a == b);

  // (2) New jobs whenever the client is ready.
  Run many(config, pool, flags);
  many.client().connected();
  feed_split(many, server, splits, true);
  many.finish();
  return 0;
}
