// spool.cc - the retry spool on disk: ID.msg written once, ID.meta replaced atomically.
//
// Every file is reached through the directory's descriptor (openat and
// friends), so the directory fsync'ed is the one written to; paths are built
// only for error messages. The order of writes is what makes a crash safe:
// ID.msg is complete and fsync'ed before ID.meta exists, and remove() drops
// ID.meta first, so an ID.msg alone is never something that was acknowledged.
#include "listgate/delivery/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "listgate/base/concat.h"

namespace listgate::delivery {
namespace {

constexpr std::string_view kVersionLine = "listgate-spool 1";
constexpr std::string_view kMsgSuffix = ".msg";
constexpr std::string_view kMetaSuffix = ".meta";
constexpr std::string_view kTmpSuffix = ".meta.tmp";
constexpr std::string_view kBadSuffix = ".bad";
constexpr mode_t kDirMode = 0750;
constexpr mode_t kFileMode = 0640;
constexpr int kMaxIdAttempts = 16;  // O_EXCL collisions before giving up (never expected)

// Closes on scope exit; close() of a written file is checked by hand before that.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

Error os_error(std::string_view path, std::string_view what, int err) {
  return make_error(concat({path, ": ", what, ": ", std::strerror(err)}));
}

bool is_id_char(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-'; }

bool valid_id(std::string_view id) { return !id.empty() && std::all_of(id.begin(), id.end(), is_id_char); }

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The directory as the helpers need it: its descriptor and its name for messages.
struct Dir {
  int fd;
  const std::string& path;

  std::string path_of(std::string_view name) const { return concat({path, "/", name}); }
};

// Writes every byte of `iov` (no empty elements), resuming after short writes.
Result<void> write_all(int fd, std::vector<iovec>& iov, const std::string& path) {
  size_t next = 0;
  while (next < iov.size()) {
    const int batch = static_cast<int>(std::min<size_t>(iov.size() - next, IOV_MAX));
    const ssize_t written = ::writev(fd, &iov[next], batch);
    if (written < 0) {
      if (errno == EINTR) continue;
      return os_error(path, "cannot write", errno);
    }
    if (written == 0) return make_error(path + ": cannot write: no progress");
    auto left = static_cast<size_t>(written);
    while (left > 0) {
      if (left >= iov[next].iov_len) {
        left -= iov[next].iov_len;
        ++next;
      } else {
        iov[next].iov_base = static_cast<char*>(iov[next].iov_base) + left;
        iov[next].iov_len -= left;
        left = 0;
      }
    }
  }
  return {};
}

// Writes, fsyncs and closes; the caller unlinks the file when this fails.
Result<void> write_sync_close(UniqueFd& fd, std::vector<iovec>& iov, const std::string& path) {
  if (auto written = write_all(fd.get(), iov, path); !written) return written;
  if (::fsync(fd.get()) != 0) return os_error(path, "cannot fsync", errno);
  // close() can report a deferred write error (NFS); a lost write must not be acknowledged.
  if (::close(fd.release()) != 0) return os_error(path, "cannot close", errno);
  return {};
}

Result<void> sync_dir(const Dir& dir) {
  if (::fsync(dir.fd) != 0) return os_error(dir.path, "cannot fsync directory", errno);
  return {};
}

// ID.meta.tmp written and fsync'ed, then renamed over ID.meta. No directory
// fsync: the caller does it once for everything it changed.
Result<void> replace_meta(const Dir& dir, const SpoolEntry& entry) {
  const std::string tmp_name = entry.id + std::string(kTmpSuffix);
  const std::string tmp_path = dir.path_of(tmp_name);
  UniqueFd fd(::openat(dir.fd, tmp_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode));
  if (fd.get() < 0) return os_error(tmp_path, "cannot create", errno);
  std::string text = format_spool_meta(entry);
  std::vector<iovec> iov{{text.data(), text.size()}};
  Result<void> done = write_sync_close(fd, iov, tmp_path);
  if (done &&
      ::renameat(dir.fd, tmp_name.c_str(), dir.fd, (entry.id + std::string(kMetaSuffix)).c_str()) != 0) {
    done = os_error(tmp_path, "cannot rename to .meta", errno);
  }
  if (!done) ::unlinkat(dir.fd, tmp_name.c_str(), 0);
  return done;
}

Result<std::string> read_whole(const Dir& dir, const std::string& name) {
  const std::string path = dir.path_of(name);
  UniqueFd fd(::openat(dir.fd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return os_error(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error(path, "cannot stat", errno);
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(path, "cannot read", errno);
    }
    if (n == 0) break;
    bytes.append(chunk, static_cast<size_t>(n));
  }
  return bytes;
}

bool file_exists(const Dir& dir, const std::string& name) {
  return ::faccessat(dir.fd, name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

// mkdir -p: each missing component with kDirMode.
Result<void> make_directories(const std::string& dir) {
  for (size_t end = dir.find('/', 1);; end = dir.find('/', end + 1)) {
    const std::string prefix = dir.substr(0, end);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return os_error(prefix, "cannot create directory", errno);
    }
    if (end == std::string::npos) return {};
  }
}

// Unique in the directory together with O_EXCL: time and pid tell processes
// apart, the sequence tells entries of one process apart, and the random
// bytes cover a pid reused within the same second.
std::string make_id(uint64_t sequence) {
  uint32_t random = 0;
  if (::getrandom(&random, sizeof random, GRND_NONBLOCK) != sizeof random) random = 0;
  char id[64];
  std::snprintf(id, sizeof id, "%llx-%x-%llx-%08x", static_cast<unsigned long long>(::time(nullptr)),
                static_cast<unsigned>(::getpid()), static_cast<unsigned long long>(sequence), random);
  return id;
}

Result<void> check_id(std::string_view id) {
  if (valid_id(id)) return {};
  return make_error(concat({"spool entry id '", id, "' is not [0-9a-f-]+"}));
}

// What add() and update() refuse to write: an address that would break the
// line format (free text is flattened by format_spool_meta instead).
Result<void> check_addresses(const SpoolEntry& entry) {
  if (entry.list.empty() || has_line_break(entry.list)) {
    return make_error(concat({"spool entry ", entry.id, ": list address is empty or contains CR/LF"}));
  }
  if (has_line_break(entry.sender)) {
    return make_error(concat({"spool entry ", entry.id, ": sender contains CR/LF"}));
  }
  for (const std::string& rcpt : entry.recipients) {
    if (rcpt.empty() || has_line_break(rcpt)) {
      return make_error(concat({"spool entry ", entry.id, ": a recipient is empty or contains CR/LF"}));
    }
  }
  return {};
}

// ---------------------------------------------------------------------------
// The .meta text.

enum class Key {
  id,
  kind,
  list,
  sender,
  verp,
  body_8bit,
  smtputf8,
  bare_newlines,
  message_id,
  created,
  next_attempt,
  attempts,
  last_reply,
  prefix_length,
  body_length,
  rcpt,
};

constexpr std::array<std::pair<std::string_view, Key>, 16> kKeys{{
    {"id", Key::id},
    {"kind", Key::kind},
    {"list", Key::list},
    {"sender", Key::sender},
    {"verp", Key::verp},
    {"8bitmime", Key::body_8bit},
    {"smtputf8", Key::smtputf8},
    {"bare-newlines", Key::bare_newlines},
    {"message-id", Key::message_id},
    {"created", Key::created},
    {"next-attempt", Key::next_attempt},
    {"attempts", Key::attempts},
    {"last-reply", Key::last_reply},
    {"prefix-length", Key::prefix_length},
    {"body-length", Key::body_length},
    {"rcpt", Key::rcpt},
}};

static_assert(
    [] {
      for (size_t i = 0; i < kKeys.size(); ++i) {
        if (static_cast<size_t>(kKeys[i].second) != i) return false;
      }
      return true;
    }(),
    "kKeys is indexed by Key");

std::string_view key_name(Key key) { return kKeys[static_cast<size_t>(key)].first; }

void append_line(std::string& out, Key key, std::string_view value) {
  out.append(key_name(key)).append(": ");
  // Free text (last reply, Message-ID) keeps its words on one line.
  for (char c : value) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += '\n';
}

void append_line(std::string& out, Key key, std::integral auto value) {
  append_line(out, key, std::to_string(value));
}

void append_line(std::string& out, Key key, bool value) {
  append_line(out, key, std::string_view(value ? "1" : "0"));
}

template <class Int>
bool parse_int(std::string_view text, Int& out) {
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && stop == end;
}

bool parse_bool(std::string_view text, bool& out) {
  if (text != "0" && text != "1") return false;
  out = text == "1";
  return true;
}

// Stores one value; false when it does not parse.
bool set_field(SpoolEntry& entry, Key key, std::string_view value) {
  switch (key) {
    case Key::id:
      entry.id = value;
      return valid_id(value);
    case Key::kind:
      if (value != "post" && value != "owner") return false;
      entry.kind = value == "post" ? SpoolKind::post : SpoolKind::owner;
      return true;
    case Key::list:
      entry.list = value;
      return !value.empty();
    case Key::sender:
      entry.sender = value;
      return true;
    case Key::verp:
      return parse_bool(value, entry.verp);
    case Key::body_8bit:
      return parse_bool(value, entry.body_8bit);
    case Key::smtputf8:
      return parse_bool(value, entry.smtputf8);
    case Key::bare_newlines:
      return parse_bool(value, entry.bare_newlines);
    case Key::message_id:
      entry.message_id = value;
      return true;
    case Key::created:
      return parse_int(value, entry.created);
    case Key::next_attempt:
      return parse_int(value, entry.next_attempt);
    case Key::attempts:
      return parse_int(value, entry.attempts);
    case Key::last_reply:
      entry.last_reply = value;
      return true;
    case Key::prefix_length:
      return parse_int(value, entry.prefix_length);
    case Key::body_length:
      return parse_int(value, entry.body_length);
    case Key::rcpt:
      if (value.empty()) return false;
      entry.recipients.emplace_back(value);
      return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// The listing.

std::string format_duration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  constexpr std::array<std::pair<int64_t, char>, 4> kUnits{{{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}};
  // The two largest units are enough to read at a glance: "3m12s", "2d5h".
  std::string out;
  int shown = 0;
  for (const auto& [size, unit] : kUnits) {
    const int64_t count = seconds / size;
    seconds %= size;
    if (shown == 0 && count == 0 && unit != 's') continue;
    if (count > 0 || shown == 0) out += std::to_string(count) + unit;
    if (++shown == 2) break;
  }
  return out;
}

std::string plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace

std::string_view to_string(SpoolKind kind) { return kind == SpoolKind::post ? "post" : "owner"; }

// ---------------------------------------------------------------------------
// Spool

Spool::Spool(std::string dir, int dir_fd) : dir_(std::move(dir)), dir_fd_(dir_fd) {}

Spool::~Spool() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<std::unique_ptr<Spool>> Spool::open(const std::string& dir, bool create) {
  if (dir.empty()) return make_error("spool directory name is empty");
  if (create) {
    if (auto made = make_directories(dir); !made) return made.error();
  }
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT && !create) return make_error(concat({"spool ", dir, " does not exist"}));
    return os_error(dir, "cannot open spool directory", errno);
  }
  if (create && ::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return os_error(dir, "spool directory is not writable", errno);
  }
  return std::unique_ptr<Spool>(new Spool(dir, fd.release()));
}

Result<void> Spool::add(SpoolEntry& entry, std::string_view header_prefix, const io::SliceChain& body) {
  if (auto checked = check_addresses(entry); !checked) return checked;
  const Dir dir{dir_fd_, dir_};

  std::string msg_name;
  UniqueFd msg_fd(-1);
  for (int attempt = 0; attempt < kMaxIdAttempts && msg_fd.get() < 0; ++attempt) {
    entry.id = make_id(sequence_++);
    msg_name = entry.id + std::string(kMsgSuffix);
    msg_fd.reset(::openat(dir_fd_, msg_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode));
    if (msg_fd.get() < 0 && errno != EEXIST) return os_error(dir.path_of(msg_name), "cannot create", errno);
  }
  if (msg_fd.get() < 0) return make_error(dir_ + ": cannot find an unused spool id");

  std::vector<iovec> iov;
  iov.reserve(body.size() + 1);
  if (!header_prefix.empty()) iov.push_back({const_cast<char*>(header_prefix.data()), header_prefix.size()});
  for (const io::Slice& s : body) {
    if (!s.empty()) iov.push_back({const_cast<char*>(s.data()), s.length});
  }
  entry.prefix_length = header_prefix.size();
  entry.body_length = io::total_length(body);

  const std::string meta_name = entry.id + std::string(kMetaSuffix);
  Result<void> done = write_sync_close(msg_fd, iov, dir.path_of(msg_name));
  if (done) done = replace_meta(dir, entry);
  if (done) done = sync_dir(dir);
  if (!done) {
    ::unlinkat(dir_fd_, meta_name.c_str(), 0);
    ::unlinkat(dir_fd_, msg_name.c_str(), 0);
    entry.id.clear();
  }
  return done;
}

Result<void> Spool::update(const SpoolEntry& entry) {
  if (auto checked = check_id(entry.id); !checked) return checked;
  if (auto checked = check_addresses(entry); !checked) return checked;
  const Dir dir{dir_fd_, dir_};
  if (auto replaced = replace_meta(dir, entry); !replaced) return replaced;
  return sync_dir(dir);
}

Result<void> Spool::remove(const std::string& id) {
  if (auto checked = check_id(id); !checked) return checked;
  const Dir dir{dir_fd_, dir_};
  const std::string meta_name = id + std::string(kMetaSuffix);
  if (::unlinkat(dir_fd_, meta_name.c_str(), 0) != 0)
    return os_error(dir.path_of(meta_name), "cannot remove", errno);
  const std::string msg_name = id + std::string(kMsgSuffix);
  // Without its .meta the .msg is an orphan load_all() removes, so a failure here loses nothing.
  if (::unlinkat(dir_fd_, msg_name.c_str(), 0) != 0 && errno != ENOENT) {
    return os_error(dir.path_of(msg_name), "cannot remove", errno);
  }
  return sync_dir(dir);
}

Result<std::vector<SpoolEntry>> Spool::load_all(std::vector<std::string>* problems, bool repair) {
  const Dir dir{dir_fd_, dir_};
  auto report = [&](std::string line) {
    if (problems != nullptr) problems->push_back(std::move(line));
  };
  bool changed = false;  // the directory needs an fsync

  // A fresh descriptor: readdir moves the offset, which a dup would share.
  const int list_fd = ::openat(dir_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* listing = list_fd < 0 ? nullptr : ::fdopendir(list_fd);
  if (listing == nullptr) {
    const int err = errno;
    if (list_fd >= 0) ::close(list_fd);
    return os_error(dir_, "cannot list spool directory", err);
  }
  std::set<std::string> metas, msgs, tmps, bads;
  // .meta.tmp before .meta: the longer suffix first. Other files are not the spool's.
  const std::array<std::pair<std::string_view, std::set<std::string>*>, 4> kinds{
      {{kTmpSuffix, &tmps}, {kMetaSuffix, &metas}, {kMsgSuffix, &msgs}, {kBadSuffix, &bads}}};
  errno = 0;
  while (const dirent* e = ::readdir(listing)) {
    const std::string_view name = e->d_name;
    for (const auto& [suffix, ids] : kinds) {
      if (!name.ends_with(suffix)) continue;
      const std::string_view id = name.substr(0, name.size() - suffix.size());
      if (valid_id(id)) ids->emplace(id);
      break;
    }
  }
  const int list_errno = errno;
  ::closedir(listing);
  if (list_errno != 0) return os_error(dir_, "cannot list spool directory", list_errno);

  for (const std::string& id : tmps) {
    const std::string name = id + std::string(kTmpSuffix);
    const std::string path = dir.path_of(name);
    if (!repair) {
      report(path + ": temporary file (an update in progress, or left by a crash)");
    } else if (::unlinkat(dir_fd_, name.c_str(), 0) == 0) {
      changed = true;
      report(path + ": stale temporary file removed");
    } else {
      report(concat({path, ": stale temporary file, cannot remove: ", std::strerror(errno)}));
    }
  }

  // A .meta that cannot be trusted becomes ID.bad, for the operator to look at.
  auto set_aside = [&](const std::string& id, const std::string& name, const std::string& problem) {
    if (!repair) return report(problem);
    const std::string bad_name = id + std::string(kBadSuffix);
    if (::renameat(dir_fd_, name.c_str(), dir_fd_, bad_name.c_str()) != 0) {
      return report(concat({problem, "; cannot rename to ", bad_name, ": ", std::strerror(errno)}));
    }
    changed = true;
    bads.insert(id);
    report(concat({problem, "; renamed to ", bad_name}));
  };

  std::vector<SpoolEntry> entries;
  for (const std::string& id : metas) {
    const std::string name = id + std::string(kMetaSuffix);
    const std::string path = dir.path_of(name);
    auto text = read_whole(dir, name);
    // Looking at a live spool, an entry may be removed between readdir and here.
    if (!text && !repair && !file_exists(dir, name)) continue;
    if (!text) {
      set_aside(id, name, text.error().message);
      continue;
    }
    auto entry = parse_spool_meta(*text, id);
    if (!entry) {
      set_aside(id, name, concat({path, ": ", entry.error().message}));
      continue;
    }
    const std::string msg_name = id + std::string(kMsgSuffix);
    struct stat st {};
    if (::fstatat(dir_fd_, msg_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      const int err = errno;
      if (!repair && !file_exists(dir, name)) continue;
      set_aside(id, name, concat({path, ": ", msg_name, ": ", std::strerror(err)}));
      continue;
    }
    const uint64_t expected = entry->prefix_length + entry->body_length;
    if (static_cast<uint64_t>(st.st_size) != expected) {
      set_aside(id, name,
                concat({path, ": ", msg_name, " has ", std::to_string(st.st_size), " bytes, expected ",
                        std::to_string(expected)}));
      continue;
    }
    entries.push_back(std::move(*entry));
  }

  for (const std::string& id : msgs) {
    // A .msg next to a .bad is kept: it is what the operator needs to recover the entry.
    if (metas.contains(id) || bads.contains(id)) continue;
    const std::string name = id + std::string(kMsgSuffix);
    const std::string path = dir.path_of(name);
    if (!repair) {
      report(path + ": no .meta (an add in progress, or left by a crash)");
    } else if (::unlinkat(dir_fd_, name.c_str(), 0) == 0) {
      changed = true;
      report(path + ": orphan (no .meta, never acknowledged) removed");
    } else {
      report(concat({path, ": orphan (no .meta), cannot remove: ", std::strerror(errno)}));
    }
  }
  if (changed) {
    if (auto synced = sync_dir(dir); !synced) return synced.error();
  }

  std::sort(entries.begin(), entries.end(), [](const SpoolEntry& a, const SpoolEntry& b) {
    return a.next_attempt != b.next_attempt ? a.next_attempt < b.next_attempt : a.id < b.id;
  });
  return entries;
}

Result<std::string> Spool::read_message(const SpoolEntry& entry) const {
  if (auto checked = check_id(entry.id); !checked) return checked.error();
  const Dir dir{dir_fd_, dir_};
  const std::string name = entry.id + std::string(kMsgSuffix);
  auto bytes = read_whole(dir, name);
  if (!bytes) return bytes;
  const uint64_t expected = entry.prefix_length + entry.body_length;
  if (bytes->size() != expected) {
    return make_error(concat({dir.path_of(name), ": has ", std::to_string(bytes->size()), " bytes, expected ",
                              std::to_string(expected)}));
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// Text

std::string format_spool_meta(const SpoolEntry& entry) {
  std::string out;
  out.append(kVersionLine).append("\n");
  append_line(out, Key::id, entry.id);
  append_line(out, Key::kind, to_string(entry.kind));
  append_line(out, Key::list, entry.list);
  append_line(out, Key::sender, entry.sender);
  append_line(out, Key::verp, entry.verp);
  append_line(out, Key::body_8bit, entry.body_8bit);
  append_line(out, Key::smtputf8, entry.smtputf8);
  append_line(out, Key::bare_newlines, entry.bare_newlines);
  append_line(out, Key::message_id, entry.message_id);
  append_line(out, Key::created, entry.created);
  append_line(out, Key::next_attempt, entry.next_attempt);
  append_line(out, Key::attempts, entry.attempts);
  append_line(out, Key::last_reply, entry.last_reply);
  append_line(out, Key::prefix_length, entry.prefix_length);
  append_line(out, Key::body_length, entry.body_length);
  for (const std::string& rcpt : entry.recipients) append_line(out, Key::rcpt, rcpt);
  return out;
}

Result<SpoolEntry> parse_spool_meta(std::string_view text, std::string_view id) {
  // A rename makes the file appear whole; a missing last newline means it was cut short anyway.
  if (!text.ends_with('\n')) return make_error("does not end with a newline (truncated?)");
  if (text.find('\r') != std::string_view::npos) return make_error("contains a carriage return");
  const size_t first_end = text.find('\n');
  if (text.substr(0, first_end) != kVersionLine) {
    return make_error(concat({"first line is not '", kVersionLine, "'"}));
  }

  SpoolEntry entry;
  std::array<bool, kKeys.size()> seen{};
  size_t line_number = 1;
  for (size_t pos = first_end + 1; pos < text.size();) {
    const size_t end = text.find('\n', pos);
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const std::string at = "line " + std::to_string(++line_number) + ": ";
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return make_error(at + "not 'key: value'");
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    const auto known =
        std::find_if(kKeys.begin(), kKeys.end(), [&](const auto& k) { return k.first == name; });
    if (known == kKeys.end()) return make_error(concat({at, "unknown key '", name, "'"}));
    const Key key = known->second;
    if (key != Key::rcpt && std::exchange(seen[static_cast<size_t>(key)], true)) {
      return make_error(concat({at, "'", name, "' given twice"}));
    }
    if (!set_field(entry, key, value))
      return make_error(concat({at, "bad value for '", name, "': '", value, "'"}));
  }
  for (const auto& [name, key] : kKeys) {
    if (key != Key::rcpt && !seen[static_cast<size_t>(key)])
      return make_error(concat({"no '", name, "' line"}));
  }
  if (entry.id != id)
    return make_error(concat({"id '", entry.id, "' does not match the file name ('", id, "')"}));
  return entry;
}

std::string format_spool_listing(const std::vector<SpoolEntry>& entries, int64_t now) {
  if (entries.empty()) return "spool is empty\n";
  constexpr size_t kColumns = 8;
  constexpr std::array<bool, kColumns> kRightAligned{false, false, false, true, true, false, false, false};
  std::vector<std::array<std::string, kColumns>> rows;
  rows.push_back({"ID", "KIND", "LIST", "OWED", "TRIES", "AGE", "NEXT", "LAST REPLY"});
  size_t owed = 0;
  for (const SpoolEntry& e : entries) {
    owed += e.recipients.size();
    rows.push_back({e.id, std::string(to_string(e.kind)), e.list, std::to_string(e.recipients.size()),
                    std::to_string(e.attempts), format_duration(now - e.created),
                    e.next_attempt <= now ? "due" : "in " + format_duration(e.next_attempt - now),
                    e.last_reply});
  }
  std::array<size_t, kColumns> width{};
  for (const auto& row : rows) {
    for (size_t c = 0; c < kColumns; ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < kColumns; ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      if (c > 0) line += "  ";
      // The last column is not padded: nothing follows it.
      line += kRightAligned[c] ? pad + row[c] : (c + 1 < kColumns ? row[c] + pad : row[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += concat(
      {plural(entries.size(), "entry", "entries"), ", ", plural(owed, "recipient", "recipients"), " owed\n"});
  return out;
}

}  // namespace listgate::delivery
