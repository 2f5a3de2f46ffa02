// list_deliverer.h - what listgate does with a message, recipient by role.
//
// The Deliverer of `listgate serve` (DESIGN.md sections 1 and 5):
//   posting address   loop check (X-BeenThere), list headers and a
//                     Message-ID when missing, then the members in batches
//                     (member_batch.h), envelope sender list-bounces@dom,
//                     VERP per member for "verp" lists
//   -owner            the owners, envelope sender list-bounces@dom, unchanged
//   -bounces[+TAG]    one bounce log line (the VERP tag's member, else the
//                     DSN's Final-Recipient)
//   list with backend every address relayed unchanged to the backend; its
//                     reply per recipient is ours; unreachable: 451 4.4.1
// A posting or owner recipient is answered 250 once every member got 2xx
// after the final dot, or was refused for good (bounce log), or is durably
// in the spool; when the spool write fails, 451 4.3.0.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "listgate/delivery/deliverer.h"
#include "listgate/delivery/member_batch.h"
#include "listgate/delivery/retry_queue.h"
#include "listgate/delivery/upstream_pool.h"
#include "listgate/table/backend_spec.h"
#include "listgate/table/list_table.h"

namespace listgate::delivery {

struct ListDeliveryConfig {
  std::string hostname = "localhost";  // for new Message-IDs
  uint32_t max_recipients = 500;
  bool use_xverp = false;
};

struct ListDeliveryCounters {
  uint64_t posts = 0;               // posting recipients fanned out
  uint64_t owner_messages = 0;
  uint64_t loops = 0;               // 554 5.4.6
  uint64_t bounces_received = 0;    // mail to -bounces recorded
  uint64_t relayed = 0;             // recipients relayed to a backend
  uint64_t relay_unreachable = 0;   // of those, answered 451 4.4.1
  uint64_t tempfailed = 0;          // recipients answered 451 4.3.0
};

class ListDeliverer final : public Deliverer {
 public:
  // Makes (once per backend) the pool for a list's backend.
  using BackendPoolFactory = std::function<std::unique_ptr<UpstreamPool>(const table::BackendSpec&)>;

  ListDeliverer(ListDeliveryConfig config, UpstreamPool& outbound, RetryQueue& retry, VerpFormatter verp,
                BackendPoolFactory backends, BatchCounters& batch_counters);
  ~ListDeliverer() override;

  void deliver(lmtp::Transaction& t, Done done) override;

  const ListDeliveryCounters& counters() const { return counters_; }
  size_t in_progress() const { return in_progress_; }
  // Backend pools made so far (for metrics).
  const std::map<std::string, std::unique_ptr<UpstreamPool>>& backend_pools() const { return backend_pools_; }

 private:
  struct Delivery;
  void deliver_post(const std::shared_ptr<Delivery>& d, uint32_t list, const std::vector<size_t>& rcpts);
  void deliver_owner(const std::shared_ptr<Delivery>& d, uint32_t list, const std::vector<size_t>& rcpts);
  void record_bounce(Delivery& d, size_t rcpt);
  void relay(const std::shared_ptr<Delivery>& d, const table::BackendSpec& spec, const std::vector<size_t>& rcpts);
  void settle(const std::shared_ptr<Delivery>& d, const std::vector<size_t>& rcpts, const std::string& list,
              SpoolKind kind, const BatchEnvelope& envelope, const std::string& prefix,
              const table::AddressList& addresses, const BatchOutcomes& outcomes);
  UpstreamPool& backend_pool(const table::BackendSpec& spec);
  void finish_one(const std::shared_ptr<Delivery>& d);

  ListDeliveryConfig config_;
  UpstreamPool& outbound_;
  RetryQueue& retry_;
  VerpFormatter verp_;
  BackendPoolFactory make_backend_pool_;
  BatchCounters& batch_counters_;
  ListDeliveryCounters counters_;
  std::map<std::string, std::unique_ptr<UpstreamPool>> backend_pools_;
  size_t in_progress_ = 0;
};

}  // namespace listgate::delivery
