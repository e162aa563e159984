// common/peak_rss.h: the peak resident memory is known and grows when the
// process writes to memory beyond its previous peak.
#include "common/peak_rss.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>

namespace rnnsearch {
namespace {

TEST(PeakRss, PositiveAndGrowsWithTouchedMemory) {
  const double before = PeakRssMb();
  ASSERT_GT(before, 0.0);
  // 64 MB, one byte written per 4 KB page (every page becomes resident).
  constexpr std::size_t kBytes = std::size_t{64} << 20;
  const std::unique_ptr<char[]> block(new char[kBytes]);
  for (std::size_t i = 0; i < kBytes; i += 4096) block[i] = static_cast<char>(i >> 12);
  long sum = 0;
  for (std::size_t i = 0; i < kBytes; i += 4096) sum += block[i];
  const double after = PeakRssMb();
  EXPECT_NE(sum, -1);  // uses the writes
  EXPECT_GT(after, before + 32.0) << "before " << before << " MB, after " << after << " MB";
}

}  // namespace
}  // namespace rnnsearch
