// deliverer.h - what happens to a message once its final dot is read.
//
// The LMTP side hands each finished transaction to a Deliverer and gets one
// reply line per recipient back, possibly later (delivery is asynchronous).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "listgate/lmtp/session.h"

namespace listgate::delivery {

class Deliverer {
 public:
  using Done = std::function<void(std::vector<std::string> replies)>;
  virtual ~Deliverer() = default;
  // Delivers `t`; calls done exactly once with one reply line (no CRLF) per
  // recipient of t, in order. `t` stays valid until done is called.
  virtual void deliver(lmtp::Transaction& t, Done done) = 0;
};

// --discard: answers as if delivered and drops the mail, like Postfix's
// smtp-sink. Measures the front end alone.
class DiscardDeliverer final : public Deliverer {
 public:
  void deliver(lmtp::Transaction& t, Done done) override;
};

}  // namespace listgate::delivery
