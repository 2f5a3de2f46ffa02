// spool_command.h - `listgate spool`: what waits in the retry spool and why.
#pragma once

namespace listgate::app {

// Runs the command on the words after `spool`: call it as
// run_spool_command(argc - 2, argv + 2) from main. Returns the exit status:
// 0 listed (problems found are printed to stderr but do not fail it),
// 1 the config or the spool could not be read, 2 a usage error.
int run_spool_command(int argc, const char* const* argv);

}  // namespace listgate::app
