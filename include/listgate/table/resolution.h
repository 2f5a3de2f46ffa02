// resolution.h - what the list table says about one recipient address.
//
// The LMTP machine asks a Directory at RCPT time and keeps the answer with
// the recipient; delivery later acts on the role. The Directory is an
// interface so the protocol machine can be tested without a real table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace listgate::table {

// The address roles of DESIGN.md section 1 (subscribe folds into join,
// unsubscribe into leave, as Mailman does).
enum class Role : uint8_t { posting, owner, bounces, request, join, leave, confirm };

enum class Verdict : uint8_t {
  accept,
  unknown_domain,  // the domain is not a list domain (nor an alias of one)
  unknown_list,    // the domain is known, the list is not
  needs_backend,   // a -request/-join/... address of a list without a backend
  bad_address,     // not local@domain
};

struct Resolution {
  Verdict verdict = Verdict::bad_address;
  Role role = Role::posting;
  uint32_t list = 0;           // index of the list in its table
  bool relay = false;          // the list has a backend: relay the address unchanged
};

class Directory {
 public:
  virtual ~Directory() = default;
  // `address` is the RCPT path without angle brackets, in any case.
  virtual Resolution resolve(std::string_view address) const = 0;
  // Resolves several addresses at once (results.size() >= addresses.size()).
  // A table can overlap the memory accesses of the lookups; the default
  // resolves them one by one.
  virtual void resolve_batch(std::span<const std::string_view> addresses,
                             std::span<Resolution> results) const {
    for (size_t i = 0; i < addresses.size(); ++i) results[i] = resolve(addresses[i]);
  }
};

}  // namespace listgate::table
