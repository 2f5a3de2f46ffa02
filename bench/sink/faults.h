// faults.h - the sink's switchable faults and the decisions they make.
//
// One Faults value holds every knob; flags fill it at start and the control
// interface changes it at run time through the same set() (one parser, one
// set of names, documented in README.md "Faults"). The FaultEngine is shared
// by all sessions and answers the three questions a session asks: how to
// answer this RCPT, how to answer this message after its final dot (or
// LAST chunk), and whether to drop this connection in the middle of a body.
//
// Deterministic rules (`fail-rcpt`) come before the random faults. A random
// fault draws from the engine's Rng only when its probability is above
// zero, so switching one fault on does not shift another's sequence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"
#include "rng.h"

namespace listgate::sink {

inline constexpr uint16_t kRcptTempCode = 450;   // 450 4.2.1
inline constexpr uint16_t kRcptPermCode = 550;   // 550 5.1.1
inline constexpr uint16_t kDataTempCode = 451;   // 451 4.3.0
inline constexpr uint16_t kDataPermCode = 554;   // 554 5.6.0
inline constexpr uint32_t kMaxDelayMs = 600000;  // ten minutes
inline constexpr uint64_t kDefaultSeed = 1;

// `SUBSTRING=CODE`: a RCPT whose address contains SUBSTRING (ASCII case
// ignored) is answered CODE (400..599).
struct RcptRule {
  std::string substring;
  uint16_t code = 0;
};

struct Faults {
  double rcpt_temp_fail = 0;  // probability of 450 4.2.1 per RCPT
  double rcpt_perm_fail = 0;  // probability of 550 5.1.1 per RCPT
  double data_temp_fail = 0;  // probability of 451 4.3.0 after the final dot or LAST chunk
  double data_perm_fail = 0;  // probability of 554 5.6.0 after the final dot or LAST chunk
  double drop_mid_data = 0;   // probability of closing mid-body (DATA or BDAT) without a reply
  uint32_t delay_ms = 0;      // every reply is sent this much later
  std::vector<RcptRule> fail_rcpt;
};

Result<RcptRule> parse_rcpt_rule(std::string_view text);

// Appends the reply line (with CRLF) for a refused RCPT / refused message.
void append_rcpt_refusal(std::string& out, uint16_t code);
void append_data_refusal(std::string& out, uint16_t code);

class FaultEngine {
 public:
  explicit FaultEngine(uint64_t seed = kDefaultSeed) : rng_(seed) {}

  Faults& faults() { return faults_; }
  const Faults& faults() const { return faults_; }

  // `NAME VALUE` as a flag (--NAME VALUE) or a control `set`: the names of
  // Faults in kebab case, plus `seed` (restarts the random sequence).
  // `fail-rcpt` adds a rule. An error leaves everything as it was.
  Result<void> set(std::string_view name, std::string_view value);
  // Every fault off (rules removed, probabilities and delay zero); the
  // random sequence goes on.
  void clear() { faults_ = Faults{}; }
  void clear_rules() { faults_.fail_rcpt.clear(); }
  void reseed(uint64_t seed) { rng_.seed(seed); }

  // 0 to accept the recipient, else the reply code.
  uint16_t rcpt_code(std::string_view address);
  // 0 to accept the message, else the reply code.
  uint16_t data_code();
  // Asked once per DATA answered 354 and once per BDAT transaction (its first chunk with a recipient).
  bool drop_mid_data();

  // "rcpt-temp-fail=0 ... delay-ms=0 fail-rcpt=bob=550,carol=451" (no newline).
  void describe(std::string& out) const;

 private:
  bool draw(double p) { return p > 0 && rng_.uniform() < p; }
  Faults faults_;
  Rng rng_;
};

// ASCII case-insensitive substring search.
bool contains_ignoring_case(std::string_view haystack, std::string_view needle);

}  // namespace listgate::sink
