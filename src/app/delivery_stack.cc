// delivery_stack.cc - the delivering half of `listgate serve` (see delivery_stack.h).
#include "delivery_stack.h"

#include <string>
#include <vector>

#include "listgate/app/log.h"
#include "listgate/io/socket.h"
#include "listgate/table/backend_spec.h"

namespace listgate::app {

namespace {

using namespace std::chrono_literals;

// A connect to a local MTA that takes longer than this is a dead one.
constexpr std::chrono::milliseconds kConnectTimeout = 10s;
// Retried spool entries in flight at once: enough to keep the pool busy,
// few enough that fresh posts are not starved behind a long backlog.
constexpr uint32_t kRetryConcurrency = 8;
// A backend (an existing list server) gets a smaller pool than the MTA.
constexpr uint32_t kMaxBackendPoolSize = 4;

void warn(std::string_view event, std::string_view detail) {
  log_event(Level::warning, event, {{"detail", detail}});
}

}  // namespace

Result<std::unique_ptr<DeliveryStack>> DeliveryStack::open(const Config& config, io::Reactor& reactor) {
  std::unique_ptr<DeliveryStack> stack(new DeliveryStack(config, reactor));
  const Config& c = stack->config_;

  auto spool = delivery::Spool::open(c.listgate.spool_dir);
  if (!spool) return make_error("spool_dir: " + spool.error().message);
  stack->spool_ = std::move(*spool);
  auto bounce_log = delivery::BounceLog::open(c.listgate.bounce_log);
  if (!bounce_log) return make_error("bounce_log: " + bounce_log.error().message);
  stack->bounce_log_ = std::move(*bounce_log);

  delivery::PoolConfig pool;
  // Named like a backend ("smtp:[host]:port") in logs and replies.
  pool.name = table::format_backend_spec(table::BackendSpec{table::BackendSpec::Protocol::smtp,
                                                            table::BackendSpec::Transport::tcp, c.mta.smtp.host,
                                                            c.mta.smtp.port, {}});
  auto peers = io::resolve_peer(c.mta.smtp.host, c.mta.smtp.port);
  if (!peers) return make_error("smtp_host: " + peers.error().message);
  pool.peers = std::move(*peers);
  pool.client.protocol = delivery::Protocol::smtp;
  pool.client.helo_name = c.listgate.hostname;
  pool.client.auth_user = c.mta.smtp_user;
  pool.client.auth_password = c.mta.smtp_pass;
  pool.client.max_transactions = c.mta.max_sessions_per_connection;
  pool.size = c.listgate.smtp_pool_size;
  pool.connect_timeout = kConnectTimeout;
  stack->outbound_ = std::make_unique<delivery::UpstreamPool>(reactor, std::move(pool), stack->client_counters_);

  const std::string verp_format = c.mta.verp_format;
  delivery::VerpFormatter verp = [verp_format](std::string_view bounces, std::string_view local,
                                               std::string_view domain) {
    return expand_verp_format(verp_format, bounces, local, domain);
  };

  delivery::RetryConfig retry;
  retry.retry_initial = c.listgate.retry_initial;
  retry.retry_max = c.listgate.retry_max;
  retry.delivery_retry_period = c.mta.delivery_retry_period;
  retry.max_recipients = c.mta.max_recipients;
  retry.use_xverp = c.listgate.use_xverp;
  retry.concurrency = kRetryConcurrency;
  stack->retry_ = std::make_unique<delivery::RetryQueue>(reactor, *stack->spool_, *stack->bounce_log_,
                                                         *stack->outbound_, verp, retry, stack->batch_counters_, warn);

  std::vector<std::string> problems;
  auto entries = stack->spool_->load_all(&problems);
  for (const std::string& p : problems) log_event(Level::warning, "spool_problem", {{"detail", p}});
  if (!entries) return make_error("spool_dir: " + entries.error().message);
  size_t owed = 0;
  for (const delivery::SpoolEntry& e : *entries) owed += e.recipients.size();
  log_event(Level::info, "spool_loaded", {{"dir", c.listgate.spool_dir},
                                          {"entries", entries->size()}, {"recipients", owed}});
  stack->retry_->load(std::move(*entries));

  delivery::ListDeliveryConfig list;
  list.hostname = c.listgate.hostname;
  list.max_recipients = c.mta.max_recipients;
  list.use_xverp = c.listgate.use_xverp;
  DeliveryStack* self = stack.get();
  stack->deliverer_ = std::make_unique<delivery::ListDeliverer>(
      list, *stack->outbound_, *stack->retry_, verp,
      [self](const table::BackendSpec& spec) { return self->make_backend_pool(spec); }, stack->batch_counters_);
  return stack;
}

DeliveryStack::~DeliveryStack() {
  // Users first: the deliverer and the retry queue hold jobs in the pools.
  deliverer_.reset();
  retry_.reset();
  outbound_.reset();
}

std::unique_ptr<delivery::UpstreamPool> DeliveryStack::make_backend_pool(const table::BackendSpec& spec) {
  delivery::PoolConfig pool;
  pool.name = table::format_backend_spec(spec);
  if (spec.transport == table::BackendSpec::Transport::unix_socket) {
    auto peer = io::unix_peer(spec.path);
    if (peer) pool.peers.push_back(std::move(*peer));
    else log_event(Level::error, "backend_unusable", {{"backend", pool.name}, {"error", peer.error().message}});
  } else {
    // Resolved once, when the backend is first used; a name that does not
    // resolve leaves the pool without peers, so its mail gets 451 4.4.1.
    auto peers = io::resolve_peer(spec.host, spec.port);
    if (peers) pool.peers = std::move(*peers);
    else log_event(Level::error, "backend_unusable", {{"backend", pool.name}, {"error", peers.error().message}});
  }
  pool.client.protocol = spec.protocol == table::BackendSpec::Protocol::lmtp ? delivery::Protocol::lmtp
                                                                               : delivery::Protocol::smtp;
  pool.client.helo_name = config_.listgate.hostname;
  pool.size = std::min(config_.listgate.smtp_pool_size, kMaxBackendPoolSize);
  pool.connect_timeout = kConnectTimeout;
  log_event(Level::info, "backend_pool", {{"backend", pool.name}, {"size", pool.size}});
  return std::make_unique<delivery::UpstreamPool>(reactor_, std::move(pool), client_counters_);
}

void DeliveryStack::quit_idle() {
  outbound_->quit_idle();
  for (const auto& [name, pool] : deliverer_->backend_pools()) pool->quit_idle();
}

void DeliveryStack::register_metrics(MetricsRegistry& metrics) const {
  const delivery::BatchCounters& b = batch_counters_;
  const char* deliveries_help = "Outbound recipient deliveries by outcome (retries included).";
  metrics.counter("listgate_deliveries_total", deliveries_help, &b.delivered, {{"result", "delivered"}});
  metrics.counter("listgate_deliveries_total", deliveries_help, &b.refused, {{"result", "refused"}});
  metrics.counter("listgate_deliveries_total", deliveries_help, &b.deferred, {{"result", "deferred"}});
  metrics.counter("listgate_outbound_transactions_total", "Outbound transactions submitted.", &b.transactions);
  const delivery::ClientCounters& cc = client_counters_;
  metrics.counter("listgate_outbound_bdat_transactions_total",
          "Outbound transactions whose message went out with BDAT (CHUNKING).", &cc.chunked);
  metrics.counter("listgate_outbound_body_bytes_referenced_total", "Body octets sent from the receive buffers.",
          &cc.body_bytes_referenced);
  metrics.counter("listgate_outbound_body_bytes_copied_total", "Body octets copied on the way out (bare CR/LF repair).",
          &cc.body_bytes_copied);
  metrics.counter("listgate_outbound_protocol_errors_total", "Upstream replies that broke the protocol.",
          &cc.protocol_errors);
  const delivery::PoolCounters& p = outbound_->counters();
  metrics.counter("listgate_outbound_connects_total", "Connections set up to smtp_host.", &p.connects);
  metrics.counter("listgate_outbound_connect_failures_total", "Connections to smtp_host that failed to set up.",
          &p.connect_failures);
  metrics.counter("listgate_outbound_timeouts_total", "Outbound connections given up for not answering.", &p.timeouts);
  metrics.gauge("listgate_outbound_connections", "Connections to smtp_host open now.",
        [this] { return double(outbound_->connections()); });
  const delivery::ListDeliveryCounters& d = deliverer_->counters();
  metrics.counter("listgate_posts_total", "Posts fanned out to members.", &d.posts);
  metrics.counter("listgate_owner_messages_total", "Messages forwarded to list owners.", &d.owner_messages);
  metrics.counter("listgate_loops_total", "Posts refused with 554 5.4.6 (X-BeenThere).", &d.loops);
  metrics.counter("listgate_bounces_received_total", "Mail to -bounces addresses recorded.", &d.bounces_received);
  metrics.counter("listgate_relayed_total", "Recipients relayed to a list backend.", &d.relayed);
  metrics.counter("listgate_relay_unreachable_total", "Relayed recipients answered 451 4.4.1.", &d.relay_unreachable);
  metrics.counter("listgate_tempfailed_total", "Recipients answered 451 4.3.0 (not delivered, not spooled).",
          &d.tempfailed);
  const delivery::RetryCounters& r = retry_->counters();
  metrics.counter("listgate_bounces_total", "Lines written to the bounce log.", &r.bounces_recorded);
  metrics.counter("listgate_bounce_log_failures_total", "Bounce log writes that failed.", &r.bounce_log_failures);
  metrics.counter("listgate_spooled_recipients_total", "Recipients put into the spool.", &r.deferred);
  metrics.counter("listgate_spool_failures_total", "Spool writes that failed.", &r.spool_failures);
  metrics.counter("listgate_spool_retries_total", "Delivery attempts made from the spool.", &r.retries);
  metrics.counter("listgate_spool_expired_total", "Recipients given up after delivery_retry_period.", &r.expired);
  metrics.gauge("listgate_spool_entries", "Messages waiting in the spool.", [this] { return double(retry_->entries()); });
  metrics.gauge("listgate_spool_recipients", "Recipients owed by the spool.",
        [this] { return double(retry_->recipients_owed()); });
}

}  // namespace listgate::app
