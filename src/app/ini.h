// ini.h - the INI syntax of mailman.cfg, without any meaning attached.
//
// Follows Python's configparser as lazr.config uses it for Mailman:
// `[section]` headers; `key: value` or `key = value` (the first `:` or `=`
// splits); keys are lower-cased; whole-line comments start with `#` or `;`
// (no inline comments); a line indented deeper than its key continues the
// value (joined with "\n", blank lines inside kept, trailing ones dropped);
// a repeated section or a repeated key in one section is an error, as with
// configparser's strict mode. config.cc gives sections and keys a meaning.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::app::ini {

struct Entry {
  std::string key;    // lower-cased
  std::string value;  // trimmed; continuation lines joined with "\n"
  int line = 0;       // line of the key
};

struct Section {
  std::string name;  // as written, without brackets
  int line = 0;
  std::vector<Entry> entries;  // file order
};

// Errors read "FILE:LINE: what is wrong".
Result<std::vector<Section>> parse(std::string_view text, std::string_view file_name);

}  // namespace listgate::app::ini
