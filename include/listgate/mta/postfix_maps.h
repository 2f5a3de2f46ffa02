// postfix_maps.h - the text of the Postfix files Mailman 3 writes:
// postfix_lmtp (transport map), postfix_domains (relay_domains) and
// postfix_vmap (virtual_alias_maps, only when a list's domain has an
// alias_domain), as `hash` or `regexp` tables.
//
// The layout follows Mailman's src/mailman/mta/postfix.py line for line:
// the seven-line header, one block per domain (sorted) with one paragraph
// per list (sorted by local part), the column width Mailman computes from
// all nine addresses of a list, `.` escaped in regexps and `-bounces` and
// `-confirm` matching an optional `+TAG`. Where a list's domain has an
// alias_domain, postfix_lmtp and postfix_domains name the alias domain and
// postfix_vmap maps the list domain's addresses onto it, as Mailman does.
//
// Where listgate differs, on purpose:
// - Only addresses listgate accepts get a line (mailman_addresses.h): a list
//   without a backend has its posting, -bounces and -owner lines only.
//   Each line written is the one Mailman writes for that address.
// - The header says listgate, not Mailman (still seven lines).
// - Regexps escape every ERE special character, not only `.` (identical
//   for names without them), and the optional tag starts with the
//   configured verp_delimiter (`+` by default, as Mailman hard-codes).
// - Two columns are always separated by at least one space (Mailman's
//   vmap width can come out shorter than a long list domain's key).
// - In a regexp postfix_vmap, `-bounces` and `-confirm` carry the tag over
//   (`list-bounces${1}@alias`): Mailman's drops it, and with it the member
//   of a VERP bounce. Postfix fills an unmatched ${1} with nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "listgate/table/list_table.h"

namespace listgate::mta {

enum class MapType { hash, regexp };

struct MapTextOptions {
  MapType type = MapType::hash;
  // The right-hand side of postfix_lmtp: see lmtp_transport().
  std::string transport = "lmtp:[127.0.0.1]:8024";
  char verp_delimiter = table::kDefaultVerpDelimiter;
  // Printed in the header, as Mailman prints now(): "2024-05-01 12:00:00".
  std::string generated_at;
};

// Mailman's transport: `lmtp:[HOST]:PORT`.
std::string lmtp_transport(std::string_view host, uint16_t port);
// For an LMTP Unix socket (`listgate serve --lmtp unix:PATH`): `lmtp:unix:PATH`.
std::string lmtp_unix_transport(std::string_view path);

// "YYYY-MM-DD HH:MM:SS" (UTC) of the current time, for generated_at.
std::string generated_now();

std::string postfix_lmtp_text(const table::ListTable& table, const MapTextOptions& options);
std::string postfix_domains_text(const table::ListTable& table, const MapTextOptions& options);
// nullopt when no list is in a domain with an alias_domain (Mailman then
// writes no postfix_vmap at all).
std::optional<std::string> postfix_vmap_text(const table::ListTable& table, const MapTextOptions& options);

// A regexp table's pattern for `address` (`/^...$/`), as Mailman decorates
// it; exposed for the tests.
std::string regexp_pattern(std::string_view address, char verp_delimiter);

}  // namespace listgate::mta
