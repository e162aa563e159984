// io/scatter.h under 1, 2 and 3 ranks (the plain process and mpiexec -n 2,
// -n 3): each rank gets exactly the groups g with g mod N = its rank, with
// the records' bytes intact (newlines, NULs, empty fields, long fields),
// rank 0 gets every result in input order, also for empty input and fewer
// records than ranks, and bad groups or results are one CollectiveError on
// every rank.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/scatter.h"
#include "tests/mpi_test_env.h"

namespace rnnsearch {
namespace {

using testing::World;

bool SameOnAllRanks(const std::string& text) {
  const auto h = static_cast<std::int64_t>(std::hash<std::string>{}(text) >> 1);
  std::int64_t v[2] = {h, -h};
  World().Allreduce(v, 2, ReduceOp::kMax);
  return v[0] == h && v[1] == -h;
}

// Fields that a text format with separators or sscanf would misread.
std::vector<std::string> Awkward() {
  return {"",
          "\n",
          "two\nlines\n",
          std::string("nul\0inside\0", 11),
          "12 34 56\n",
          "0 ||| text ||| -1.5",
          "%zu %s %n",
          "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac",
          "\xff\xfe\x80",
          "  \t ",
          std::string(200000, 'x') + "end"};
}

// n records of `fields` fields, the same on every rank.
std::vector<Record> MakeRecords(std::size_t n, std::size_t fields) {
  const std::vector<std::string> awkward = Awkward();
  std::vector<Record> records(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < fields; ++f) {
      records[i].push_back(std::to_string(i) + ":" + std::to_string(f) + "|" +
                           awkward[(i + 3 * f) % awkward.size()]);
    }
  }
  return records;
}

// A result of `fields` fields that depends on every byte of the record.
Record Result(std::size_t index, const Record& r, std::size_t fields) {
  std::string all = std::to_string(index) + "#";
  for (const std::string& f : r) all += f + '\0';
  Record out;
  for (std::size_t f = 0; f < fields; ++f) {
    std::string s = all;
    if (f % 2 == 1) std::reverse(s.begin(), s.end());
    out.push_back(f == 2 ? std::string() : s);
  }
  return out;
}

// Scatters `records` in `groups` (given on rank 0 only), checks this
// rank's share, and gathers results of `out_fields` fields, checking them
// on rank 0.
void RoundTrip(const std::vector<Record>& records,
               const std::vector<std::vector<std::size_t>>& groups, std::size_t in_fields,
               std::size_t out_fields) {
  const int rank = World().rank(), ranks = World().size();
  const bool root = rank == 0;
  const Share share = ScatterGroups(World(), in_fields, root ? records : std::vector<Record>{},
                                    root ? groups : std::vector<std::vector<std::size_t>>{});
  EXPECT_EQ(share.total, records.size());
  std::vector<std::vector<std::size_t>> want;  // this rank's groups
  for (std::size_t g = static_cast<std::size_t>(rank); g < groups.size();
       g += static_cast<std::size_t>(ranks)) {
    want.push_back(groups[g]);
  }
  ASSERT_EQ(share.groups.size(), want.size()) << "rank " << rank;
  std::vector<IndexedRecord> mine;
  for (std::size_t g = 0; g < want.size(); ++g) {
    ASSERT_EQ(share.groups[g].size(), want[g].size()) << "rank " << rank << " group " << g;
    for (std::size_t k = 0; k < want[g].size(); ++k) {
      const IndexedRecord& got = share.groups[g][k];
      EXPECT_EQ(got.index, want[g][k]) << "rank " << rank << " group " << g << " record " << k;
      EXPECT_EQ(got.record, records[want[g][k]]) << "rank " << rank << " record " << got.index;
      mine.push_back({got.index, Result(got.index, got.record, out_fields)});
    }
  }
  std::reverse(mine.begin(), mine.end());  // any order
  const std::vector<Record> results = GatherInOrder(World(), out_fields, share.total, mine);
  if (!root) {
    EXPECT_TRUE(results.empty());
    return;
  }
  ASSERT_EQ(results.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(results[i], Result(i, records[i], out_fields)) << "record " << i;
  }
}

TEST(ScatterMpi, EmptyInput) { RoundTrip({}, {}, 1, 2); }

TEST(ScatterMpi, OneRecord) { RoundTrip(MakeRecords(1, 1), {{0}}, 1, 1); }

TEST(ScatterMpi, FewerGroupsThanRanks) { RoundTrip(MakeRecords(2, 1), {{1}, {0}}, 1, 2); }

TEST(ScatterMpi, ManyGroupsInAnyOrder) {
  // 40 records in groups of 1 to 6, neither the groups nor their records
  // in input order (as batches sorted by length).
  std::vector<std::size_t> order(40);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = (i * 17 + 5) % order.size();
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t at = 0, size = 1; at < order.size(); at += size, size = size % 6 + 1) {
    groups.emplace_back(
        order.begin() + static_cast<std::ptrdiff_t>(at),
        order.begin() + static_cast<std::ptrdiff_t>(std::min(at + size, order.size())));
  }
  RoundTrip(MakeRecords(40, 1), groups, 1, 1);
}

