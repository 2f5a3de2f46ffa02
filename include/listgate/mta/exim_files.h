// exim_files.h - what Exim needs from listgate, in Mailman's documented
// Exim set-up ("Hooking up your mail server", Exim):
//
//   domainlist mm_domains = ...                       (the macro file)
//   MM3_LISTCHK = MM3_HOME/lists/${local_part}.${domain}
//   mailman3_router: ... require_files = MM3_LISTCHK  (marker files)
//
// Mailman itself writes nothing for Exim: the router finds the list's own
// directory under MM3_HOME/lists. listgate has no such directories, so it
// writes an empty marker file per list instead, named `LOCAL.DOMAIN`, and
// `exim_domains`, a file to `.include` in the main part of Exim's
// configuration that defines the domain list. Alias domains are included
// in both (listgate answers them; Mailman's set-up would not), so MM3_HOME
// set to the --dir of `listgate aliases` makes the documented router work
// unchanged.
#pragma once

#include <string>
#include <vector>

#include "listgate/table/list_table.h"

namespace listgate::mta {

inline constexpr const char* kEximDomainsFile = "exim_domains";
inline constexpr const char* kEximListsDir = "lists";
inline constexpr const char* kEximDomainListName = "mm_domains";

// The text of exim_domains: a comment header and
// `domainlist mm_domains = a.example : b.example` naming every domain that
// has a list, and its alias domain, sorted.
std::string exim_domains_text(const table::ListTable& table, const std::string& generated_at);

// The marker file names, `LOCAL.DOMAIN` for every list in its domain and
// its alias domain, sorted. A local part with a `/` cannot be a file name:
// such lists are left out (and named in `skipped` when it is not null).
std::vector<std::string> exim_marker_names(const table::ListTable& table, std::vector<std::string>* skipped);

}  // namespace listgate::mta
