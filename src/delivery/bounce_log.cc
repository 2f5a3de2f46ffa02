// bounce_log.cc - JSON Lines bounce records, and the DSN fields of a bounce.
#include "listgate/delivery/bounce_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "chain_lines.h"
#include "listgate/base/concat.h"
#include "listgate/base/json_string.h"
#include "listgate/delivery/smtp_reply.h"

namespace listgate::delivery {
namespace {

constexpr mode_t kDirMode = 0750;
constexpr mode_t kFileMode = 0640;

Error path_error(std::string_view path, std::string_view what, int err) {
  return make_error(concat({"bounce log ", path, ": ", what, ": ", std::strerror(err)}));
}

void append_member(std::string& out, std::string_view key, std::string_view value) {
  if (out.size() > 1) out += ',';
  append_json_string(out, key);
  out += ':';
  append_json_string(out, value);
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  const auto tt = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[80];  // room for any int fields, which keeps -Wformat-truncation quiet
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// mkdir -p for the directories above `path`.
Result<void> make_parents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    if (path[slash - 1] == '/') continue;
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), kDirMode) == 0 || errno == EEXIST) continue;
    const int err = errno;
    struct stat st;
    // Some file systems say EACCES or EROFS before EEXIST; an existing directory is all we need.
    if (stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return path_error(path, concat({"cannot create directory ", dir}), err);
  }
  return {};
}

// "type; text" -> "text" (RFC 3464 address and diagnostic types); a value
// without the type is taken whole.
std::string_view after_type(std::string_view value) {
  const size_t semi = value.find(';');
  return detail::trim(semi == std::string_view::npos ? value : value.substr(semi + 1));
}

std::string_view strip_angles(std::string_view a) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = detail::trim(a.substr(1, a.size() - 2));
  return a;
}

std::string_view status_code(std::string_view value) {
  for (int reply_class : {5, 4, 2}) {
    const std::string_view code = enhanced_code_prefix(value, reply_class);
    if (!code.empty()) return code;
  }
  return {};
}

bool is_delivery_status_type(std::string_view content_type) {
  return detail::istarts_with(content_type, "message/delivery-status") ||
         detail::istarts_with(content_type, "message/global-delivery-status");  // RFC 6533
}

enum Tag : int { kMessageId, kContentType, kFinalRecipient, kOriginalRecipient, kStatus, kDiagnostic };

}  // namespace

std::string format_bounce_record(const BounceRecord& r) {
  std::string out = "{";
  append_member(out, "time", rfc3339_utc(r.time));
  append_member(out, "list", r.list);
  if (!r.member.empty()) append_member(out, "member", r.member);
  if (!r.status.empty()) append_member(out, "status", r.status);
  append_member(out, "diagnostic", r.diagnostic);
  if (!r.message_id.empty()) append_member(out, "message_id", r.message_id);
  out += '}';
  return out;
}

Result<std::unique_ptr<BounceLog>> BounceLog::open(const std::string& path) {
  if (Result<void> made = make_parents(path); !made) return made.error();
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kFileMode);
  if (fd < 0) return path_error(path, "cannot open", errno);
  return std::unique_ptr<BounceLog>(new BounceLog(path, fd));
}

BounceLog::~BounceLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> BounceLog::record(const BounceRecord& record) {
  std::string line = format_bounce_record(record);
  line += '\n';
  ssize_t n;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return path_error(path_, "write", errno);
  // A second write could interleave with another writer's line, so a short one is not resumed.
  if (static_cast<size_t>(n) != line.size()) {
    return make_error(concat({"bounce log ", path_, ": short write (", std::to_string(n), " of ",
                              std::to_string(line.size()), " bytes)"}));
  }
  return {};
}

BounceReport read_bounce(const io::SliceChain& body, size_t limit) {
  BounceReport report;
  detail::ChainLines lines(body, limit);

  // The top header section: only the bounce's own Message-ID matters there
  // (its Status or Content-Type fields say nothing about a DSN part).
  detail::read_fields(
      lines,
      [](std::string_view name) { return detail::iequals(name, "Message-ID") ? int{kMessageId} : -1; },
      [&](int, std::string_view value) {
        if (report.message_id.empty()) report.message_id.assign(value);
      },
      [](std::string_view line) { return !line.empty(); });

  // The rest: part headers and the DSN's field blocks look alike, so fields
  // are read wherever they are; the first per-recipient block ends the search.
  std::string original_recipient;
  bool in_block = false;
  const auto pick = [](std::string_view name) {
    if (detail::iequals(name, "Content-Type")) return int{kContentType};
    if (detail::iequals(name, "Final-Recipient")) return int{kFinalRecipient};
    if (detail::iequals(name, "Original-Recipient")) return int{kOriginalRecipient};
    if (detail::iequals(name, "Status")) return int{kStatus};
    if (detail::iequals(name, "Diagnostic-Code")) return int{kDiagnostic};
    return -1;
  };
  const auto keep = [&](int tag, std::string_view value) {
    switch (tag) {
      case kContentType:
        if (is_delivery_status_type(value)) report.is_dsn = true;
        return;
      case kFinalRecipient:
        if (report.final_recipient.empty()) report.final_recipient = strip_angles(after_type(value));
        break;
      case kOriginalRecipient:
        if (original_recipient.empty()) original_recipient = strip_angles(after_type(value));
        break;
      case kStatus: {
        const std::string_view code = status_code(value);
        if (code.empty()) return;  // "Status: RO" of a quoted mbox header, say
        if (report.status.empty()) report.status = code;
        report.is_dsn = true;
        break;
      }
      case kDiagnostic:
        if (report.diagnostic.empty()) report.diagnostic = after_type(value);
        break;
      default:
        return;
    }
    in_block = true;
  };
  detail::read_fields(lines, pick, keep, [&](std::string_view) { return !in_block; });

  if (report.final_recipient.empty()) report.final_recipient = std::move(original_recipient);
  return report;
}

std::string decode_verp_tag(std::string_view tag) {
  const size_t eq = tag.rfind('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == tag.size()) return {};
  return concat({tag.substr(0, eq), "@", tag.substr(eq + 1)});
}

}  // namespace listgate::delivery
