// smtp_syntax.h - taking an SMTP command line apart, without copying it.
//
// Everything returns views into the line. The sink is liberal where that
// costs nothing (a space after "FROM:", a path without angle brackets, any
// case) and strict where a mistake in the client under test would matter:
// unknown MAIL parameters and RCPT parameters are errors.
#pragma once

#include <cstdint>
#include <string_view>

namespace listgate::sink {

enum class Verb : uint8_t { helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, auth, vrfy, help, unknown };

// The verb and what follows it (leading spaces removed).
Verb parse_verb(std::string_view line, std::string_view* rest);

// `FROM:<path> params` / `TO:<path> params`: `keyword` is "FROM:" or "TO:".
// `address` is the path without brackets (empty for "<>").
bool parse_path_argument(std::string_view rest, std::string_view keyword, std::string_view* address,
                         std::string_view* params);

// Takes the next `KEY[=VALUE]` from `params` (space separated); false at the end.
bool next_parameter(std::string_view& params, std::string_view* key, std::string_view* value);

bool equals_ignoring_case(std::string_view a, std::string_view b);

// Decimal without sign; false on anything else or overflow.
bool parse_decimal(std::string_view s, uint64_t* value);

// What follows BDAT (RFC 3030): `chunk-size [SP "LAST"]`, the size 1*DIGIT,
// LAST in any case, nothing else (not even a trailing space).
bool parse_bdat_argument(std::string_view rest, uint64_t* size, bool* last);

}  // namespace listgate::sink
