// list_table.cc - the ListTable's read side: resolve(), resolve_batch() and
// the record views.
#include "listgate/table/list_table.h"

#include <algorithm>

#include "listgate/table/recipient_rules.h"

namespace listgate::table {

Resolution ListTable::resolve(std::string_view address) const noexcept {
  return resolve_recipient(address, options_.verp_delimiter, domain_index_, list_index_);
}

namespace {

constexpr size_t kGroupSize = 8;
constexpr size_t kPipelineStages = 3;  // plan and hash, probe the slot, compare

struct LookupGroup {
  size_t base = 0;
  size_t count = 0;
  RecipientPlan plans[kGroupSize];
  PerfectHash::Probe probes[kGroupSize];
  const char* entries[kGroupSize] = {};
};

}  // namespace

void ListTable::resolve_batch(std::span<const std::string_view> addresses,
                              std::span<Resolution> results) const noexcept {
  // Step s plans group s (prefetching its slots), probes group s-1 (whose
  // slots were prefetched a step ago; prefetching its entries) and finishes
  // group s-2 (whose entries were prefetched a step ago).
  LookupGroup groups[kPipelineStages];
  const size_t group_count = (addresses.size() + kGroupSize - 1) / kGroupSize;
  for (size_t step = 0; step < group_count + kPipelineStages - 1; ++step) {
    if (step < group_count) {
      LookupGroup& group = groups[step % kPipelineStages];
      group.base = step * kGroupSize;
      group.count = std::min(kGroupSize, addresses.size() - group.base);
      for (size_t i = 0; i < group.count; ++i) {
        const std::string_view address = addresses[group.base + i];
        // Work from the local copy: reading the plan back from the array
        // right after storing it would stall on store-to-load forwarding.
        const RecipientPlan plan = plan_recipient(address, options_.verp_delimiter, domain_index_);
        group.plans[i] = plan;
        if (!plan.is_settled()) group.probes[i] = list_index_.start(plan.first_key(address));
      }
    }
    if (step >= 1 && step - 1 < group_count) {
      LookupGroup& group = groups[(step - 1) % kPipelineStages];
      for (size_t i = 0; i < group.count; ++i) {
        if (!group.plans[i].is_settled()) group.entries[i] = list_index_.probe(group.probes[i]);
      }
    }
    if (step >= 2 && step - 2 < group_count) {
      const LookupGroup& group = groups[(step - 2) % kPipelineStages];
      for (size_t i = 0; i < group.count; ++i) {
        const std::string_view address = addresses[group.base + i];
        const RecipientPlan& plan = group.plans[i];
        Resolution& result = results[group.base + i];
        if (plan.is_settled()) {
          result = plan.settled_resolution();
        } else if (const auto decided = decide_first(
                       plan, list_index_.finish(group.entries[i], plan.first_key(address)))) {
          result = *decided;
        } else {
          result = decide_whole(list_index_.find(plan.whole_key(address)));
        }
      }
    }
  }
}

ListInfo ListTable::list(uint32_t index) const noexcept {
  const ListRecord& record = lists_[index];
  const char* text = text_.data();
  ListInfo info;
  info.address = record.address.in(text);
  info.local_part = info.address.substr(0, record.local_length);
  info.domain = info.address.substr(record.local_length + 1);
  info.domain_index = record.domain;
  info.owners = AddressList(refs_.data() + record.first_owner, record.owner_count, text);
  info.members = AddressList(refs_.data() + record.first_owner + record.owner_count,
                             record.member_count, text);
  info.verp = record.verp;
  info.backend = record.backend == kNoBackend ? nullptr : &backends_[record.backend];
  return info;
}

DomainInfo ListTable::domain(uint32_t index) const noexcept {
  const DomainRecord& record = domains_[index];
  return {record.name.in(text_.data()), record.alias.in(text_.data()), record.list_count};
}

std::optional<uint32_t> ListTable::find_domain(std::string_view name) const noexcept {
  const auto hit = domain_index_.find(FoldedKey{name.data(), name.size(), 0, false});
  if (!hit) return std::nullopt;
  return hit.value();
}

}  // namespace listgate::table
