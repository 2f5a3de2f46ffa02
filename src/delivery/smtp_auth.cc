// smtp_auth.cc - base64 and the AUTH mechanism choice (see smtp_auth.h).
#include "listgate/delivery/smtp_auth.h"

#include <cstdint>

namespace listgate::delivery {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kPad = '=';
constexpr size_t kGroupIn = 3;
constexpr size_t kGroupOut = 4;
constexpr uint32_t kSextet = 0x3f;

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + kGroupIn - 1) / kGroupIn * kGroupOut);
  size_t i = 0;
  for (; i + kGroupIn <= bytes.size(); i += kGroupIn) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += kAlphabet[(v >> 18) & kSextet];
    out += kAlphabet[(v >> 12) & kSextet];
    out += kAlphabet[(v >> 6) & kSextet];
    out += kAlphabet[v & kSextet];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += kAlphabet[(v >> 18) & kSextet];
    out += kAlphabet[(v >> 12) & kSextet];
    out += rest == 2 ? kAlphabet[(v >> 6) & kSextet] : kPad;
    out += kPad;
  }
  return out;
}

AuthMechanism choose_auth(const Extensions& e) {
  if (e.offers_auth("PLAIN")) return AuthMechanism::plain;
  if (e.offers_auth("LOGIN")) return AuthMechanism::login;
  return AuthMechanism::none;
}

std::string auth_plain_response(std::string_view user, std::string_view password) {
  std::string raw;
  raw.reserve(user.size() + password.size() + 2);
  raw += '\0';
  raw += user;
  raw += '\0';
  raw += password;
  return base64_encode(raw);
}

}  // namespace listgate::delivery
