// aliases_command.h - `listgate aliases`: write the MTA's files now.
#pragma once

namespace listgate::app {

// Runs the command on the words after `aliases`: call it as
// run_aliases_command(argc - 2, argv + 2) from main. Returns the exit
// status: 0 written, 1 the config, the table or a write (postmap included)
// failed, 2 a usage error.
int run_aliases_command(int argc, const char* const* argv);

}  // namespace listgate::app
