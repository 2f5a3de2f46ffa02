// fuzz_lmtp_session.cc - libFuzzer target for the LMTP session.
//
// Input layout: byte 0 picks the configuration and events, byte 1 the number
// of split sizes that follow (1..16), then the split sizes, then the bytes a
// client sends. The bytes are fed twice: cut by the split sizes into small
// pooled buffers, and whole; every finished message is completed with
// "250 2.0.0 Ok" per recipient. Checked: every output line is a reply
// ("NNN" then ' ' or '-', CRLF-terminated, no stray CR/LF), both runs give the
// same output and the same transactions, bodies stay within SIZE and
// reference the receive buffers without copies, and a closed session stays
// silent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "listgate/io/buffer.h"
#include "listgate/lmtp/session.h"

namespace {

using namespace listgate;

// BufferPool takes page-aligned blocks; aligned_alloc wants whole pages.
constexpr uint32_t kPoolBlock = 4096;

#define CHECK(cond)      \
  do {                   \
    if (!(cond)) abort(); \
  } while (0)

// Accepts local@lists.example.org (case-insensitive suffix match), rejects
// the rest with a verdict derived from the address, so every branch runs.
class FuzzDirectory final : public table::Directory {
 public:
  table::Resolution resolve(std::string_view a) const override {
    CHECK(!a.empty());
    for (char c : a) CHECK(c != '\r' && c != '\n');
    const size_t at = a.rfind('@');
    if (at == std::string_view::npos || at == 0) return {table::Verdict::bad_address};
    const std::string_view domain = a.substr(at + 1);
    if (domain.size() != 17) return {table::Verdict::unknown_domain};
    if (a[0] == 'x') return {table::Verdict::unknown_list};
    if (a[0] == 'y') return {table::Verdict::needs_backend};
    return {table::Verdict::accept, table::Role::posting, 0, false};
  }
};

struct Outcome {
  std::string output;
  std::vector<std::string> bodies;
  std::vector<size_t> recipient_counts;
  bool closed = false;
};

struct Plan {
  lmtp::SessionConfig config;
  uint32_t buffer_size = 64;
  size_t shutdown_at = SIZE_MAX;  // byte offset where shutdown() is called
  size_t idle_at = SIZE_MAX;      // byte offset where idle_timeout() is called
};

void check_output(std::string_view out) {
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t eol = out.find("\r\n", pos);
    CHECK(eol != std::string_view::npos);
    const std::string_view line = out.substr(pos, eol - pos);
    CHECK(line.size() >= 4);
    for (int i = 0; i < 3; ++i) CHECK(line[i] >= '0' && line[i] <= '9');
    CHECK(line[3] == ' ' || line[3] == '-');
    CHECK(line.find('\r') == std::string_view::npos);
    CHECK(line.find('\n') == std::string_view::npos);
    pos = eol + 2;
  }
}

class Driver {
 public:
  Driver(const Plan& plan)
      : plan_(plan),
        pool_(plan.buffer_size, kPoolBlock / plan.buffer_size),
        dir_(std::make_shared<FuzzDirectory>()),
        session_(plan.config, [this] { return dir_; }, counters_) {
    session_.start();
  }

  void feed(std::string_view chunk) {
    while (!chunk.empty()) {
      if (!buf_ || used_ == buf_->capacity()) {
        buf_ = pool_.acquire();
        used_ = 0;
      }
      const auto n = static_cast<uint32_t>(std::min<size_t>(chunk.size(), buf_->capacity() - used_));
      std::memcpy(buf_->data() + used_, chunk.data(), n);
      const bool was_closed = session_.closing();
      const size_t out_before = session_.output().size();
      lmtp::Session::Status st = session_.feed(io::Slice{buf_, used_, n});
      if (was_closed) {
        CHECK(st == lmtp::Session::Status::closing);
        CHECK(session_.output().size() == out_before);
      }
      used_ += n;
      chunk.remove_prefix(n);
      settle(st);
    }
  }

