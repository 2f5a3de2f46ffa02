// discard.cc - the --discard deliverer: every recipient "delivered", nothing sent.
#include "listgate/delivery/deliverer.h"

namespace listgate::delivery {

void DiscardDeliverer::deliver(lmtp::Transaction& t, Done done) {
  std::vector<std::string> replies(t.recipients.size(), "250 2.0.0 Ok");
  done(std::move(replies));
}

}  // namespace listgate::delivery
