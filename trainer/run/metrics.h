// Training figures for people and for tools: the progress line that rank 0
// prints every N steps, and the JSON-lines metrics file in the run
// directory (one JSON object per line, written whole and flushed, so a
// plotting tool can read a live run).
//
//   step 1200/50000 | epoch 1.35 | loss 4.2134 | ppl 67.57 | lr 5.00e-04 |
//   gnorm 1.234 | src 5.1k tok/s | tgt 5.3k tok/s | elapsed 12m03s | left 3h10m
//   {"kind":"train","step":1200,"epoch":1.35,"loss":4.2134,...}
//
// Formatting and estimation are pure functions; only MetricsWriter touches
// a file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace rnnsearch {

// One JSON object, its fields in the order added, written by nlohmann/json
// without spaces. Numbers are written in the shortest form that reads back
// to the same double (a whole number without a fraction: 2, not 2.0); NaN
// and infinities (not JSON) are written as null; strings are escaped
// (invalid UTF-8 replaced by U+FFFD).
class JsonLine {
 public:
  JsonLine& AddInt(std::string_view key, std::int64_t value);
  JsonLine& AddReal(std::string_view key, double value);
  JsonLine& AddString(std::string_view key, std::string_view value);
  JsonLine& AddBool(std::string_view key, bool value);
  // The object, without a newline.
  std::string str() const;

 private:
  nlohmann::ordered_json object_ = nlohmann::ordered_json::object();
};

// Appends JSON lines to a file, each written with one call and flushed.
class MetricsWriter {
 public:
  // Opens `path` for appending, creating it. With keep_through_step >= 0
  // (a run resumed from the checkpoint of that step), first cuts the file
  // before the first line whose "step" is larger (lines written after that
  // checkpoint by the run that stopped) and before an incomplete last line
  // (a crash mid-write), so the file then reads as if the run had never
  // stopped. Each complete line is read as JSON; one that is no object
  // with a numeric "step" is kept. Throws UserError naming the path on any
  // failure.
  explicit MetricsWriter(const std::string& path, std::int64_t keep_through_step = -1);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  void Write(const JsonLine& line);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// What a progress report shows; rates and the loss cover the steps since
// the previous report.
struct ProgressFigures {
  std::int64_t step = 0;       // steps done (skipped ones too)
  std::int64_t max_steps = 0;  // shown as step/max_steps when > 0
  double epoch = 0;            // epochs done, fractional (1.25: a quarter into the second)
  double loss = 0;             // mean cross-entropy per target token
  double lr = 0;
  double grad_norm = 0;  // before clipping
  double src_tokens_per_s = 0;
  double tgt_tokens_per_s = 0;
  // Shares of rank 0's step time (steps since the last report in this
  // process) spent waiting for its next batch from the reader and in the
  // gradient sync (the allreduce still running, or the other ranks still
  // computing); < 0: not shown (sync: one rank).
  double data_share = -1;
  double sync_share = -1;
  double elapsed_s = 0;     // training time of the run so far
  double time_left_s = -1;  // < 0: unknown (no limit set, or no rate yet)
  // Steps of the run so far skipped for a NaN or infinite gradient norm
  // (the line shows them when there are any).
  std::int64_t skipped_steps = 0;
};

// exp(loss); infinity when it overflows, NaN for a NaN loss.
double Perplexity(double loss);

// "45s", "12m03s", "3h05m", "2d04h"; "?" for a negative or non-finite value.
std::string FormatDuration(double seconds);

// "950", "5.1k", "12.3k", "1.25M" (3 significant digits from 1000 up).
std::string FormatRate(double per_second);

// The progress line (no newline).
std::string FormatProgress(const ProgressFigures& f);

// The same figures as a JSON line: kind "train", step, epoch, loss, ppl,
// lr, grad_norm, src_tok_s, tgt_tok_s, data_share and sync_share (null
// when not shown), elapsed_s, time_left_s (null when unknown), and
// skipped_steps.
JsonLine ProgressJson(const ProgressFigures& f);

// The limits of a run (0: none).
struct TrainLimits {
  std::int64_t max_steps = 0;
  double max_epochs = 0;
  double max_seconds = 0;
};

// Seconds until the first limit is reached, from the progress made since
// this process started (step, epoch and elapsed time at its start): for
// steps and epochs, what is left divided by the rate so far; for time,
// max_seconds - elapsed. -1 when no limit is set or, for a step or epoch
// limit alone, before any progress was made.
double EstimateTimeLeft(const TrainLimits& limits, std::int64_t step, double epoch,
                        double elapsed_s, std::int64_t start_step, double start_epoch,
                        double start_elapsed_s);

}  // namespace rnnsearch
