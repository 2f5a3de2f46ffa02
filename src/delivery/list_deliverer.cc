// list_deliverer.cc - recipients by role: fan-out, owners, bounces, relay (see list_deliverer.h).
#include "listgate/delivery/list_deliverer.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <utility>

#include "listgate/base/concat.h"
#include "listgate/delivery/bounce_log.h"
#include "listgate/delivery/message_headers.h"
#include "listgate/table/list_table.h"

namespace listgate::delivery {

// One transaction being delivered: its replies fill in as the parts finish.
struct ListDeliverer::Delivery {
  lmtp::Transaction* t = nullptr;
  std::shared_ptr<const table::ListTable> table;
  // t->body without ownership: the transaction outlives the delivery.
  std::shared_ptr<const io::SliceChain> body;
  std::vector<std::string> replies;
  size_t open = 1;  // parts still running, plus deliver()'s own hold
  Done done;
  bool scanned = false;
  HeaderScan headers;
  std::string new_message_id;
  bool bounce_read = false;
  BounceReport bounce;

  const HeaderScan& scan(std::string_view hostname) {
    if (!scanned) {
      headers = scan_headers(t->body);
      if (!headers.has_message_id) new_message_id = make_message_id(hostname);
      scanned = true;
    }
    return headers;
  }
  std::string_view message_id() const { return headers.has_message_id ? headers.message_id : new_message_id; }
  BatchMessage message(std::string prefix) const {
    return BatchMessage{std::move(prefix), body, t->body_8bitmime, t->smtputf8, t->bare_newlines};
  }
};

namespace {

// Calls f(list, indexes) once per list named by the recipients at
// `indexes`, in ascending list order, each list's indexes in their order.
template <typename F>
void for_each_list(const lmtp::Transaction& t, std::vector<size_t> indexes, F f) {
  if (indexes.empty()) return;
  const auto list_of = [&](size_t i) { return t.recipients[i].resolution.list; };
  const uint32_t first = list_of(indexes.front());
  if (std::all_of(indexes.begin(), indexes.end(), [&](size_t i) { return list_of(i) == first; })) {
    f(first, indexes);  // the common case: one list
    return;
  }
  std::stable_sort(indexes.begin(), indexes.end(), [&](size_t a, size_t b) { return list_of(a) < list_of(b); });
  std::vector<size_t> run;
  for (size_t k = 0; k < indexes.size(); ++k) {
    run.push_back(indexes[k]);
    if (k + 1 == indexes.size() || list_of(indexes[k + 1]) != list_of(indexes[k])) {
      f(list_of(indexes[k]), run);
      run.clear();
    }
  }
}

}  // namespace

ListDeliverer::ListDeliverer(ListDeliveryConfig config, UpstreamPool& outbound, RetryQueue& retry,
                             VerpFormatter verp, BackendPoolFactory backends, BatchCounters& batch_counters)
    : config_(std::move(config)), outbound_(outbound), retry_(retry), verp_(std::move(verp)),
      make_backend_pool_(std::move(backends)), batch_counters_(batch_counters) {}

ListDeliverer::~ListDeliverer() = default;

void ListDeliverer::deliver(lmtp::Transaction& t, Done done) {
  auto d = std::make_shared<Delivery>();
  d->t = &t;
  d->table = std::dynamic_pointer_cast<const table::ListTable>(t.directory);
  d->body = std::shared_ptr<const io::SliceChain>(std::shared_ptr<void>(), &t.body);
  d->replies.resize(t.recipients.size());
  d->done = std::move(done);
  ++in_progress_;
  if (!d->table) {  // not expected: the server always hands a ListTable
    for (std::string& r : d->replies) r = "451 4.3.0 no list table";
    finish_one(d);
    return;
  }
  // Group the recipients: one fan-out per list even if it was named twice.
  // Posts and owners are collected as indexes and cut into runs of one list
  // (in list order, as before), not kept in maps: most transactions name a
  // single list, and that costs one vector instead of map nodes.
  std::vector<size_t> posts;
  std::vector<size_t> owners;
  std::map<std::string, std::pair<const table::BackendSpec*, std::vector<size_t>>> relays;
  for (size_t i = 0; i < t.recipients.size(); ++i) {
    const table::Resolution& res = t.recipients[i].resolution;
    table::ListInfo info = d->table->list(res.list);
    if (res.relay && info.backend != nullptr) {
      auto& slot = relays[table::format_backend_spec(*info.backend)];
      slot.first = info.backend;
      slot.second.push_back(i);
      continue;
    }
    switch (res.role) {
      case table::Role::posting:
        posts.push_back(i);
        break;
      case table::Role::owner:
        owners.push_back(i);
        break;
      case table::Role::bounces:
        record_bounce(*d, i);
        break;
      default:  // refused at RCPT (needs a backend); not expected here
        d->replies[i] = concat({"550 5.1.1 <", t.recipients[i].address, ">: address needs a backend"});
        break;
    }
  }
  for_each_list(t, std::move(posts), [&](uint32_t list, const std::vector<size_t>& rcpts) { deliver_post(d, list, rcpts); });
  for_each_list(t, std::move(owners), [&](uint32_t list, const std::vector<size_t>& rcpts) { deliver_owner(d, list, rcpts); });
  for (auto& [key, slot] : relays) relay(d, *slot.first, slot.second);
  finish_one(d);
}

void ListDeliverer::finish_one(const std::shared_ptr<Delivery>& d) {
  if (--d->open > 0) return;
  --in_progress_;
  Done done = std::move(d->done);
  done(std::move(d->replies));
}

void ListDeliverer::deliver_post(const std::shared_ptr<Delivery>& d, uint32_t list,
                                 const std::vector<size_t>& rcpts) {
  table::ListInfo info = d->table->list(list);
  const HeaderScan& headers = d->scan(config_.hostname);
  if (been_there(headers, info.address)) {
    ++counters_.loops;
    for (size_t r : rcpts)
      d->replies[r] = concat({"554 5.4.6 <", info.address, ">: mail loop: X-BeenThere names this list"});
    return;
  }
  ++counters_.posts;
  std::string prefix = list_header_lines(ListHeaderFields{info.address, info.local_part, info.domain,
                                                          headers.has_message_id ? "" : d->new_message_id});
  BatchEnvelope envelope{concat({info.local_part, "-bounces@", info.domain}), info.verp, config_.use_xverp, &verp_};
  // Views into the table, which the batch keeps alive: no copy per member.
  std::vector<std::string_view> members(info.members.begin(), info.members.end());
  ++d->open;
  send_batch(outbound_, envelope, std::move(members), d->table, d->message(prefix), config_.max_recipients,
             batch_counters_,
             [this, d, list, rcpts, envelope, prefix](BatchOutcomes outcomes) {
               table::ListInfo info = d->table->list(list);
               settle(d, rcpts, std::string(info.address), SpoolKind::post, envelope, prefix,
                      info.members, outcomes);
             });
}

void ListDeliverer::deliver_owner(const std::shared_ptr<Delivery>& d, uint32_t list,
                                  const std::vector<size_t>& rcpts) {
  table::ListInfo info = d->table->list(list);
  if (info.owners.empty()) {
    for (size_t r : rcpts) d->replies[r] = concat({"550 5.1.1 <", d->t->recipients[r].address, ">: the list has no owners"});
    return;
  }
  ++counters_.owner_messages;
  d->scan(config_.hostname);  // for the Message-ID in bounce lines
  BatchEnvelope envelope{concat({info.local_part, "-bounces@", info.domain}), false, false, &verp_};
  std::vector<std::string_view> owners(info.owners.begin(), info.owners.end());
  ++d->open;
  send_batch(outbound_, envelope, std::move(owners), d->table, d->message(""), config_.max_recipients,
             batch_counters_,
             [this, d, list, rcpts, envelope](BatchOutcomes outcomes) {
               table::ListInfo info = d->table->list(list);
               settle(d, rcpts, std::string(info.address), SpoolKind::owner, envelope, "", info.owners, outcomes);
             });
}

void ListDeliverer::settle(const std::shared_ptr<Delivery>& d, const std::vector<size_t>& rcpts,
                           const std::string& list, SpoolKind kind, const BatchEnvelope& envelope,
                           const std::string& prefix, const table::AddressList& addresses,
                           const BatchOutcomes& outcomes) {
  size_t delivered = 0;
  size_t refused = 0;
  std::vector<std::string> owed;
  Reply last;
  // Everybody delivered (the common case): no need to look at each member.
  const bool all_delivered = outcomes.count(Outcome::delivered) == outcomes.size() && outcomes.size() <= addresses.size();
  if (all_delivered) delivered = outcomes.size();
  for (size_t k = 0; !all_delivered && k < outcomes.size() && k < addresses.size(); ++k) {
    switch (outcomes[k].outcome) {
      case Outcome::delivered:
        ++delivered;
        break;
      case Outcome::refused:
        ++refused;
        retry_.record_bounce(list, addresses[k], outcomes[k].reply, d->message_id());
        break;
      case Outcome::deferred:
        owed.emplace_back(addresses[k]);
        last = outcomes[k].reply;
        break;
    }
  }
  std::string reply;
  std::string counts = concat({"delivered to ", std::to_string(delivered), ", refused ", std::to_string(refused)});
  if (owed.empty()) {
    reply = concat({"250 2.0.0 Ok: ", counts});
  } else {
    SpoolEntry entry;
    entry.kind = kind;
    entry.list = list;
    entry.sender = envelope.sender;
    entry.verp = envelope.verp;
    entry.body_8bit = d->t->body_8bitmime;
    entry.smtputf8 = d->t->smtputf8;
    entry.bare_newlines = d->t->bare_newlines;
    entry.message_id = std::string(d->message_id());
    entry.created = static_cast<int64_t>(std::time(nullptr));
    entry.attempts = 1;
    entry.last_reply = last.line();
    size_t owed_count = owed.size();
    entry.recipients = std::move(owed);
    auto id = retry_.defer(std::move(entry), prefix, d->t->body);
    if (id.ok()) {
      reply = concat({"250 2.0.0 Ok: ", counts, ", ", std::to_string(owed_count), " queued as ", id.value()});
    } else {
      ++counters_.tempfailed;
      reply = concat({"451 4.3.0 ", std::to_string(owed_count), " recipients not reached and not spooled: ",
                      id.error().message});
    }
  }
  for (size_t r : rcpts) d->replies[r] = reply;
  finish_one(d);
}

void ListDeliverer::record_bounce(Delivery& d, size_t rcpt) {
  const std::string& address = d.t->recipients[rcpt].address;
  table::ListInfo info = d.table->list(d.t->recipients[rcpt].resolution.list);
  if (!d.bounce_read) {
    d.bounce = read_bounce(d.t->body);
    d.bounce_read = true;
  }
  std::string member = decode_verp_tag(d.table->verp_tag(address));
  if (member.empty()) member = d.bounce.final_recipient;
  std::string_view diagnostic = d.bounce.diagnostic;
  if (diagnostic.empty())
    diagnostic = d.bounce.is_dsn ? "delivery status report without a diagnostic" : "bounce without a delivery status report";
  ++counters_.bounces_received;
  if (retry_.record_bounce(info.address, member, d.bounce.status, diagnostic, d.bounce.message_id)) {
    d.replies[rcpt] = "250 2.0.0 Ok: bounce recorded";
  } else {
    ++counters_.tempfailed;
    d.replies[rcpt] = "451 4.3.0 bounce log not writable";
  }
}

UpstreamPool& ListDeliverer::backend_pool(const table::BackendSpec& spec) {
  std::string key = table::format_backend_spec(spec);
  auto it = backend_pools_.find(key);
  if (it == backend_pools_.end()) it = backend_pools_.emplace(key, make_backend_pool_(spec)).first;
  return *it->second;
}

void ListDeliverer::relay(const std::shared_ptr<Delivery>& d, const table::BackendSpec& spec,
                          const std::vector<size_t>& rcpts) {
  UpstreamPool& pool = backend_pool(spec);
  std::vector<std::string> addresses;
  addresses.reserve(rcpts.size());
  for (size_t r : rcpts) addresses.push_back(d->t->recipients[r].address);
  counters_.relayed += rcpts.size();
  BatchEnvelope envelope{d->t->sender, false, false, nullptr};
  ++d->open;
  // One transaction: the backend answers for each recipient (LMTP) or for all (SMTP).
  send_batch(pool, envelope, std::move(addresses), d->message(""), 0, batch_counters_,
             [this, d, rcpts, name = pool.config().name](BatchOutcomes outcomes) {
               for (size_t k = 0; k < rcpts.size(); ++k) {
                 const Reply& r = outcomes[k].reply;
                 bool unreachable = r.code == kSyntheticTempCode &&
                                    (r.enhanced == kSyntheticTempStatus || r.enhanced == kUnreachableStatus);
                 if (unreachable) {
                   ++counters_.relay_unreachable;
                   d->replies[rcpts[k]] = r.text.starts_with(name) ? concat({"451 4.4.1 ", r.text})
                                                                 : concat({"451 4.4.1 ", name, " unreachable: ", r.text});
                 } else {
                   d->replies[rcpts[k]] = r.line();
                 }
               }
               finish_one(d);
             });
}

}  // namespace listgate::delivery
