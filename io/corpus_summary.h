// Human-readable summaries of a corpus for `rnnsearch preprocess` and
// `rnnsearch inspect`: counts, vocabularies, filters, length histogram,
// and the padding that a batching achieves.
#pragma once

#include <string>

#include "io/batch_plan.h"
#include "io/manifest.h"

namespace rnnsearch {

// Counts, vocabularies, filter counts and the length histogram.
std::string FormatCorpusSummary(const Manifest& m, const std::string& dir);

// Batches and padding efficiency of one epoch's plan under `options`.
std::string FormatPadding(const PaddingStats& stats, const BatchingOptions& options,
                          std::int64_t epoch);

// 1234567 -> "1,234,567".
std::string WithCommas(std::int64_t n);

}  // namespace rnnsearch
