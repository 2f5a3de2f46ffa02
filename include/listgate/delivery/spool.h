// spool.h - the retry spool: what is owed to members, durably on disk.
//
// An entry is one outbound delivery that could not finish: the message as it
// goes out (generated header prefix + body in wire form, dot-stuffed), the
// envelope, and the recipients still owed. It lives as two files in the
// spool directory:
//   ID.msg   the message bytes, written once
//   ID.meta  a small text file (format in README.md, "Spool"), rewritten
//            atomically (write ID.meta.tmp, fsync, rename, fsync directory)
//            whenever the owed recipients or the retry schedule change.
// add() writes and fsyncs ID.msg, then ID.meta, then fsyncs the directory;
// only after it returns OK may a recipient be answered 250. An ID.msg with
// no ID.meta is a crash in the middle of add() (never acknowledged) and is
// removed by load_all().
//
// Blocking file I/O: called on the reactor thread; each add/update costs
// one or two fsyncs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"
#include "listgate/io/buffer.h"

namespace listgate::delivery {

enum class SpoolKind : uint8_t { post, owner };
std::string_view to_string(SpoolKind kind);  // "post", "owner"

struct SpoolEntry {
  std::string id;            // assigned by add(): [0-9a-f-], unique in the directory
  SpoolKind kind = SpoolKind::post;
  std::string list;          // the list's posting address
  // Envelope sender. When verp is set it is the list's bounces address and
  // each recipient gets its own transaction with the VERP sender made from it.
  std::string sender;
  bool verp = false;
  bool body_8bit = false;
  bool smtputf8 = false;
  bool bare_newlines = false;
  std::string message_id;    // of the post, for the bounce log (may be empty)
  std::vector<std::string> recipients;  // still owed, in order
  int64_t created = 0;       // unix seconds: when the post was first tried
  int64_t next_attempt = 0;  // unix seconds
  uint32_t attempts = 0;     // delivery attempts made so far
  std::string last_reply;    // why it waits: the last upstream reply (one line)
  uint64_t prefix_length = 0;  // header prefix bytes at the start of ID.msg
  uint64_t body_length = 0;    // body bytes after it
};

class Spool {
 public:
  // Opens (creating it and its parents if missing) the spool directory and
  // checks that it is writable. With create false the directory must exist
  // and is not checked for writing: that is for tools that only look, like
  // `listgate spool`, which an operator may run without write access.
  static Result<std::unique_ptr<Spool>> open(const std::string& dir, bool create = true);
  ~Spool();
  Spool(const Spool&) = delete;  // owns the directory descriptor
  Spool& operator=(const Spool&) = delete;

  const std::string& dir() const { return dir_; }

  // Stores a new entry: assigns entry.id, sets prefix_length/body_length,
  // writes ID.msg = header_prefix + body, then ID.meta; fsyncs both and the
  // directory. On error nothing is left behind (best effort) and nothing may
  // be acknowledged.
  Result<void> add(SpoolEntry& entry, std::string_view header_prefix, const io::SliceChain& body);
  // Rewrites ID.meta atomically with entry's fields (recipients, schedule).
  Result<void> update(const SpoolEntry& entry);
  // Deletes ID.meta then ID.msg, and fsyncs the directory.
  Result<void> remove(const std::string& id);
  // Every entry in the directory, sorted by next_attempt then id. A .meta
  // that cannot be read or parsed, or whose ID.msg is missing or of the
  // wrong size, is renamed to ID.bad (its ID.msg is kept for the operator)
  // and described in *problems (one line each, "FILE: reason"); orphan
  // ID.msg files and stale ID.meta.tmp files are removed (and reported in
  // *problems too). With repair false nothing is renamed or removed, only
  // reported: for looking at a spool a running server owns.
  Result<std::vector<SpoolEntry>> load_all(std::vector<std::string>* problems, bool repair = true);
  // The message bytes of an entry (prefix + body), checked against the
  // lengths in the entry.
  Result<std::string> read_message(const SpoolEntry& entry) const;

 private:
  explicit Spool(std::string dir, int dir_fd);
  std::string dir_;
  int dir_fd_ = -1;
  uint64_t sequence_ = 0;
};

// Parses / writes the text of an ID.meta file (exposed for tests and tools).
std::string format_spool_meta(const SpoolEntry& entry);
Result<SpoolEntry> parse_spool_meta(std::string_view text, std::string_view id);

// The table `listgate spool` prints: one line per entry (id, kind, list,
// owed recipients, attempts, age, next attempt relative to now, last reply).
std::string format_spool_listing(const std::vector<SpoolEntry>& entries, int64_t now);

}  // namespace listgate::delivery
