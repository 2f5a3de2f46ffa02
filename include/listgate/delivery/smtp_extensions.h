// smtp_extensions.h - what an upstream's EHLO/LHLO reply offers.
//
// Read once per connection from the reply's lines (the first line is the
// server's name and is skipped). Only the extensions the client uses are
// kept; keywords are matched case-insensitively and unknown ones ignored,
// as RFC 5321 4.1.1.1 asks. "AUTH=" (the pre-RFC 2554 spelling some servers
// still send) counts as AUTH.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace listgate::delivery {

struct Extensions {
  bool pipelining = false;             // RFC 2920
  bool size = false;                   // RFC 1870
  uint64_t size_limit = 0;             // SIZE n; 0 when none was given
  bool eightbitmime = false;           // RFC 6152
  bool smtputf8 = false;               // RFC 6531
  bool enhanced_status_codes = false;  // RFC 2034
  bool chunking = false;               // RFC 3030 (BDAT, used with PIPELINING)
  bool xverp = false;                  // Postfix XVERP
  std::vector<std::string> auth;       // AUTH mechanisms, upper case

  bool offers_auth(std::string_view mechanism) const;
};

// Parses the raw line texts of a 250 reply to EHLO or LHLO.
Extensions parse_extensions(std::span<const std::string> lines);

}  // namespace listgate::delivery
