// SPDX-License-Identifier: MIT
// StopStringMatcher: filters streamed text so that generation can end at a stop string without
// ever printing it. Text that could be the beginning of a stop string is held back until it
// either completes the stop string (then it is dropped) or can no longer (then it is released).
// Layer: engine.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mamba {

class StopStringMatcher {
 public:
  // Empty strings in `stops` are ignored. With no stops, Push returns its input unchanged.
  explicit StopStringMatcher(std::vector<std::string> stops);

  // Appends `text` and returns what is now safe to print: everything up to the earliest stop
  // string once one appears (then stopped() is true and later Pushes return ""), otherwise all but
  // the longest tail that is a proper prefix of some stop string. When the input is valid UTF-8
  // and the stops are too, the returned text never ends inside a character (a held tail starts
  // where a stop string starts, at a character boundary).
  std::string Push(std::string_view text);

  // Returns the held-back tail (generation ended without completing a stop string) and clears it.
  // Returns "" after a stop.
  std::string Flush();

  // True once a stop string has been seen.
  bool stopped() const { return stopped_; }
  // The stop string that matched ("" if none).
  const std::string& matched() const { return matched_; }

  // Forgets held text and the stop, ready for a new generation.
  void Reset();

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace mamba
