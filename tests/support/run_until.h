// run_until.h - drive a reactor on the test's thread until a condition holds.
#pragma once

#include <chrono>
#include <functional>

#include "listgate/io/reactor.h"

namespace listgate::testing {

// Runs `r` until `done()` is true or `limit` has passed, checking every
// millisecond; returns done() at the end, so a test can assert on it.
template <class Pred>
bool run_until(io::Reactor& r, Pred done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::function<void()> tick;
  tick = [&] {
    if (done() || std::chrono::steady_clock::now() > deadline) {
      r.stop();
      return;
    }
    r.add_timer(std::chrono::milliseconds(1), tick);
  };
  r.add_timer(std::chrono::milliseconds(0), tick);
  r.run();
  return done();
}

}  // namespace listgate::testing
