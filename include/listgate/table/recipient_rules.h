// recipient_rules.h - DESIGN.md section 2 as one function over two indexes.
//
// resolve_recipient() is written once, against any index with
// `std::optional<PerfectHash::Hit> find(std::string_view) const`, so that
// the table's own perfect hashes and the benchmark's baselines
// (std::unordered_map, BBHash) run exactly the same rules.
//
// Keys. The domain index maps lower-case domain names, aliases included, to
// the domain's id. The list index maps a list's lower-case local part
// followed by its domain id (4 bytes, little-endian) to the list's index:
// shorter than the full address, and the alias is already resolved. Each
// list key carries flags: whether the list has a backend, and for each role
// suffix whether `list-SUFFIX` is a list of its own in the same domain.
// With those, `list-owner@dom` costs one list lookup, not two: the rule "if
// head-tail@domain is itself a list, its posting address wins" is answered
// by a flag of `list` instead of a failed lookup of `list-owner`.
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "listgate/table/address.h"
#include "listgate/table/perfect_hash.h"
#include "listgate/table/resolution.h"
#include "listgate/table/subaddress.h"

namespace listgate::table {

inline constexpr size_t kDomainIdBytes = 4;

// Flags stored with a list key.
inline constexpr uint16_t kListHasBackend = 1u << 0;
constexpr uint16_t suffix_is_list_flag(Suffix suffix) noexcept {
  return static_cast<uint16_t>(1u << (1 + static_cast<int>(suffix)));
}

template <class Index>
concept KeyIndex = requires(const Index& index, std::string_view key) {
  { index.find(key) } -> std::same_as<std::optional<PerfectHash::Hit>>;
};

// Writes the domain id after `local_length` bytes of `bytes` and returns the
// list key. The caller provides kDomainIdBytes of room after the local part.
inline std::string_view make_list_key(char* bytes, size_t local_length, uint32_t domain_id) noexcept {
  std::memcpy(bytes + local_length, &domain_id, kDomainIdBytes);
  return {bytes, local_length + kDomainIdBytes};
}

template <KeyIndex DomainIndex, KeyIndex ListIndex>
Resolution resolve_recipient(std::string_view address, char verp_delimiter,
                             const DomainIndex& domains, const ListIndex& lists) noexcept {
  RecipientBuffer buffer;
  ParsedRecipient parsed;
  if (!parse_recipient(address, verp_delimiter, buffer, parsed)) {
    return {Verdict::bad_address, Role::posting, 0, false};
  }
  const std::optional<PerfectHash::Hit> domain = domains.find(parsed.domain);
  if (!domain) return {Verdict::unknown_domain, Role::posting, 0, false};

  char* const bytes = buffer.bytes;
  if (parsed.suffix) {
    // The key of the head overwrites the first bytes of "-suffix"; keep
    // them to rebuild the whole local part if the head does not decide.
    char kept[kDomainIdBytes];
    std::memcpy(kept, bytes + parsed.head_length, kDomainIdBytes);
    const auto head = lists.find(make_list_key(bytes, parsed.head_length, domain->value));
    if (head && (head->flags & suffix_is_list_flag(*parsed.suffix)) == 0) {
      const Role role = role_of(*parsed.suffix);
      const bool has_backend = (head->flags & kListHasBackend) != 0;
      if (role_needs_backend(role) && !has_backend) {
        return {Verdict::needs_backend, role, head->value, false};
      }
      return {Verdict::accept, role, head->value, has_backend};
    }
    std::memcpy(bytes + parsed.head_length, kept, kDomainIdBytes);
  }
  const auto list = lists.find(make_list_key(bytes, parsed.local_length, domain->value));
  if (!list) return {Verdict::unknown_list, Role::posting, 0, false};
  return {Verdict::accept, Role::posting, list->value, (list->flags & kListHasBackend) != 0};
}

}  // namespace listgate::table
