// command_flags.h - the command-line words the listgate subcommands share.
//
// Every subcommand takes only flags: `-c FILE`, `--config FILE`,
// `--config=FILE`. The pieces here split such a word, take its value and
// word the errors, so `serve`, `spool` and `aliases` read alike.
// start_path_flag_command is the whole start of a command whose flags are
// all paths (spool, aliases); serve has flags of other kinds and uses the
// pieces.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "listgate/app/config.h"
#include "listgate/base/result.h"

namespace listgate::app {

// A word split at its first '=' when it is a `--name=value` long flag;
// any other word is all name (`-c=FILE` is not `-c`).
struct FlagWord {
  std::string_view name;
  std::optional<std::string_view> inline_value;
};
FlagWord split_flag_word(std::string_view word);

// The error for a word that names no flag of `command`: "unexpected argument
// 'WORD' (COMMAND takes only flags)" when it is not a flag at all, else
// "unknown flag 'NAME'".
Error not_a_flag_error(std::string_view command, std::string_view word, const FlagWord& flag);

// The value of a flag that takes one: its inline value, else the next word
// (then `next` moves past it). "NAME: needs a value" when there is neither.
Result<std::string_view> take_flag_value(const FlagWord& flag, int& next, int argc, const char* const* argv);

// A flag whose value is a path, stored in *target. A flag with a short and
// a long name is two entries.
struct PathFlag {
  std::string_view name;
  std::optional<std::string>* target;
};

// What `spool` and `aliases` do first: parse -c/--config FILE, -h/--help and
// `flags` (an empty path is "NAME: needs a path"; a flag given twice keeps
// its last value), then load FILE into `config` (the defaults stay without
// -c). Returns the exit status when the command ends here, its output
// written: 2 a usage error ("listgate COMMAND: MESSAGE" and `usage` on
// stderr), 0 help (`usage` on stdout), 1 the config could not be loaded.
// nullopt: go on with `config`.
std::optional<int> start_path_flag_command(std::string_view command, std::string_view usage,
                                           std::span<const PathFlag> flags, int argc, const char* const* argv,
                                           Config& config);

}  // namespace listgate::app
