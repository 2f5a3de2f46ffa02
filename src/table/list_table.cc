// list_table.cc - the ListTable's read side: resolve() and the record views.
#include "listgate/table/list_table.h"

#include <cstring>

#include "listgate/table/recipient_rules.h"

namespace listgate::table {

namespace {
constexpr size_t kMaxDomainLength = 255;
}  // namespace

Resolution ListTable::resolve(std::string_view address) const noexcept {
  return resolve_recipient(address, options_.verp_delimiter, domain_index_, list_index_);
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
  if (name.size() > kMaxDomainLength) return std::nullopt;
  char lower[kMaxDomainLength];
  std::memcpy(lower, name.data(), name.size());
  lowercase_ascii(lower, name.size());
  const auto hit = domain_index_.find(std::string_view(lower, name.size()));
  if (!hit) return std::nullopt;
  return hit->value;
}

}  // namespace listgate::table
