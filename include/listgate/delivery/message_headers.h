// message_headers.h - reading a message's header section in place, and the
// header lines a list adds to a post (RFC 2369, RFC 2919).
//
// The body arrives as a chain of slices in wire form (dot-stuffed, CRLF line
// ends, without the final dot). The scanner walks the header section across
// slice boundaries without copying the body; only a header line that spans
// two slices is assembled in a small scratch string.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/io/buffer.h"

namespace listgate::delivery {

struct HeaderScan {
  bool has_message_id = false;
  std::string message_id;               // the Message-ID field's value, trimmed (with <>)
  std::vector<std::string> been_there;  // every X-BeenThere value, trimmed, lower case
  size_t header_bytes = 0;              // header section length in wire form (without the empty line)
  bool complete = false;                // the empty line ending the header section was found within the limit
};

// Scans the header section of `body` (wire form). Field names compare case-
// insensitively; folded (continuation) lines belong to their field. Stops at
// the first empty line, at `limit` bytes, or at the end of the body.
HeaderScan scan_headers(const io::SliceChain& body, size_t limit = 256 * 1024);

// True when some X-BeenThere value is `list_address` (case-insensitive; a
// value may carry angle brackets or trailing comments, as Mailman's do not).
bool been_there(const HeaderScan& scan, std::string_view list_address);

struct ListHeaderFields {
  std::string_view list_address;  // lower case local@domain
  std::string_view local_part;
  std::string_view domain;
  // When non-empty, a "Message-ID: <...>" line is added first (the post had none).
  std::string_view new_message_id;
};

// The lines a post gains, each ending in CRLF, in this order:
//   [Message-ID: <new id>]
//   List-Id: <local.domain>
//   List-Post: <mailto:local@domain>
//   List-Help: <mailto:local-owner@domain?subject=help>
//   List-Unsubscribe: <mailto:local-owner@domain?subject=unsubscribe>
//   Precedence: list
//   X-BeenThere: local@domain
// (Without a backend a list's -request and -leave addresses do not exist at
// listgate, so help and unsubscribe go to the owners.)
std::string list_header_lines(const ListHeaderFields& fields);

// A fresh Message-ID value with angle brackets: <UNIQUE@hostname>, unique
// per process and call (time, pid, counter).
std::string make_message_id(std::string_view hostname);

}  // namespace listgate::delivery