TEST(ScatterMpi, LinesWithSpecialBytesAndEmptyLines) {
  std::vector<Record> records;
  for (const std::string& s : Awkward()) records.push_back({s});
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < records.size(); ++i) groups.push_back({records.size() - 1 - i});
  RoundTrip(records, groups, 1, 1);
}

// rnnsearch translate: one line in, the translation and the alignment out.
TEST(ScatterMpi, OneFieldInTwoFieldsOut) {
  RoundTrip(MakeRecords(11, 1), {{3, 4, 5}, {0, 1}, {2}, {6, 7, 8, 9, 10}}, 1, 2);
}

// rnnsearch rescore: source and hypothesis in, the score line out.
TEST(ScatterMpi, TwoFieldsInOneFieldOut) {
  RoundTrip(MakeRecords(9, 2), {{8}, {0, 2, 4, 6}, {1, 3, 5, 7}}, 2, 1);
}

TEST(ScatterMpi, ThreeFieldsBothWays) {
  RoundTrip(MakeRecords(7, 3), {{0, 1, 2, 3, 4, 5, 6}}, 3, 3);
}

// The message of the CollectiveError that `f` throws (on every rank alike).
std::string ErrorOf(const std::function<void()>& f) {
  std::string message = "(no error)";
  try {
    f();
  } catch (const CollectiveError& e) {
    message = e.what();
  }
  EXPECT_TRUE(SameOnAllRanks(message)) << message;
  return message;
}

void ExpectScatterError(const std::vector<Record>& records,
                        const std::vector<std::vector<std::size_t>>& groups, std::size_t fields,
                        const std::string& want) {
  const std::string message = ErrorOf([&] { ScatterGroups(World(), fields, records, groups); });
  EXPECT_NE(message.find(want), std::string::npos) << message;
}

TEST(ScatterMpi, GroupsThatAreNotAPartitionAreOneErrorEverywhere) {
  const std::vector<Record> r = MakeRecords(3, 1);
  ExpectScatterError(r, {{0, 1}, {1, 2}}, 1,
                     "ScatterGroups: group 1: expected an index below 3 in no other group, found "
                     "1 again");
  ExpectScatterError(r, {{0, 3}, {1, 2}}, 1,
                     "ScatterGroups: group 0: expected an index below 3 in no other group, found "
                     "3");
  ExpectScatterError(r, {{0}, {2}}, 1,
                     "ScatterGroups: expected every record in a group, found record 1 in none");
  ExpectScatterError(r, {{0, 1, 2}, {}}, 1, "ScatterGroups: group 1: expected records, found none");
  ExpectScatterError(r, {{0, 1, 2}}, 2, "ScatterGroups: record 0: expected 2 field(s), found 1");
}

TEST(ScatterMpi, BadResultsAreOneErrorEverywhere) {
  const int rank = World().rank(), last = World().size() - 1;
  // 4 records, one group each: the last rank has record 3 (and others).
  const Share share = ScatterGroups(World(), 1, MakeRecords(4, 1), {{0}, {1}, {2}, {3}});
  auto results = [&](std::size_t fields) {
    std::vector<IndexedRecord> mine;
    for (const auto& g : share.groups) {
      for (const IndexedRecord& r : g) mine.push_back({r.index, Record(fields, "r")});
    }
    return mine;
  };
  // The last rank leaves out its last result.
  std::string message = ErrorOf([&] {
    std::vector<IndexedRecord> mine = results(1);
    if (rank == last && !mine.empty()) mine.pop_back();
    GatherInOrder(World(), 1, share.total, mine);
  });
  std::size_t missing = 0;  // the last rank's last group
  for (std::size_t g = 0; g < 4; ++g) {
    if (g % static_cast<std::size_t>(World().size()) == static_cast<std::size_t>(last)) missing = g;
  }
  EXPECT_NE(message.find("GatherInOrder: expected a result for each of the 4 record(s), found "
                         "none for record " +
                         std::to_string(missing)),
            std::string::npos)
      << message;
  // The last rank gives record 0's result as well.
  message = ErrorOf([&] {
    std::vector<IndexedRecord> mine = results(1);
    if (rank == last) mine.push_back({0, {"again"}});
    GatherInOrder(World(), 1, share.total, mine);
  });
  EXPECT_NE(message.find("results message from rank " + std::to_string(last) + ", result "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("expected an index not given before, found 0 again"), std::string::npos)
      << message;
  // An index beyond the input.
  message = ErrorOf([&] {
    std::vector<IndexedRecord> mine = results(1);
    if (rank == last && !mine.empty()) mine.back().index = 9;
    GatherInOrder(World(), 1, share.total, mine);
  });
  EXPECT_NE(message.find("expected an index below the input's 4 record(s), found 9"),
            std::string::npos)
      << message;
  // A result with two fields where one is expected.
  message = ErrorOf([&] {
    std::vector<IndexedRecord> mine = results(1);
    if (rank == last && !mine.empty()) mine.back().record.push_back("extra");
    GatherInOrder(World(), 1, share.total, mine);
  });
  EXPECT_NE(message.find("GatherInOrder: the result for record "), std::string::npos) << message;
  EXPECT_NE(message.find(": expected 1 field(s), found 2"), std::string::npos) << message;
}

}  // namespace
}  // namespace rnnsearch
