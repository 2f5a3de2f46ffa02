// postmap.h - running postmap_command on a map file, off the reactor.
//
// The command is split at spaces into words (no shell) and gets one more
// word, `hash:FILE`, so that `/usr/sbin/postmap -c /etc/postfix-lists`
// works and the result is always FILE.db whatever Postfix's
// default_database_type. It must exit 0 and leave FILE.db; its output is
// captured and becomes part of the error, so it never mixes into the
// `key=value` log on stderr.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::mta {

// The words of a postmap_command; empty words are dropped.
std::vector<std::string> split_command(const std::string& command);

// Runs `words + hash:file` and waits for it (killed after `timeout`).
// The error reads "COMMAND hash:FILE: exit status N: OUTPUT".
Result<void> run_postmap(const std::vector<std::string>& words, const std::string& file,
                         std::chrono::milliseconds timeout);

}  // namespace listgate::mta
