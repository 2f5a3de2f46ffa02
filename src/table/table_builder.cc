// table_builder.cc - checks and compiles what the loader read into a ListTable.
#include "table_builder.h"

#include <algorithm>
#include <cstring>

#include "listgate/table/recipient_rules.h"

namespace listgate::table {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kMaxLists = 0xfffffff0u;
constexpr size_t kMinListBytes = 18;    // {"address":"a@b"},
constexpr size_t kMinAddressBytes = 6;  // "a@b",
constexpr uint64_t kMaxRefs = 0xfffffff0u;

std::string lowercase_copy(std::string_view text) {
  std::string out(text);
  lowercase_ascii(out.data(), out.size());
  return out;
}

}  // namespace

TableBuilder::TableBuilder(const TableOptions& options, const SourceText& source)
    : source_(source), table_(std::make_unique<ListTable>()), pending_backend_(ListTable::kNoBackend) {
  table_->options_ = options;
}

void TableBuilder::reserve_for_text(size_t text_bytes) {
  // Upper bounds from the size of the text: unescaped strings are never
  // longer than their JSON, a list takes at least {"address":"a@b"}, an
  // address at least "a@b". Pages of a reservation that stay unused are
  // never touched, so this costs address space, not memory; and the
  // arrays never grow, which would copy them and touch twice the memory.
  table_->text_.reserve(text_bytes);
  table_->lists_.reserve(text_bytes / kMinListBytes);
  list_offsets_.reserve(text_bytes / kMinListBytes);
  table_->refs_.reserve(text_bytes / kMinAddressBytes);
}

TextRef TableBuilder::append_text(std::string_view text) {
  const TextRef ref(table_->text_.size(), text.size());
  table_->text_.insert(table_->text_.end(), text.begin(), text.end());
  return ref;
}

uint32_t TableBuilder::new_domain(std::string_view lower_name, size_t offset) {
  const auto id = static_cast<uint32_t>(table_->domains_.size());
  ListTable::DomainRecord record;
  record.name = append_text(lower_name);
  table_->domains_.push_back(record);
  domain_drafts_.push_back({false, offset});
  domain_ids_.emplace(std::string(lower_name), id);
  return id;
}

Result<void> TableBuilder::add_domain(std::string_view name, size_t name_offset,
                                      std::string_view alias, size_t alias_offset) {
  const std::string lower_name = lowercase_copy(name);
  if (!is_valid_domain(lower_name)) {
    return source_.error_at(name_offset, "invalid domain name " + quoted(name));
  }
  uint32_t id;
  const auto found = domain_ids_.find(lower_name);
  if (found == domain_ids_.end()) {
    id = new_domain(lower_name, name_offset);
  } else {
    id = found->second;
    if (domain_drafts_[id].declared) {
      return source_.error_at(name_offset,
                              "domain " + quoted(name) + " is declared twice (first at " +
                                  source_.line_and_column(domain_drafts_[id].first_offset) + ")");
    }
    domain_drafts_[id].first_offset = name_offset;
  }
  domain_drafts_[id].declared = true;
  if (alias.empty()) return {};
  const std::string lower_alias = lowercase_copy(alias);
  if (!is_valid_domain(lower_alias)) {
    return source_.error_at(alias_offset, "invalid alias_domain " + quoted(alias));
  }
  table_->domains_[id].alias = append_text(lower_alias);
  aliases_.push_back({lower_alias, id, alias_offset});
  return {};
}

void TableBuilder::add_owner(std::string_view address) {
  pending_owners_.push_back(append_text(address));
}

void TableBuilder::add_member(std::string_view address) {
  pending_members_.push_back(append_text(address));
}

Result<void> TableBuilder::set_backend(std::string_view text, size_t offset) {
  const auto found = backend_ids_.find(text);
  if (found != backend_ids_.end()) {
    pending_backend_ = found->second;
    return {};
  }
  Result<BackendSpec> spec = parse_backend_spec(text);
  if (!spec) return source_.error_at(offset, spec.error().message);
  pending_backend_ = static_cast<uint32_t>(table_->backends_.size());
  table_->backends_.push_back(std::move(spec).value());
  backend_ids_.emplace(std::string(text), pending_backend_);
  return {};
}

