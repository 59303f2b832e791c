// SPDX-License-Identifier: MIT
// StopStringMatcher: stops split across pieces, overlapping prefixes, a stop at the very start,
// multi-byte UTF-8 stops, release of held text, and the no-stop pass-through.
#include "engine/stop_strings.h"

#include <gtest/gtest.h>

namespace mamba {
namespace {

// Pushes each piece and returns the concatenated output.
std::string Feed(StopStringMatcher& m, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += m.Push(p);
  return out;
}

TEST(StopStringsTest, NoStopsPassesThrough) {
  StopStringMatcher m({});
  EXPECT_EQ(m.Push("abc"), "abc");
  EXPECT_EQ(m.Push(""), "");
  EXPECT_EQ(m.Flush(), "");
  EXPECT_FALSE(m.stopped());
  StopStringMatcher empty_only({""});
  EXPECT_EQ(empty_only.Push("xyz"), "xyz");
}

TEST(StopStringsTest, StopSplitAcrossPieces) {
  StopStringMatcher m({"world"});
  EXPECT_EQ(m.Push("Hel"), "Hel");
  EXPECT_EQ(m.Push("lo, wor"), "lo, ");  // "wor" may start "world": held
  EXPECT_EQ(m.Push("ld and more"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "world");
  EXPECT_EQ(m.Push("ignored"), "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopStringsTest, StopOneByteAtATime) {
  StopStringMatcher m({"\n\n"});
  EXPECT_EQ(Feed(m, {"a", "\n", "b", "\n", "\n", "c"}), "a\nb");
  EXPECT_TRUE(m.stopped());
}

TEST(StopStringsTest, HeldTextIsReleasedWhenTheStopDoesNotComplete) {
  StopStringMatcher m({"end"});
  EXPECT_EQ(m.Push("the en"), "the ");
  EXPECT_EQ(m.Push("try"), "entry");
  EXPECT_EQ(m.Push("we en"), "we ");
  EXPECT_EQ(m.Flush(), "en");  // generation ended: print what was held
  EXPECT_FALSE(m.stopped());
}

TEST(StopStringsTest, OverlappingPrefixes) {
  // "aaab" against "aab": after "aaa" only the last two bytes can still start the stop.
  StopStringMatcher m({"aab"});
  EXPECT_EQ(m.Push("a"), "");
  EXPECT_EQ(m.Push("a"), "");
  EXPECT_EQ(m.Push("a"), "a");
  EXPECT_EQ(m.Push("b"), "");
  EXPECT_TRUE(m.stopped());

  // Two stops sharing text: the earliest occurrence wins.
  StopStringMatcher n({"abcd", "bcx"});
  EXPECT_EQ(Feed(n, {"ab", "c", "x"}), "a");
  EXPECT_EQ(n.matched(), "bcx");

  // Same start: the longer one is reported; the printed text is the same.
  StopStringMatcher o({"ab", "abc"});
  EXPECT_EQ(o.Push("xabc"), "x");
  EXPECT_EQ(o.matched(), "abc");
}

TEST(StopStringsTest, StopAtTheVeryStart) {
  StopStringMatcher m({"User:"});
  EXPECT_EQ(m.Push("User: hi"), "");
  EXPECT_TRUE(m.stopped());
  StopStringMatcher n({"User:"});
  EXPECT_EQ(Feed(n, {"Us", "er", ":"}), "");
  EXPECT_TRUE(n.stopped());
}

TEST(StopStringsTest, MultiByteUtf8Stops) {
  // "é" is C3 A9; "→" is E2 86 92.
  StopStringMatcher m({"é!"});
  EXPECT_EQ(Feed(m, {"caf", "é", "!"}), "caf");
  EXPECT_TRUE(m.stopped());

  // A held "é" is released whole when the stop does not follow: never half a character.
  StopStringMatcher n({"éa"});
  EXPECT_EQ(n.Push("xé"), "x");
  EXPECT_EQ(n.Push("b"), "éb");

  StopStringMatcher o({"→ end"});
  EXPECT_EQ(Feed(o, {"a \xE2\x86\x92", " e", "nd"}), "a ");
  EXPECT_TRUE(o.stopped());
}

TEST(StopStringsTest, ResetStartsOver) {
  StopStringMatcher m({"stop"});
  EXPECT_EQ(m.Push("a stop"), "a ");
  m.Reset();
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.Push("b st"), "b ");
  m.Reset();
  EXPECT_EQ(m.Flush(), "");
}

}  // namespace
}  // namespace mamba
