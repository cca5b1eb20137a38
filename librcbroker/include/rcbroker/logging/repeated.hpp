#pragma once

// How often a warning that a peer can repeat at will is logged.

#include <cstdint>

namespace rcbroker::logging {

/// Whether the `n`th occurrence (counted from 1) of a warning that peers can repeat is worth a
/// line: the first ten, then every 1000th, so that a flood of bad input cannot flood the log (the
/// lines say how many there were so far).
constexpr bool worth_logging(std::uint64_t n) noexcept {
  return n <= 10 || n % 1000 == 0;
}

} // namespace rcbroker::logging
