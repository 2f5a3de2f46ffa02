// base64.h - decoding the base64 of SMTP AUTH (RFC 4648, with padding).
#pragma once

#include <string>
#include <string_view>

namespace listgate::sink {

// Decodes `in` into `out` (cleared first). False on anything but canonical
// padded base64 (AUTH answers are always padded).
bool decode_base64(std::string_view in, std::string& out);

}  // namespace listgate::sink