Result<uint32_t> TableBuilder::domain_for_list(std::string_view domain, size_t offset) {
  CachedDomain& cached =
      domain_cache_[hash_bytes(domain, PerfectHashBuilder::kDefaultSeed) % kDomainCacheSize];
  if (!cached.name.empty() && cached.name == domain) return cached.id;
  uint32_t id;
  const auto found = domain_ids_.find(domain);
  if (found != domain_ids_.end()) {
    id = found->second;
  } else {
    if (!is_valid_domain(domain)) {
      return source_.error_at(offset, "list address has an invalid domain " + quoted(domain));
    }
    id = new_domain(domain, offset);
  }
  cached.name.assign(domain);
  cached.id = id;
  return id;
}

Result<void> TableBuilder::finish_list(std::string_view address, size_t address_offset, bool verp) {
  ListTable& table = *table_;
  const char delimiter = table.options_.verp_delimiter;
  if (address.size() > kMaxAddressLength) {
    return source_.error_at(address_offset, "list address is longer than " +
                                                std::to_string(kMaxAddressLength) + " octets");
  }
  char lower[kMaxAddressLength];
  std::memcpy(lower, address.data(), address.size());
  lowercase_ascii(lower, address.size());
  const std::string_view canonical(lower, address.size());
  const size_t at = canonical.find('@');
  if (at == std::string_view::npos || canonical.find('@', at + 1) != std::string_view::npos) {
    return source_.error_at(address_offset,
                            "list address " + quoted(address) + " is not local@domain");
  }
  const std::string_view local = canonical.substr(0, at);
  if (!is_valid_local_part(local)) {
    return source_.error_at(address_offset,
                            "list address " + quoted(address) + " has an invalid local part");
  }
  if (local.find(delimiter) != std::string_view::npos) {
    return source_.error_at(address_offset, "list address " + quoted(address) +
                                                " contains the VERP delimiter '" +
                                                std::string(1, delimiter) + "': no mail can reach it");
  }
  Result<uint32_t> domain = domain_for_list(canonical.substr(at + 1), address_offset);
  if (!domain) return domain.error();
  if (table.lists_.size() >= kMaxLists) {
    return source_.error_at(address_offset, "too many lists");
  }
  if (table.refs_.size() + pending_owners_.size() + pending_members_.size() > kMaxRefs) {
    return source_.error_at(address_offset, "too many owners and members in all");
  }

  ListTable::ListRecord record;
  record.address = append_text(canonical);
  record.local_length = static_cast<uint16_t>(at);
  record.domain = *domain;
  record.backend = pending_backend_;
  record.verp = verp;
  record.first_owner = static_cast<uint32_t>(table.refs_.size());
  record.owner_count = static_cast<uint32_t>(pending_owners_.size());
  record.member_count = static_cast<uint32_t>(pending_members_.size());
  table.refs_.insert(table.refs_.end(), pending_owners_.begin(), pending_owners_.end());
  table.refs_.insert(table.refs_.end(), pending_members_.begin(), pending_members_.end());
  table.lists_.push_back(record);
  ++table.domains_[*domain].list_count;
  list_offsets_.push_back(address_offset);
  pending_owners_.clear();
  pending_members_.clear();
  pending_backend_ = ListTable::kNoBackend;
  return {};
}

Result<void> TableBuilder::check_aliases() const {
  std::unordered_map<std::string_view, size_t> seen;  // alias -> index in aliases_
  for (size_t i = 0; i < aliases_.size(); ++i) {
    const AliasDraft& alias = aliases_[i];
    const auto canonical = domain_ids_.find(alias.name);
    if (canonical != domain_ids_.end()) {
      const DomainDraft& draft = domain_drafts_[canonical->second];
      return source_.error_at(
          alias.offset, "alias_domain " + quoted(alias.name) + " is also a list domain (" +
                            (draft.declared ? "declared" : "the domain of a list") + " at " +
                            source_.line_and_column(draft.first_offset) + ")");
    }
    const auto [previous, inserted] = seen.emplace(alias.name, i);
    if (!inserted) {
      return source_.error_at(alias.offset,
                              "alias_domain " + quoted(alias.name) + " is already an alias (at " +
                                  source_.line_and_column(aliases_[previous->second].offset) + ")");
    }
  }
  return {};
}

