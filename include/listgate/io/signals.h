// signals.h - signals delivered through the event loop.
//
// The signals are blocked for the whole process (call this before starting
// any thread, so threads inherit the mask) and read from a signalfd that the
// reactor watches; SIGPIPE is ignored, since a peer that goes away is an
// error value on the socket, not a reason to die.
#pragma once

#include <initializer_list>

#include "listgate/base/result.h"

namespace listgate::io {

// A non-blocking, close-on-exec signalfd for `signals`, which are blocked.
Result<int> open_signalfd(std::initializer_list<int> signals);

}  // namespace listgate::io
