// smtp_harness.h - drives an SmtpClient the way the delivery pool will, for the tests.
//
// Server bytes are fed cut by a Splitter (whole, byte by byte, random
// chunks); client output is drained as the owner would drain it and
// concatenated, and every slice segment in it is checked to point inside a
// body chain the test registered (the body goes out by reference, from the
// very buffers it arrived in).
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/delivery/smtp_client.h"
#include "listgate/io/buffer.h"

namespace listgate::delivery::smtp_test {

// Returns the next chunk size (>= 1) for `remaining` bytes.
using Splitter = std::function<size_t(size_t remaining)>;

inline Splitter whole() {
  return [](size_t remaining) { return remaining; };
}
inline Splitter bytewise() {
  return [](size_t) { return size_t{1}; };
}
inline Splitter random_splits(uint32_t seed, size_t max_chunk = 16) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng, max_chunk](size_t remaining) {
    std::uniform_int_distribution<size_t> d(1, max_chunk);
    return std::min(remaining, d(*rng));
  };
}

// A body chain cut into slices of the given lengths (the rest in one more slice).
inline io::SliceChain chain_of(io::BufferPool& pool, std::string_view bytes, const std::vector<size_t>& cuts = {}) {
  io::SliceChain chain;
  size_t i = 0;
  for (size_t cut : cuts) {
    if (i >= bytes.size()) break;
    io::SliceChain part = io::copy_into_pool(pool, bytes.substr(i, cut));
    for (io::Slice& s : part) chain.push_back(std::move(s));
    i += cut;
  }
  if (i < bytes.size()) {
    io::SliceChain part = io::copy_into_pool(pool, bytes.substr(i));
    for (io::Slice& s : part) chain.push_back(std::move(s));
  }
  return chain;
}

inline std::string chain_bytes(const io::SliceChain& chain) {
  std::string s;
  for (const io::Slice& sl : chain) s.append(sl.view());
  return s;
}

// CR and LF made visible, for failure messages.
inline std::string visible(std::string_view s) {
  std::string v;
  for (char c : s) {
    if (c == '\r') {
      v += "\\r";
    } else if (c == '\n') {
      v += "\\n\n";
    } else {
      v += c;
    }
  }
  return v;
}

class Driver {
 public:
  explicit Driver(ClientConfig config = {}) : client_(std::move(config), counters_) {}

  SmtpClient& client() { return client_; }
  ClientCounters& counters() { return counters_; }

  // Slices of `chain` may appear in the output by reference.
  void track(const io::SliceChain& chain) { chains_.push_back(&chain); }

  void feed(std::string_view bytes, const Splitter& split = whole()) {
    while (!bytes.empty()) {
      const size_t n = std::min(bytes.size(), std::max<size_t>(1, split(bytes.size())));
      client_.received(bytes.substr(0, n));
      bytes.remove_prefix(n);
    }
  }

  // Drains the client's output; returns its bytes.
  std::string output() {
    std::string s;
    for (const OutSegment& seg : client_.take_output()) {
      if (seg.is_slice) {
        ++slice_segments_;
        referenced_ += seg.slice.length;
        if (!tracked(seg.slice)) references_ok_ = false;
      }
      s.append(seg.view());
    }
    all_output_ += s;
    return s;
  }
  // Drains results.
  std::vector<JobResult> results() {
    std::vector<JobResult> r = client_.take_results();
    for (const JobResult& j : r) all_results_.push_back(j);
    return r;
  }

  const std::string& all_output() const { return all_output_; }
  const std::vector<JobResult>& all_results() const { return all_results_; }
  bool references_ok() const { return references_ok_; }
  size_t slice_segments() const { return slice_segments_; }
  uint64_t referenced() const { return referenced_; }

 private:
  bool tracked(const io::Slice& s) const {
    for (const io::SliceChain* c : chains_) {
      for (const io::Slice& b : *c) {
        if (b.buffer.get() == s.buffer.get() && s.offset >= b.offset && s.offset + s.length <= b.offset + b.length) {
          return true;
        }
      }
    }
    return false;
  }

  ClientCounters counters_;
  SmtpClient client_;
  std::vector<const io::SliceChain*> chains_;
  std::string all_output_;
  std::vector<JobResult> all_results_;
  bool references_ok_ = true;
  size_t slice_segments_ = 0;
  uint64_t referenced_ = 0;
};

}  // namespace listgate::delivery::smtp_test
