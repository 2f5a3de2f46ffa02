// workload.h - every byte a load run sends, built before it starts.
//
// Bodies: one per size variant (size_distribution.h), each with its
// `MAIL FROM:<..> SIZE=n` line. Recipient sets: K sets of `--rcpts` RCPT
// lines plus DATA; exactly round(share * K * rcpts) of the K * rcpts RCPTs
// (chosen at random with the seed) name an address that must be refused,
// so every K messages carry the asked share of unknown recipients. The
// addresses the server knows are used in turn, so all of them get mail.
//
// next_message() hands out the next plan: recipient sets in turn, a body
// drawn at random. It is what connections call per transaction: an index
// step and a random draw, no allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "listgate/base/result.h"
#include "listgate/io/buffer.h"
#include "prebuilt_bytes.h"
#include "size_distribution.h"

namespace listgate::loadbench {

struct Body {
  io::Slice mail_line;  // MAIL FROM:<sender> SIZE=n
  io::Slice message;    // the message and the final ".\r\n"
  uint64_t size = 0;    // the message without the final ".\r\n"
};

struct RecipientSet {
  io::Slice commands;                 // the RCPT lines, then DATA
  std::vector<uint32_t> line_starts;  // offset of each RCPT line, of DATA, then the end
  std::vector<uint8_t> unknown;       // per RCPT: 1 when it must be refused with 550

  uint32_t rcpts() const { return static_cast<uint32_t>(unknown.size()); }
  // RCPT line i (i < rcpts()), or DATA (i == rcpts()).
  io::Slice line(size_t i) const { return commands.sub(line_starts[i], line_starts[i + 1] - line_starts[i]); }
};

struct MessagePlan {
  const Body* body = nullptr;
  const RecipientSet* recipients = nullptr;
};

// What a connection asks for its next transaction.
class MessageSource {
 public:
  virtual ~MessageSource() = default;
  // nullopt once the run is over (message budget spent, or stopped).
  virtual std::optional<MessagePlan> next_message() = 0;
};

struct WorkloadSpec {
  std::string sender = "bench-bounces@listgate-bench.example";
  std::vector<std::string> known;    // addresses the server accepts
  std::vector<std::string> unknown;  // addresses it must refuse with 550
  uint32_t rcpts_per_message = 1;
  double unknown_share = 0;          // 0..1
  SizeDistribution sizes;
  uint64_t message_limit = 0;        // 0: until stop()
  uint64_t seed = 1;
};

class Workload final : public MessageSource {
 public:
  static Result<std::unique_ptr<Workload>> build(const WorkloadSpec& spec);

  std::optional<MessagePlan> next_message() override;
  // No more messages are handed out (the duration is over).
  void stop() { stopped_ = true; }
  // next_message() returns nullopt from now on.
  bool exhausted() const { return stopped_ || (limit_ != 0 && handed_out_ >= limit_); }

  const io::Slice& lhlo() const { return commands_[0]; }
  const io::Slice& quit() const { return commands_[1]; }
  const io::Slice& rset() const { return commands_[2]; }
  const std::vector<Body>& bodies() const { return bodies_; }
  const std::vector<RecipientSet>& recipient_sets() const { return sets_; }
  uint64_t handed_out() const { return handed_out_; }

 private:
  Workload() = default;

  PrebuiltBytes commands_;   // LHLO, QUIT, RSET, then the MAIL lines
  PrebuiltBytes messages_;
  PrebuiltBytes rcpt_blocks_;
  std::vector<Body> bodies_;
  std::vector<RecipientSet> sets_;
  uint64_t limit_ = 0;
  uint64_t handed_out_ = 0;
  uint64_t rng_ = 0;
  bool stopped_ = false;
};

// How many recipient sets a run builds for `rcpts` per message.
size_t recipient_set_count(uint32_t rcpts);

}  // namespace listgate::loadbench