Result<void> TableBuilder::build_domain_index() {
  ListTable& table = *table_;
  PerfectHashBuilder builder;
  builder.reserve(table.domains_.size() + aliases_.size(), table.text_.size() / 64);
  for (uint32_t id = 0; id < table.domains_.size(); ++id) {
    builder.add(table.domains_[id].name.in(table.text_.data()), id);
  }
  for (const AliasDraft& alias : aliases_) builder.add(alias.name, alias.domain);
  Result<PerfectHash> index = std::move(builder).build();
  if (!index) return source_.error_at(0, index.error().message);
  table.domain_index_ = std::move(index).value();
  return {};
}

Result<void> TableBuilder::build_list_index() {
  ListTable& table = *table_;
  PerfectHashBuilder builder(PerfectHash::KeyShape::tagged);
  size_t key_bytes = 0;
  for (const ListTable::ListRecord& list : table.lists_) key_bytes += list.local_length + kDomainIdBytes;
  builder.reserve(table.lists_.size(), key_bytes);
  char key[kMaxAddressLength + kDomainIdBytes];
  for (uint32_t i = 0; i < table.lists_.size(); ++i) {
    const ListTable::ListRecord& list = table.lists_[i];
    const std::string_view local(table.text_.data() + list.address.offset(), list.local_length);
    const uint16_t flags = list.backend != ListTable::kNoBackend ? kListHasBackend : 0;
    builder.add(make_list_key(key, local, list.domain), i, flags);
  }
  PerfectHashBuilder::DuplicateKeys duplicate;
  Result<PerfectHash> index = std::move(builder).build(PerfectHashBuilder::kDefaultSeed, &duplicate);
  if (!index) {
    if (duplicate.first != duplicate.second) {
      const std::string_view address = table.lists_[duplicate.second].address.in(table.text_.data());
      return source_.error_at(list_offsets_[duplicate.second],
                              "list " + quoted(address) + " is defined twice (first at " +
                                  source_.line_and_column(list_offsets_[duplicate.first]) + ")");
    }
    return source_.error_at(0, index.error().message);
  }
  table.list_index_ = std::move(index).value();
  return {};
}

void TableBuilder::mark_suffix_lists() {
  ListTable& table = *table_;
  char key[kMaxAddressLength + kDomainIdBytes];
  for (const ListTable::ListRecord& list : table.lists_) {
    const std::string_view local(table.text_.data() + list.address.offset(), list.local_length);
    const size_t dash = local.rfind('-');
    if (dash == std::string_view::npos || dash == 0) continue;
    const std::optional<Suffix> suffix = classify_suffix(local.substr(dash + 1));
    if (!suffix) continue;
    table.list_index_.add_flags(make_list_key(key, local.substr(0, dash), list.domain),
                                suffix_is_list_flag(*suffix));
  }
}

Result<std::shared_ptr<const ListTable>> TableBuilder::finish(std::chrono::nanoseconds parse_time) && {
  const auto start = Clock::now();
  if (Result<void> ok = check_aliases(); !ok) return ok.error();
  if (Result<void> ok = build_domain_index(); !ok) return ok.error();
  if (Result<void> ok = build_list_index(); !ok) return ok.error();
  mark_suffix_lists();

  ListTable& table = *table_;
  TableStats& stats = table.stats_;
  stats.lists = table.lists_.size();
  stats.domains = table.domains_.size();
  stats.alias_domains = aliases_.size();
  for (const ListTable::ListRecord& list : table.lists_) {
    stats.owners += list.owner_count;
    stats.members += list.member_count;
    stats.backend_lists += list.backend != ListTable::kNoBackend ? 1 : 0;
  }
  stats.backends = table.backends_.size();
  // Sizes, not capacities: the arenas are reserved generously and never
  // copied to shrink them, but pages of a reservation that were never
  // written are never backed by memory.
  stats.memory_bytes = sizeof(ListTable) + table.text_.size() + table.refs_.size() * sizeof(TextRef) +
                       table.lists_.size() * sizeof(ListTable::ListRecord) +
                       table.domains_.size() * sizeof(ListTable::DomainRecord) +
                       table.backends_.size() * sizeof(BackendSpec) +
                       table.domain_index_.memory_bytes() + table.list_index_.memory_bytes();
  stats.parse_time = parse_time;
  stats.hash_build_time = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  return std::shared_ptr<const ListTable>(std::move(table_));
}

}  // namespace listgate::table
