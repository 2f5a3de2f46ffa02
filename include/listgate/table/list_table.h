// list_table.h - the compiled list table: lists, domains, and the Directory.
//
// A ListTable is built once (see loader.h) and then shared read-only, so a
// reload can swap a new one in while sessions still hold the old one
// (std::shared_ptr<const ListTable>). Lookups go through two perfect hashes
// (domains, lists) and never touch the list records; the records serve
// delivery: addresses, owners, members, VERP, backend.
//
// Memory: every string (list addresses, owners, members) lives in one text
// arena; a list's owners and members are runs of 8-byte references into it,
// so a member costs its bytes plus 8, not a std::string.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "listgate/table/address.h"
#include "listgate/table/backend_spec.h"
#include "listgate/table/perfect_hash.h"
#include "listgate/table/resolution.h"

namespace listgate::table {

struct TableOptions {
  char verp_delimiter = kDefaultVerpDelimiter;
};

// A string in the table's text arena: 48-bit offset, 16-bit length.
class TextRef {
 public:
  static constexpr int kLengthBits = 16;
  static constexpr uint64_t kMaxLength = (uint64_t{1} << kLengthBits) - 1;
  static constexpr uint64_t kMaxOffset = (uint64_t{1} << (64 - kLengthBits)) - 1;

  TextRef() = default;
  TextRef(uint64_t offset, size_t length) : packed_((offset << kLengthBits) | length) {}
  uint64_t offset() const noexcept { return packed_ >> kLengthBits; }
  size_t length() const noexcept { return packed_ & kMaxLength; }
  std::string_view in(const char* arena) const noexcept { return {arena + offset(), length()}; }

 private:
  uint64_t packed_ = 0;
};

// A list's owners or members: a range of string_views.
class AddressList {
 public:
  class iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;

    iterator() = default;
    iterator(const TextRef* ref, const char* arena) : ref_(ref), arena_(arena) {}
    std::string_view operator*() const noexcept { return ref_->in(arena_); }
    std::string_view operator[](difference_type n) const noexcept { return ref_[n].in(arena_); }
    iterator& operator++() noexcept { ++ref_; return *this; }
    iterator operator++(int) noexcept { iterator old = *this; ++ref_; return old; }
    iterator& operator--() noexcept { --ref_; return *this; }
    iterator operator--(int) noexcept { iterator old = *this; --ref_; return old; }
    iterator& operator+=(difference_type n) noexcept { ref_ += n; return *this; }
    iterator& operator-=(difference_type n) noexcept { ref_ -= n; return *this; }
    friend iterator operator+(iterator it, difference_type n) noexcept { return it += n; }
    friend iterator operator+(difference_type n, iterator it) noexcept { return it += n; }
    friend iterator operator-(iterator it, difference_type n) noexcept { return it -= n; }
    friend difference_type operator-(iterator a, iterator b) noexcept { return a.ref_ - b.ref_; }
    friend bool operator==(iterator a, iterator b) noexcept { return a.ref_ == b.ref_; }
    friend auto operator<=>(iterator a, iterator b) noexcept { return a.ref_ <=> b.ref_; }

   private:
    const TextRef* ref_ = nullptr;
    const char* arena_ = nullptr;
  };

  AddressList() = default;
  AddressList(const TextRef* refs, size_t count, const char* arena)
      : refs_(refs), count_(count), arena_(arena) {}
  size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  std::string_view operator[](size_t i) const noexcept { return refs_[i].in(arena_); }
  iterator begin() const noexcept { return {refs_, arena_}; }
  iterator end() const noexcept { return {refs_ + count_, arena_}; }

 private:
  const TextRef* refs_ = nullptr;
  size_t count_ = 0;
  const char* arena_ = nullptr;
};

struct ListInfo {
  std::string_view address;     // lower case, local@domain
  std::string_view local_part;  // lower case
  std::string_view domain;      // lower case
  uint32_t domain_index = 0;
  AddressList owners;           // as written in the table
  AddressList members;          // as written in the table
  bool verp = false;
  const BackendSpec* backend = nullptr;  // nullptr: listgate serves the list
};

struct DomainInfo {
  std::string_view name;          // lower case
  std::string_view alias_domain;  // lower case; empty when none
  uint32_t list_count = 0;
};

struct TableStats {
  size_t lists = 0;
  size_t domains = 0;
  size_t alias_domains = 0;
  size_t owners = 0;
  size_t members = 0;
  size_t backend_lists = 0;
  size_t backends = 0;  // distinct backend specs
  size_t memory_bytes = 0;
  std::chrono::nanoseconds parse_time{0};       // reading the JSON into records
  std::chrono::nanoseconds hash_build_time{0};  // building both perfect hashes
};

class ListTable final : public Directory {
 public:
  // An empty table: every domain is unknown.
  ListTable() = default;

  Resolution resolve(std::string_view address) const noexcept override;

  // resolve() for many addresses at once (the RCPT commands of a pipelined
  // transaction). In a table too large for the caches a lookup is two DRAM
  // round trips in a row (its slot, then its entry); here the addresses go
  // through a three-stage software pipeline in groups, so that the round
  // trips of about three groups' lookups are in flight together.
  // results.size() must be at least addresses.size().
  void resolve_batch(std::span<const std::string_view> addresses,
                     std::span<Resolution> results) const noexcept override;

  size_t size() const noexcept { return lists_.size(); }
  // The list `index` (< size(); Resolution::list is one), in table order.
  ListInfo list(uint32_t index) const noexcept;

  size_t domain_count() const noexcept { return domains_.size(); }
  // The domain `index` (< domain_count(); ListInfo::domain_index is one).
  DomainInfo domain(uint32_t index) const noexcept;
  // The domain `name` (any case) is or is an alias of.
  std::optional<uint32_t> find_domain(std::string_view name) const noexcept;

  char verp_delimiter() const noexcept { return options_.verp_delimiter; }
  // The VERP tag or confirmation token of `address` (see address.h).
  std::string_view verp_tag(std::string_view address) const noexcept {
    return table::verp_tag(address, options_.verp_delimiter);
  }

  const TableStats& stats() const noexcept { return stats_; }

  // The indexes themselves, for tools and benchmarks that want the exact
  // keys (see recipient_rules.h for their format).
  const PerfectHash& domain_index() const noexcept { return domain_index_; }
  const PerfectHash& list_index() const noexcept { return list_index_; }

 private:
  friend class TableBuilder;

  struct ListRecord {
    TextRef address;
    uint32_t domain = 0;
    uint32_t backend = kNoBackend;
    uint32_t first_owner = 0;  // owners, then members, in refs_
    uint32_t owner_count = 0;
    uint32_t member_count = 0;
    uint16_t local_length = 0;
    bool verp = false;
  };
  struct DomainRecord {
    TextRef name;
    TextRef alias;
    uint32_t list_count = 0;
  };
  static constexpr uint32_t kNoBackend = 0xffffffffu;

  TableOptions options_;
  std::vector<char> text_;
  std::vector<TextRef> refs_;
  std::vector<ListRecord> lists_;
  std::vector<DomainRecord> domains_;
  std::vector<BackendSpec> backends_;
  PerfectHash domain_index_;
  PerfectHash list_index_;
  TableStats stats_;
};

}  // namespace listgate::table
