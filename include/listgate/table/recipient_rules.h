// recipient_rules.h - DESIGN.md section 2 as one function over two indexes.
//
// resolve_recipient() is written once, against any index with
// `PerfectHash::Hit find(const FoldedKey&) const`, so that the table's own
// perfect hashes and the benchmark's baselines (std::unordered_map, BBHash)
// run exactly the same rules. It is also cut into steps (plan, then the
// list lookups) for ListTable::resolve_batch.
//
// Keys. The domain index maps lower-case domain names, aliases included, to
// the domain's id. The list index maps a list's lower-case local part
// followed by its domain id (4 bytes, as a tag: see PerfectHash::KeyShape)
// to the list's index: shorter than the full address, and the alias is
// already resolved. Each list key carries flags: whether the list has a
// backend, and for each role suffix whether `list-SUFFIX` is a list of its
// own in the same domain. With those, `list-owner@dom` costs one list
// lookup, not two: the rule "if head-tail@domain is itself a list, its
// posting address wins" is answered by a flag of `list` instead of a
// failed lookup of `list-owner`.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "listgate/table/address.h"
#include "listgate/table/perfect_hash.h"
#include "listgate/table/resolution.h"
#include "listgate/table/subaddress.h"

namespace listgate::table {

inline constexpr size_t kDomainIdBytes = FoldedKey::kTagBytes;

// Flags stored with a list key.
inline constexpr uint16_t kListHasBackend = 1u << 0;
constexpr uint16_t suffix_is_list_flag(Suffix suffix) noexcept {
  return static_cast<uint16_t>(1u << (1 + static_cast<int>(suffix)));
}

// An index of keys: the table's PerfectHash, or a baseline that builds the
// key the FoldedKey describes and looks that up.
template <class Index>
concept KeyIndex = requires(const Index& index, const FoldedKey& key) {
  { index.find(key) } -> std::same_as<PerfectHash::Hit>;
};

// The list key of a (lower-case) local part in domain `domain_id`, written
// to `out`, which has room for local.size() + kDomainIdBytes bytes.
inline std::string_view make_list_key(char* out, std::string_view local, uint32_t domain_id) noexcept {
  std::memcpy(out, local.data(), local.size());
  std::memcpy(out + local.size(), &domain_id, kDomainIdBytes);
  return {out, local.size() + kDomainIdBytes};
}

// A Resolution built from two words. Resolution comes back in two
// registers, but built field by field GCC writes it to the stack byte by
// byte and reads it back whole: a store-forwarding stall on every RCPT.
inline Resolution make_resolution(Verdict verdict, Role role, uint32_t list, bool relay) noexcept {
  struct Words {
    uint32_t first;  // verdict, role, two bytes of padding
    uint32_t list;
    uint32_t last;   // relay, three bytes of padding
  };
  if constexpr (std::endian::native == std::endian::little && sizeof(Resolution) == sizeof(Words) &&
                offsetof(Resolution, verdict) == 0 && offsetof(Resolution, role) == 1 &&
                offsetof(Resolution, list) == 4 && offsetof(Resolution, relay) == 8) {
    const uint32_t first = uint32_t{static_cast<uint8_t>(verdict)} |
                           (uint32_t{static_cast<uint8_t>(role)} << 8);
    return std::bit_cast<Resolution>(Words{first, list, relay ? 1u : 0u});
  } else {
    return {verdict, role, list, relay};
  }
}

// The rules in steps, so that a batch can interleave the list lookups of
// many recipients (ListTable::resolve_batch). First plan_recipient(): the
// address is split and its domain looked up, which settles bad addresses
// and unknown domains (the domain index is small and stays in cache). What
// is left is a list lookup: of the head when the address has a role
// suffix, else of the whole local part. A plan is 16 bytes; the keys are
// described again from it and the address when needed.
struct RecipientPlan {
  ParsedRecipient parsed;
  uint32_t domain = 0;               // the domain's id, when not settled
  Verdict settled = Verdict::accept;  // bad_address or unknown_domain: no lookup needed

  bool is_settled() const noexcept { return settled != Verdict::accept; }
  Resolution settled_resolution() const noexcept {
    return make_resolution(settled, Role::posting, 0, false);
  }
  // The key to look up first: the head's when there is a role suffix.
  FoldedKey first_key(std::string_view address) const noexcept {
    return {address.data(), parsed.suffix() ? parsed.head_length() : parsed.local_length(), domain, true};
  }
  FoldedKey whole_key(std::string_view address) const noexcept {
    return {address.data(), parsed.local_length(), domain, true};
  }
};

template <KeyIndex DomainIndex>
RecipientPlan plan_recipient(std::string_view address, char verp_delimiter,
                             const DomainIndex& domains) noexcept {
  RecipientPlan plan;
  plan.parsed = parse_recipient(address, verp_delimiter);
  if (!plan.parsed.ok()) {
    plan.settled = Verdict::bad_address;
    return plan;
  }
  const PerfectHash::Hit domain = domains.find(
      FoldedKey{address.data() + plan.parsed.domain_offset(), plan.parsed.domain_length(), 0, false});
  if (!domain) {
    plan.settled = Verdict::unknown_domain;
    return plan;
  }
  plan.domain = domain.value();
  return plan;
}

// The answer from the first lookup's hit, or nullopt when the whole local
// part must be looked up (the head is no list, or `head-suffix` is a list
// of its own and so wins).
inline std::optional<Resolution> decide_first(const RecipientPlan& plan, PerfectHash::Hit first) noexcept {
  const std::optional<Suffix> suffix = plan.parsed.suffix();
  if (!suffix) {
    if (!first) return make_resolution(Verdict::unknown_list, Role::posting, 0, false);
    return make_resolution(Verdict::accept, Role::posting, first.value(),
                           (first.flags() & kListHasBackend) != 0);
  }
  if (!first || (first.flags() & suffix_is_list_flag(*suffix)) != 0) return std::nullopt;
  const Role role = role_of(*suffix);
  const bool has_backend = (first.flags() & kListHasBackend) != 0;
  if (role_needs_backend(role) && !has_backend) {
    return make_resolution(Verdict::needs_backend, role, first.value(), false);
  }
  return make_resolution(Verdict::accept, role, first.value(), has_backend);
}

// The answer from the lookup of the whole local part.
inline Resolution decide_whole(PerfectHash::Hit whole) noexcept {
  if (!whole) return make_resolution(Verdict::unknown_list, Role::posting, 0, false);
  return make_resolution(Verdict::accept, Role::posting, whole.value(),
                         (whole.flags() & kListHasBackend) != 0);
}

template <KeyIndex DomainIndex, KeyIndex ListIndex>
Resolution resolve_recipient(std::string_view address, char verp_delimiter,
                             const DomainIndex& domains, const ListIndex& lists) noexcept {
  const RecipientPlan plan = plan_recipient(address, verp_delimiter, domains);
  if (plan.is_settled()) return plan.settled_resolution();
  if (const auto decided = decide_first(plan, lists.find(plan.first_key(address)))) return *decided;
  return decide_whole(lists.find(plan.whole_key(address)));
}

}  // namespace listgate::table
