// table_builder.h - assembling a ListTable from what the loader reads.
//
// The loader knows JSON and positions; the builder knows what a table must
// be: well-formed list addresses, one list per address (case-insensitive),
// alias domains that are not list domains, backends that parse. Strings go
// straight into the table's arena as they come, so a million lists cost no
// per-string allocation. The checks that need the whole table (duplicates,
// alias collisions) run in finish(), which also builds the two perfect
// hashes and the per-list flags of recipient_rules.h.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "listgate/base/result.h"
#include "listgate/table/list_table.h"
#include "source_text.h"

namespace listgate::table {

class TableBuilder {
 public:
  // std::string keys found by string_view, without building a string.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const noexcept {
      return std::hash<std::string_view>{}(text);
    }
  };
  using StringIds = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

  TableBuilder(const TableOptions& options, const SourceText& source);

  // Reserves the arenas for a table file of `text_bytes` bytes (address
  // space for the worst case; memory only as it is used).
  void reserve_for_text(size_t text_bytes);

  // One entry of "domains". `alias` may be empty (no alias).
  Result<void> add_domain(std::string_view name, size_t name_offset, std::string_view alias,
                          size_t alias_offset);

  // A list's owners and members, in any order, before finish_list(). The
  // loader has checked their syntax.
  void add_owner(std::string_view address);
  void add_member(std::string_view address);
  // The backend of the list being read: parsed once per distinct text.
  Result<void> set_backend(std::string_view text, size_t offset);
  // Closes the list being read.
  Result<void> finish_list(std::string_view address, size_t address_offset, bool verp);

  Result<std::shared_ptr<const ListTable>> finish(std::chrono::nanoseconds parse_time) &&;

 private:
  struct AliasDraft {
    std::string name;
    uint32_t domain;
    size_t offset;
  };
  struct DomainDraft {
    bool declared = false;    // named in "domains" (else only by a list)
    size_t first_offset = 0;  // where it was first named
  };

  TextRef append_text(std::string_view text);
  Result<uint32_t> domain_for_list(std::string_view domain, size_t offset);
  uint32_t new_domain(std::string_view lower_name, size_t offset);
  Result<void> check_aliases() const;
  Result<void> build_domain_index();
  Result<void> build_list_index();
  void mark_suffix_lists();

  const SourceText& source_;
  std::unique_ptr<ListTable> table_;
  StringIds domain_ids_;  // canonical names only
  std::vector<DomainDraft> domain_drafts_;
  std::vector<AliasDraft> aliases_;
  StringIds backend_ids_;
  std::vector<size_t> list_offsets_;
  std::vector<TextRef> pending_owners_;
  std::vector<TextRef> pending_members_;
  uint32_t pending_backend_;
  // domain_for_list()'s cache: a table names few domains, a million times.
  struct CachedDomain {
    std::string name;  // empty: unused
    uint32_t id = 0;
  };
  static constexpr size_t kDomainCacheSize = 64;
  std::array<CachedDomain, kDomainCacheSize> domain_cache_;
};

}  // namespace listgate::table
