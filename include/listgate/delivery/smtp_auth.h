// smtp_auth.h - the client side of SMTP AUTH PLAIN and LOGIN (RFC 4954).
//
// Only the two mechanisms that carry a user name and password as they are:
// PLAIN is preferred (one round trip, initial response on the AUTH line),
// LOGIN is the fallback for servers that offer nothing else. Both are meant
// for a link the operator trusts (loopback, or a relay in the same network);
// there is no TLS here. Base64 is the small RFC 4648 encoder below.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "listgate/delivery/smtp_extensions.h"

namespace listgate::delivery {

enum class AuthMechanism : uint8_t { none, plain, login };

// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view bytes);

// The mechanism to use with this server: PLAIN if offered, else LOGIN, else none.
AuthMechanism choose_auth(const Extensions& e);

// base64("" NUL user NUL password): the PLAIN initial response (RFC 4616).
std::string auth_plain_response(std::string_view user, std::string_view password);

}  // namespace listgate::delivery