  void settle(lmtp::Session::Status st) {
    while (st == lmtp::Session::Status::transaction_ready) {
      CHECK(!session_.closing());
      CHECK(session_.in_transaction());
      lmtp::Transaction& t = session_.transaction();
      CHECK(!t.recipients.empty());
      CHECK(t.recipients.size() <= plan_.config.limits.max_transaction_recipients);
      CHECK(t.body_length <= plan_.config.limits.max_message_size);
      CHECK(t.directory != nullptr);
      std::string body;
      for (const io::Slice& s : t.body) {
        CHECK(s.length > 0);
        CHECK(s.offset + s.length <= s.buffer->capacity());
        body.append(s.view());
      }
      CHECK(body.size() == t.body_length);
      out_.bodies.push_back(std::move(body));
      out_.recipient_counts.push_back(t.recipients.size());
      const std::vector<std::string> replies(t.recipients.size(), "250 2.0.0 Ok");
      session_.complete(replies);
      CHECK(!session_.in_transaction());
      st = session_.resume();
    }
    CHECK((st == lmtp::Session::Status::closing) == session_.closing());
    CHECK(counters_.body_bytes_copied == 0);
  }

  void shutdown() {
    session_.shutdown();
    settle(session_.closing() ? lmtp::Session::Status::closing : lmtp::Session::Status::need_input);
  }
  void idle() {
    session_.idle_timeout();
    CHECK(session_.closing());
    CHECK(!session_.in_transaction());
  }

  Outcome finish() {
    out_.output = std::move(session_.output());
    out_.closed = session_.closing();
    check_output(out_.output);
    return std::move(out_);
  }

 private:
  Plan plan_;
  io::BufferPool pool_;
  lmtp::Counters counters_;
  std::shared_ptr<const table::Directory> dir_;
  lmtp::Session session_;
  io::BufferRef buf_;
  uint32_t used_ = 0;
  Outcome out_;
};

// Feeds `input` with events at their offsets; `splits` cuts each segment.
Outcome run(const Plan& plan, std::string_view input, const std::vector<size_t>& splits) {
  Driver d(plan);
  size_t k = 0;
  size_t pos = 0;
  auto feed_to = [&](size_t end) {
    end = std::min(end, input.size());
    while (pos < end) {
      size_t n = end - pos;
      if (!splits.empty()) n = std::min(n, splits[k++ % splits.size()]);
      d.feed(input.substr(pos, n));
      pos += n;
    }
  };
  const bool shutdown_first = plan.shutdown_at <= plan.idle_at;
  const size_t first = shutdown_first ? plan.shutdown_at : plan.idle_at;
  const size_t second = shutdown_first ? plan.idle_at : plan.shutdown_at;
  feed_to(first);
  if (first != SIZE_MAX) shutdown_first ? d.shutdown() : d.idle();
  feed_to(second);
  if (second != SIZE_MAX) shutdown_first ? d.idle() : d.shutdown();
  feed_to(input.size());
  return d.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::optional<fuzzing::FuzzInput> decoded = fuzzing::decode_fuzz_input(data, size);
  if (!decoded) return 0;
  const uint8_t flags = decoded->flags;
  const std::vector<size_t>& splits = decoded->splits;
  const std::string_view input = decoded->bytes;

  Plan plan;
  plan.config.hostname = "fuzz.example";
  plan.config.limits.max_message_size = (flags & 1) ? 64 : 100000;
  plan.config.limits.max_transaction_recipients = (flags & 2) ? 2 : 100;
  plan.buffer_size = (flags & 4) ? 16 : 512;
  if (flags & 8) plan.shutdown_at = input.size() / 2;
  if (flags & 16) plan.idle_at = input.size() * 3 / 4;

  const Outcome split = run(plan, input, splits);
  const Outcome whole = run(plan, input, {});
  CHECK(split.output == whole.output);
  CHECK(split.bodies == whole.bodies);
  CHECK(split.recipient_counts == whole.recipient_counts);
  CHECK(split.closed == whole.closed);
  return 0;
}
