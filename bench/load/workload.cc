// workload.cc - see workload.h.
#include "workload.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "message_text.h"
#include "rng.h"

namespace listgate::loadbench {
namespace {

constexpr size_t kMaxRecipientSets = 64;
constexpr size_t kFirstMailLine = 3;  // after LHLO, QUIT and RSET in commands_
constexpr uint64_t kRecipientSetBudget = 1'000'000;  // RCPT lines prebuilt at most

// Which of the sets * rcpts RCPT positions name an unknown address.
std::vector<uint8_t> unknown_positions(size_t positions, double share, uint64_t seed) {
  std::vector<uint8_t> unknown(positions, 0);
  const auto count = static_cast<size_t>(std::llround(share * static_cast<double>(positions)));
  std::vector<uint32_t> order(positions);
  std::iota(order.begin(), order.end(), 0u);
  SplitMix64 rng(seed);
  for (size_t i = 0; i < count; ++i) {  // partial Fisher-Yates
    const size_t j = i + static_cast<size_t>(rng.below(positions - i));
    std::swap(order[i], order[j]);
    unknown[order[i]] = 1;
  }
  return unknown;
}

}  // namespace

size_t recipient_set_count(uint32_t rcpts) {
  return std::clamp<uint64_t>(kRecipientSetBudget / std::max<uint32_t>(1, rcpts), 1, kMaxRecipientSets);
}

Result<std::unique_ptr<Workload>> Workload::build(const WorkloadSpec& spec) {
  if (spec.rcpts_per_message == 0) return make_error("a message needs at least one recipient");
  const size_t sets = recipient_set_count(spec.rcpts_per_message);
  const size_t positions = sets * spec.rcpts_per_message;
  const std::vector<uint8_t> unknown = unknown_positions(positions, spec.unknown_share, spec.seed);
  const size_t unknown_count = static_cast<size_t>(std::count(unknown.begin(), unknown.end(), 1));
  if (unknown_count < positions && spec.known.empty()) return make_error("no recipient addresses to send to");
  if (unknown_count > 0 && spec.unknown.empty()) return make_error("no unknown addresses to send to");

  std::unique_ptr<Workload> w(new Workload());
  w->limit_ = spec.message_limit;
  w->rng_ = spec.seed;

  // Recipient sets.
  std::vector<std::string> blocks(sets);
  std::vector<RecipientSet> recipient_sets(sets);
  size_t next_known = 0;
  size_t next_unknown = 0;
  for (size_t s = 0; s < sets; ++s) {
    RecipientSet& set = recipient_sets[s];
    std::string& block = blocks[s];
    for (uint32_t r = 0; r < spec.rcpts_per_message; ++r) {
      const bool is_unknown = unknown[s * spec.rcpts_per_message + r] != 0;
      const std::string& address = is_unknown ? spec.unknown[next_unknown++ % spec.unknown.size()]
                                              : spec.known[next_known++ % spec.known.size()];
      set.line_starts.push_back(static_cast<uint32_t>(block.size()));
      set.unknown.push_back(is_unknown ? 1 : 0);
      block += rcpt_command(address);
    }
    set.line_starts.push_back(static_cast<uint32_t>(block.size()));
    block += "DATA\r\n";
    set.line_starts.push_back(static_cast<uint32_t>(block.size()));
  }
  auto rcpt_blocks = PrebuiltBytes::build(blocks);
  if (!rcpt_blocks.ok()) return rcpt_blocks.error();
  w->rcpt_blocks_ = std::move(rcpt_blocks.value());
  for (size_t s = 0; s < sets; ++s) recipient_sets[s].commands = w->rcpt_blocks_[s];
  w->sets_ = std::move(recipient_sets);

  // Bodies and their MAIL lines.
  const std::vector<uint64_t> sizes = spec.sizes.variants();
  std::vector<std::string> texts;
  std::vector<std::string> commands{lhlo_command(), quit_command(), rset_command()};
  for (size_t i = 0; i < sizes.size(); ++i) {
    texts.push_back(make_message(sizes[i], i) + ".\r\n");
    commands.push_back(mail_command(spec.sender, sizes[i]));
  }
  auto messages = PrebuiltBytes::build(texts);
  if (!messages.ok()) return messages.error();
  auto command_bytes = PrebuiltBytes::build(commands);
  if (!command_bytes.ok()) return command_bytes.error();
  w->messages_ = std::move(messages.value());
  w->commands_ = std::move(command_bytes.value());
  for (size_t i = 0; i < sizes.size(); ++i) {
    w->bodies_.push_back(Body{w->commands_[kFirstMailLine + i], w->messages_[i], texts[i].size() - 3});
  }
  return w;
}

std::optional<MessagePlan> Workload::next_message() {
  if (exhausted()) return std::nullopt;
  const size_t set = static_cast<size_t>(handed_out_ % sets_.size());
  ++handed_out_;
  size_t body = 0;
  if (bodies_.size() > 1) body = static_cast<size_t>(SplitMix64::step(rng_) % bodies_.size());
  return MessagePlan{&bodies_[body], &sets_[set]};
}

}  // namespace listgate::loadbench
