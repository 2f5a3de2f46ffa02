// qmail_lmtp.cc - the socket-free parts of qmail-lmtp (see qmail_lmtp.h).
#include "qmail_lmtp.h"

#include <algorithm>
#include <charconv>

namespace qmail_lmtp {

namespace {

// An unsigned decimal number of [min, max], digits only.
std::optional<unsigned long> parse_number(std::string_view s, unsigned long min, unsigned long max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (value < min || value > max) return std::nullopt;
  return value;
}

Failure temporary(std::string reason) { return {Outcome::temporary, std::move(reason)}; }
Failure permanent(std::string reason) { return {Outcome::permanent, std::move(reason)}; }

// True if `s` can stand between "<" and ">" of an LMTP command.
bool usable_in_command(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>') return false;
  }
  return true;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

int exit_code(Outcome outcome) {
  switch (outcome) {
    case Outcome::delivered: return 0;
    case Outcome::permanent: return 100;
    case Outcome::temporary: return 111;
  }
  return 111;
}

ParsedArgs parse_args(std::span<const std::string_view> args) {
  ParsedArgs out;
  if (args.size() < 2 || args.size() > 3) {
    out.failure = temporary("usage: qmail-lmtp PORT STRIP [HOST] (check the .qmail file)");
    return out;
  }
  Options options;
  auto port = parse_number(args[0], 1, 65535);
  if (!port) {
    out.failure = temporary("bad PORT '" + printable(args[0], 40) + "': want 1-65535 (check the .qmail file)");
    return out;
  }
  options.port = static_cast<uint16_t>(*port);
  auto strip = parse_number(args[1], 0, 100);
  if (!strip) {
    out.failure = temporary("bad STRIP '" + printable(args[1], 40) + "': want 0-100 (check the .qmail file)");
    return out;
  }
  options.strip = static_cast<unsigned>(*strip);
  if (args.size() == 3) {
    if (args[2].empty() || !usable_in_command(args[2]) || args[2].size() > 255) {
      out.failure = temporary("bad HOST '" + printable(args[2], 80) + "' (check the .qmail file)");
      return out;
    }
    options.host = std::string(args[2]);
  }
  out.options = std::move(options);
  return out;
}

std::optional<std::string> strip_local_part(std::string_view local, unsigned strip) {
  for (unsigned i = 0; i < strip; ++i) {
    size_t dash = local.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    local.remove_prefix(dash + 1);
  }
  if (local.empty()) return std::nullopt;
  return std::string(local);
}

ParsedEnvelope envelope_from_env(const EnvLookup& env, unsigned strip) {
  ParsedEnvelope out;
  const char* sender = env("SENDER");
  if (sender == nullptr) {
    out.failure = temporary("$SENDER is not set: qmail-lmtp must be run by qmail-local from a .qmail file");
    return out;
  }
  std::string local;
  std::string domain;
  const char* env_local = env("LOCAL");
  const char* env_host = env("HOST");
  if (env_local != nullptr && env_host != nullptr && *env_local != '\0' && *env_host != '\0') {
    local = env_local;
    domain = env_host;
  } else if (const char* recipient = env("RECIPIENT"); recipient != nullptr) {
    std::string_view r(recipient);
    size_t at = r.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == r.size()) {
      out.failure = temporary("$RECIPIENT '" + printable(r, 200) + "' is not local@domain");
      return out;
    }
    local = std::string(r.substr(0, at));
    domain = std::string(r.substr(at + 1));
  } else {
    out.failure = temporary(
        "neither $LOCAL and $HOST nor $RECIPIENT is set: qmail-lmtp must be run by qmail-local from a .qmail "
        "file");
    return out;
  }
  auto stripped = strip_local_part(local, strip);
  if (!stripped) {
    out.failure = permanent("no list address in '" + printable(local, 200) + "@" + printable(domain, 200) +
                            "' after dropping " + std::to_string(strip) + " namespace part(s) (#5.1.1)");
    return out;
  }
  Envelope envelope;
  envelope.sender = sender;
  if (envelope.sender == "#@[]") envelope.sender.clear();  // qmail's double-bounce sender
  envelope.recipient = *stripped + "@" + domain;
  if (!usable_in_command(envelope.recipient) || envelope.recipient.size() > 900) {
    out.failure = permanent("unusable recipient address '" + printable(envelope.recipient, 200) + "' (#5.1.3)");
    return out;
  }
  if (!usable_in_command(envelope.sender) || envelope.sender.size() > 900) {
    out.failure = permanent("unusable sender address '" + printable(envelope.sender, 200) + "' (#5.1.7)");
    return out;
  }
  out.envelope = std::move(envelope);
  return out;
}

std::string printable(std::string_view text, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (unsigned char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  return out;
}

std::string Reply::summary() const {
  std::string text = std::to_string(code);
  for (const std::string& line : lines) {
    if (line.empty()) continue;
    text += ' ';
    text += line;
  }
  return printable(text);
}

bool Reply::has_keyword(std::string_view keyword) const {
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.size() < keyword.size()) continue;
    bool same = true;
    for (size_t k = 0; k < keyword.size(); ++k) {
      if (lower(line[k]) != lower(keyword[k])) {
        same = false;
        break;
      }
    }
    if (same && (line.size() == keyword.size() || line[keyword.size()] == ' ')) return true;
  }
  return false;
}

