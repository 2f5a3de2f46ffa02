// delivery_stack.h - the delivering half of `listgate serve`, put together.
//
// Owns, in dependency order: the spool and the bounce log (files), the pool
// of persistent connections to `smtp_host:smtp_port`, the retry queue that
// works the spool, and the ListDeliverer that the LMTP sessions hand
// finished transactions to. Opening it reads what the spool holds from an
// earlier run and schedules it. The server registers its counters as
// metrics and asks it, while draining, whether deliveries are in flight.
#pragma once

#include <memory>

#include "listgate/app/config.h"
#include "listgate/app/metrics.h"
#include "listgate/base/result.h"
#include "listgate/delivery/bounce_log.h"
#include "listgate/delivery/list_deliverer.h"
#include "listgate/delivery/retry_queue.h"
#include "listgate/delivery/spool.h"
#include "listgate/delivery/upstream_pool.h"
#include "listgate/io/reactor.h"

namespace listgate::app {

class DeliveryStack {
 public:
  static Result<std::unique_ptr<DeliveryStack>> open(const Config& config, io::Reactor& reactor);
  ~DeliveryStack();
  DeliveryStack(const DeliveryStack&) = delete;
  DeliveryStack& operator=(const DeliveryStack&) = delete;

  delivery::Deliverer& deliverer() { return *deliverer_; }
  void register_metrics(MetricsRegistry& metrics) const;
  // Outbound connections with nothing to do say QUIT (on SIGTERM).
  void quit_idle();

 private:
  DeliveryStack(const Config& config, io::Reactor& reactor) : reactor_(reactor), config_(config) {}
  std::unique_ptr<delivery::UpstreamPool> make_backend_pool(const table::BackendSpec& spec);

  io::Reactor& reactor_;
  Config config_;
  delivery::ClientCounters client_counters_;
  delivery::BatchCounters batch_counters_;
  std::unique_ptr<delivery::Spool> spool_;
  std::unique_ptr<delivery::BounceLog> bounce_log_;
  std::unique_ptr<delivery::UpstreamPool> outbound_;
  std::unique_ptr<delivery::RetryQueue> retry_;
  std::unique_ptr<delivery::ListDeliverer> deliverer_;
};

}  // namespace listgate::app
