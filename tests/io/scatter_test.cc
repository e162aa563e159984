// The wire format of io/scatter.h: the documented byte layout, the groups
// each rank takes, and malformed messages (cut short, a length past the
// end, a wrong field count, bad indices, trailing bytes, a count too large
// for the message) as errors that name the item, its byte offset, what was
// expected and what was found.
#include "io/scatter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rnnsearch {
namespace {

std::string U64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// The message of the std::runtime_error that `f` throws.
template <class F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string GroupsError(const std::string& bytes, std::size_t fields) {
  return ErrorOf([&] { wire::DecodeGroups(bytes, fields, 0, 1); });
}

std::string ResultsError(const std::string& bytes, std::size_t fields, std::size_t total) {
  std::vector<Record> out(total);
  std::vector<bool> seen(total, false);
  return ErrorOf([&] { wire::DecodeResults(bytes, fields, 2, out, seen); });
}

TEST(ScatterWire, GroupsLayout) {
  const std::string bytes = wire::EncodeGroups(2, {{"a", ""}, {"xyz", "q"}}, {{1}, {0}});
  EXPECT_EQ(bytes, U64(2) + U64(2) + U64(2) +                             // header
                       U64(1) + U64(1) + U64(3) + "xyz" + U64(1) + "q" +  // group 0
                       U64(1) + U64(0) + U64(1) + "a" + U64(0));          // group 1
}

TEST(ScatterWire, ResultsLayout) {
  const std::string nul("\0", 1);
  EXPECT_EQ(wire::EncodeResults(1, {{5, {"ab"}}, {0, {nul}}}),
            U64(1) + U64(2) + U64(5) + U64(2) + "ab" + U64(0) + U64(1) + nul);
}

TEST(ScatterWire, RankTakesGroupsByRoundRobin) {
  std::vector<Record> records;
  for (int i = 0; i < 7; ++i) records.push_back({std::to_string(i)});
  const std::vector<std::vector<std::size_t>> groups = {{6}, {0, 1}, {2}, {5, 4}, {3}};
  const std::string bytes = wire::EncodeGroups(1, records, groups);
  const Share share = wire::DecodeGroups(bytes, 1, 1, 3);  // rank 1 of 3: groups 1 and 4
  EXPECT_EQ(share.total, 7u);
  ASSERT_EQ(share.groups.size(), 2u);
  ASSERT_EQ(share.groups[0].size(), 2u);
  EXPECT_EQ(share.groups[0][0].index, 0u);
  EXPECT_EQ(share.groups[0][1].index, 1u);
  EXPECT_EQ(share.groups[0][1].record, Record{"1"});
  ASSERT_EQ(share.groups[1].size(), 1u);
  EXPECT_EQ(share.groups[1][0].index, 3u);
  EXPECT_EQ(share.groups[1][0].record, Record{"3"});
  EXPECT_TRUE(wire::DecodeGroups(bytes, 1, 5, 6).groups.empty());  // no group for rank 5 of 6
}

TEST(ScatterWire, EveryCutOrDamagedMessageIsAnErrorNotACrash) {
  const std::string groups =
      wire::EncodeGroups(2, {{"a\n", ""}, {"", "b c"}, {"\n\n", "d"}}, {{2, 0}, {1}});
  const std::string results = wire::EncodeResults(2, {{1, {"x", ""}}, {0, {"", "yy\n"}}});
  EXPECT_EQ(GroupsError(groups, 2), "(no error)");
  EXPECT_EQ(ResultsError(results, 2, 2), "(no error)");
  for (std::size_t n = 0; n < groups.size(); ++n) {
    EXPECT_NE(GroupsError(groups.substr(0, n), 2), "(no error)") << n << " bytes";
  }
  for (std::size_t n = 0; n < results.size(); ++n) {
    EXPECT_NE(ResultsError(results.substr(0, n), 2, 2), "(no error)") << n << " bytes";
  }
  // Any byte set to 0x00, 0x7f or 0xff: decoded or refused, never read
  // past the message.
  for (const char c : {'\0', '\x7f', '\xff'}) {
    for (std::size_t i = 0; i < groups.size(); ++i) {
      std::string damaged = groups;
      damaged[i] = c;
      GroupsError(damaged, 2);
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
      std::string damaged = results;
      damaged[i] = c;
      ResultsError(damaged, 2, 2);
    }
  }
}

TEST(ScatterWire, ErrorsNameTheItemTheOffsetAndWhatWasFound) {
  // A field length past the end: result 0's length is at byte 24.
  const std::string ok = U64(1) + U64(1) + U64(0) + U64(2) + "ab";
  std::string bad = ok;
  bad.replace(24, 8, U64(1000));
  EXPECT_EQ(ResultsError(bad, 1, 1),
            "results message from rank 2, result 0 field 0 length at byte 24 of 34: expected at "
            "most the 2 byte(s) left, found 1000");
  EXPECT_EQ(ResultsError(ok, 2, 1),
            "results message from rank 2, field count at byte 0 of 34: expected 2, found 1");
  EXPECT_EQ(ResultsError(ok + "x", 1, 1),
            "results message from rank 2, end at byte 34 of 35: expected the end of the message, "
            "found 1 more byte(s)");
  EXPECT_EQ(ResultsError(ok.substr(0, 20), 1, 1),
            "results message from rank 2, result count at byte 8 of 20: expected from 0 to 0 "
            "(what the 4 byte(s) left can hold), found 1");
  EXPECT_EQ(ResultsError(U64(1) + U64(std::uint64_t{1} << 62), 1, 1),
            "results message from rank 2, result count at byte 8 of 16: expected from 0 to 0 "
            "(what the 0 byte(s) left can hold), found 4611686018427387904");
  EXPECT_EQ(ResultsError(U64(1) + U64(1) + U64(7) + U64(0), 1, 3),
            "results message from rank 2, result 0 index at byte 16 of 32: expected an index "
            "below the input's 3 record(s), found 7");
  EXPECT_EQ(ResultsError(U64(1) + U64(2) + U64(1) + U64(0) + U64(1) + U64(0), 1, 3),
            "results message from rank 2, result 1 index at byte 32 of 48: expected an index not "
            "given before, found 1 again");

  const std::string head = U64(1) + U64(2) + U64(2);  // 1 field, 2 records, 2 groups
  const std::string rec0 = U64(0) + U64(1) + "a", rec1 = U64(1) + U64(0);
  EXPECT_EQ(GroupsError(head + U64(1) + rec0 + U64(1) + rec1, 1), "(no error)");
  EXPECT_EQ(GroupsError(head + U64(1) + rec0 + U64(1) + rec0, 1),
            "groups message, group 1 record 0 index at byte 57 of 74: expected an index not given "
            "before, found 0 again");
  EXPECT_EQ(GroupsError(head + U64(0) + U64(2) + rec0 + rec1, 1),
            "groups message, group 0 size at byte 24 of 73: expected from 1 to 2 (what the 41 "
            "byte(s) left can hold), found 0");
  EXPECT_EQ(GroupsError(U64(1) + U64(2) + U64(1) + U64(1) + rec0, 1),
            "groups message, groups at byte 49 of 49: expected every record in a group, found "
            "record 1 in none");
}

}  // namespace
}  // namespace rnnsearch