void ReplyReader::reset() {
  reply_ = Reply{};
  error_.clear();
}

bool ReplyReader::add_line(std::string_view line) {
  auto bad = [&](const std::string& what) {
    error_ = what + ": '" + printable(line, 120) + "'";
    return true;
  };
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
      line[2] > '9') {
    return bad("malformed reply line");
  }
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return bad("malformed reply line");
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!reply_.lines.empty() && code != reply_.code) return bad("reply code changes within a reply");
  if (reply_.lines.size() >= max_lines) return bad("reply of more than 100 lines");
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
  return line.size() == 3 || line[3] == ' ';
}

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::greeting: return "greeting";
    case Stage::lhlo: return "LHLO";
    case Stage::mail: return "MAIL FROM";
    case Stage::rcpt: return "RCPT TO";
    case Stage::data: return "DATA";
    case Stage::final: return "end of data";
  }
  return "?";
}

std::optional<Outcome> classify(Stage stage, int code) {
  int kind = code / 100;
  if (stage == Stage::data) {
    if (code == 354) return std::nullopt;
    if (kind == 5) return Outcome::permanent;
    return Outcome::temporary;  // 4xx, or a 2xx/3xx that is not the go-ahead
  }
  if (kind == 2) {
    if (stage == Stage::final) return Outcome::delivered;
    return std::nullopt;
  }
  if (kind == 5 && stage != Stage::greeting && stage != Stage::lhlo) return Outcome::permanent;
  return Outcome::temporary;
}

void DataEncoder::encode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + in.size() / 32 + 8);
  for (char c : in) {
    if (c == '\n') {
      if (!prev_cr_) out += '\r';
      out += '\n';
      line_start_ = true;
      prev_cr_ = false;
      continue;
    }
    if (line_start_ && c == '.') out += '.';
    out += c;
    line_start_ = false;
    prev_cr_ = c == '\r';
  }
}

void DataEncoder::finish(std::string& out) {
  if (!line_start_) out += prev_cr_ ? "\n" : "\r\n";
  out += ".\r\n";
  line_start_ = true;
  prev_cr_ = false;
}

std::string mail_command(const Envelope& envelope, const Reply& lhlo_reply) {
  std::string cmd = "MAIL FROM:<" + envelope.sender + ">";
  if (lhlo_reply.has_keyword("8BITMIME")) cmd += " BODY=8BITMIME";
  if ((!is_ascii(envelope.sender) || !is_ascii(envelope.recipient)) && lhlo_reply.has_keyword("SMTPUTF8")) {
    cmd += " SMTPUTF8";
  }
  return cmd;
}

Timeouts timeouts_from_env(const EnvLookup& env) {
  Timeouts t;
  if (const char* v = env("QMAIL_LMTP_TIMEOUT"); v != nullptr) {
    if (auto seconds = parse_number(v, 1, 3600)) {
      t.connect = t.command = t.final = static_cast<unsigned>(*seconds);
    }
  }
  return t;
}

}  // namespace qmail_lmtp
