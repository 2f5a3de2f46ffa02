// harness.h - drives a Session the way the server does, for the tests.
//
// Input is a list of steps (bytes, or an event such as an idle timeout);
// bytes are cut into chunks by a Splitter and each chunk is received into
// pooled buffers, after the previous chunk in the same buffer while it fits
// (as a server reading into a buffer's free tail does). Every finished
// transaction is summarised, checked and completed with
// "250 2.0.0 <addr> delivered" per recipient, then the session resumed.
// Comparing Runs shows whether splitting changes anything.
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fake_directory.h"
#include "listgate/io/buffer.h"
#include "listgate/lmtp/session.h"

namespace listgate::lmtp::lmtp_test {

struct Step {
  enum class Kind { bytes, idle, shutdown } kind = Kind::bytes;
  std::string bytes;
};

struct TxSummary {
  std::string sender;
  bool body_8bitmime = false;
  bool smtputf8 = false;
  std::vector<std::string> recipients;
  std::string body;  // the chain's bytes, concatenated
  uint64_t body_length = 0;
  bool bare_newlines = false;
  bool directory = false;
  bool operator==(const TxSummary&) const = default;
};

struct SessionRun {
  std::string output;
  std::vector<TxSummary> transactions;
  Counters counters;
  bool closed = false;
  bool chain_ok = true;  // every body chain matched body_length and referenced pool buffers
};

// Returns the next chunk size (>= 1) for `remaining` bytes.
using Splitter = std::function<size_t(size_t remaining)>;

inline Splitter whole() {
  return [](size_t remaining) { return remaining; };
}
inline Splitter bytewise() {
  return [](size_t) { return size_t{1}; };
}
inline Splitter random_splits(uint32_t seed, size_t max_chunk = 64) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng, max_chunk](size_t remaining) {
    std::uniform_int_distribution<size_t> d(1, max_chunk);
    return std::min(remaining, d(*rng));
  };
}

inline SessionConfig test_config() {
  SessionConfig c;
  c.hostname = "mx.example.org";
  c.limits.max_message_size = 10000;
  c.limits.max_transaction_recipients = 3;
  return c;
}

inline std::string delivered(const std::string& address) {
  return "250 2.0.0 <" + address + "> delivered";
}

class Harness {
 public:
  explicit Harness(SessionConfig config = test_config(), uint32_t buffer_size = 512)
      : pool_(buffer_size, 8),
        directory_(std::make_shared<FakeDirectory>()),
        session_(config, [this] { return directory_; }, run_.counters) {
    session_.start();
  }

  Session& session() { return session_; }
  io::BufferPool& pool() { return pool_; }
  SessionRun& run() { return run_; }
  void set_directory(std::shared_ptr<const table::Directory> d) { directory_ = std::move(d); }
  // When false, transaction_ready is left for the test to handle.
  void set_auto_complete(bool on) { auto_complete_ = on; }

  // Feeds bytes cut by `split`; returns the last status.
  Session::Status feed(std::string_view bytes, const Splitter& split = whole()) {
    Session::Status st = Session::Status::need_input;
    while (!bytes.empty()) {
      const size_t n = std::min(bytes.size(), split(bytes.size()));
      st = feed_chunk(bytes.substr(0, n));
      bytes.remove_prefix(n);
    }
    return st;
  }

  void step(const Step& s, const Splitter& split) {
    switch (s.kind) {
      case Step::Kind::bytes: feed(s.bytes, split); break;
      case Step::Kind::idle: session_.idle_timeout(); settle(); break;
      case Step::Kind::shutdown: session_.shutdown(); settle(); break;
    }
  }

  // Moves the session's output into the run and returns the new part.
  std::string take_output() {
    std::string o = std::move(session_.output());
    session_.output().clear();
    run_.output += o;
    return o;
  }

  SessionRun finish() {
    take_output();
    run_.closed = session_.closing();
    return run_;
  }

  // Records and completes every transaction the session has ready.
  Session::Status settle() {
    while (auto_complete_ && !session_.closing() && last_ == Session::Status::transaction_ready) {
      record(session_.transaction());
      std::vector<std::string> replies;
      for (const Recipient& r : session_.transaction().recipients) replies.push_back(delivered(r.address));
      session_.complete(replies);
      last_ = session_.resume();
    }
    if (session_.closing()) last_ = Session::Status::closing;
    return last_;
  }

  void record(const Transaction& t) {
    TxSummary s;
    s.sender = t.sender;
    s.body_8bitmime = t.body_8bitmime;
    s.smtputf8 = t.smtputf8;
    for (const Recipient& r : t.recipients) s.recipients.push_back(r.address);
    for (const io::Slice& sl : t.body) {
      s.body.append(sl.view());
      if (sl.length == 0 || sl.offset + sl.length > sl.buffer->capacity()) run_.chain_ok = false;
    }
    s.body_length = t.body_length;
    s.bare_newlines = t.bare_newlines;
    s.directory = t.directory != nullptr;
    if (s.body.size() != t.body_length) run_.chain_ok = false;
    run_.transactions.push_back(std::move(s));
  }

 private:
  Session::Status feed_chunk(std::string_view chunk) {
    while (!chunk.empty()) {
      if (!buf_ || used_ == buf_->capacity()) {
        buf_ = pool_.acquire();
        used_ = 0;
      }
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(chunk.size(), buf_->capacity() - used_));
      std::memcpy(buf_->data() + used_, chunk.data(), n);
      last_ = session_.feed(io::Slice{buf_, used_, n});
      used_ += n;
      chunk.remove_prefix(n);
      settle();
    }
    return last_;
  }

  io::BufferPool pool_;
  SessionRun run_;
  std::shared_ptr<const table::Directory> directory_;
  Session session_;
  io::BufferRef buf_;
  uint32_t used_ = 0;
  bool auto_complete_ = true;
  Session::Status last_ = Session::Status::need_input;
};

// Runs all steps through a fresh session with the given splitter.
inline SessionRun run_steps(const std::vector<Step>& steps, const Splitter& split,
                     SessionConfig config = test_config(), uint32_t buffer_size = 512) {
  Harness h(config, buffer_size);
  for (const Step& s : steps) h.step(s, split);
  return h.finish();
}

inline SessionRun run_bytes(std::string_view bytes, const Splitter& split = whole(),
                     SessionConfig config = test_config(), uint32_t buffer_size = 512) {
  return run_steps({Step{Step::Kind::bytes, std::string(bytes)}}, split, config, buffer_size);
}

}  // namespace listgate::lmtp::lmtp_test
