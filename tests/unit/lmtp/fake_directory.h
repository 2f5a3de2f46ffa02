// fake_directory.h - a small list table for the LMTP tests.
//
// Follows DESIGN.md section 2 closely enough that dialogues read like real
// sessions: domain lists.example.org (alias x.example.org) with the lists
// announce (no backend: its -request/-join/... addresses do not exist) and
// dev (fronts a backend, so every address of it is relayed).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "listgate/table/resolution.h"

namespace listgate::lmtp::lmtp_test {

class FakeDirectory final : public table::Directory {
 public:
  static constexpr std::string_view kDomain = "lists.example.org";
  static constexpr std::string_view kAliasDomain = "x.example.org";
  static constexpr uint32_t kAnnounce = 0;
  static constexpr uint32_t kDev = 1;

  table::Resolution resolve(std::string_view address) const override {
    using table::Role;
    using table::Verdict;
    std::string a(address);
    for (char& c : a) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
    }
    const size_t at = a.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == a.size()) return {Verdict::bad_address};
    std::string_view local(a.data(), at);
    std::string_view domain(a.data() + at + 1, a.size() - at - 1);
    if (domain == kAliasDomain) domain = kDomain;
    if (domain != kDomain) return {Verdict::unknown_domain};
    local = local.substr(0, local.find('+'));
    Role role = Role::posting;
    std::string_view name = local;
    const size_t dash = local.rfind('-');
    if (dash != std::string_view::npos && dash > 0) {
      const std::string_view tail = local.substr(dash + 1);
      bool is_role = true;
      if (tail == "bounces") role = Role::bounces;
      else if (tail == "confirm") role = Role::confirm;
      else if (tail == "join" || tail == "subscribe") role = Role::join;
      else if (tail == "leave" || tail == "unsubscribe") role = Role::leave;
      else if (tail == "owner") role = Role::owner;
      else if (tail == "request") role = Role::request;
      else is_role = false;
      if (is_role && find(local) < 0) {
        name = local.substr(0, dash);
      } else {
        role = Role::posting;
      }
    }
    const int list = find(name);
    if (list < 0) return {Verdict::unknown_list};
    const bool backend = list == static_cast<int>(kDev);
    const bool needs_backend = role == Role::request || role == Role::join ||
                               role == Role::leave || role == Role::confirm;
    if (needs_backend && !backend) return {Verdict::needs_backend};
    return {Verdict::accept, role, static_cast<uint32_t>(list), backend};
  }

 private:
  static int find(std::string_view name) {
    static constexpr std::array<std::string_view, 2> kLists = {"announce", "dev"};
    for (size_t i = 0; i < kLists.size(); ++i) {
      if (kLists[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};

}  // namespace listgate::lmtp::lmtp_test
