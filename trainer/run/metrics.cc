#include "trainer/run/metrics.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/file_read.h"

namespace rnnsearch {
namespace {

std::string Printf(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// The "step" of a metrics line, or -1 when the line is no JSON object with
// a numeric "step".
double StepOfLine(const std::string& line) {
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return -1;  // a parse error gives a discarded value
  const auto step = j.find("step");
  if (step == j.end() || !step->is_number()) return -1;
  return step->get<double>();
}

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw UserError("metrics file " + path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

JsonLine& JsonLine::AddInt(std::string_view key, std::int64_t value) {
  object_[std::string(key)] = value;
  return *this;
}

JsonLine& JsonLine::AddReal(std::string_view key, double value) {
  // A whole number (exact in a double, below 2^53) as an integer, which
  // nlohmann writes without ".0"; -0 stays a double.
  if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 0x1p53 &&
      !(value == 0 && std::signbit(value))) {
    object_[std::string(key)] = static_cast<std::int64_t>(value);
  } else {
    object_[std::string(key)] = value;  // NaN and infinities are written as null
  }
  return *this;
}

JsonLine& JsonLine::AddString(std::string_view key, std::string_view value) {
  object_[std::string(key)] = value;
  return *this;
}

JsonLine& JsonLine::AddBool(std::string_view key, bool value) {
  object_[std::string(key)] = value;
  return *this;
}

std::string JsonLine::str() const {
  return object_.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

MetricsWriter::MetricsWriter(const std::string& path, std::int64_t keep_through_step)
    : path_(path) {
  namespace fs = std::filesystem;
  RefuseDirectory(path, "the metrics file");
  std::error_code ec;
  if (keep_through_step >= 0 && fs::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) Fail(path, "cannot read it");
    std::string line;
    std::uint64_t keep = 0;  // bytes of the lines kept
    while (std::getline(in, line)) {
      if (in.eof()) break;  // no '\n': an incomplete last line
      if (StepOfLine(line) > static_cast<double>(keep_through_step)) break;
      keep += line.size() + 1;
    }
    in.close();
    if (keep < fs::file_size(path, ec)) {
      fs::resize_file(path, keep, ec);
      if (ec) {
        errno = ec.value();
        Fail(path, "cannot cut it to the lines up to step " + std::to_string(keep_through_step));
      }
    }
  }
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr) Fail(path, "cannot open it for appending");
}

MetricsWriter::~MetricsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsWriter::Write(const JsonLine& line) {
  const std::string text = line.str() + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    Fail(path_, "cannot write a line");
  }
}

double Perplexity(double loss) { return std::exp(loss); }

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<std::int64_t>(seconds);
  char buffer[32];
  if (s < 60) {
    std::snprintf(buffer, sizeof buffer, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buffer;
}

std::string FormatRate(double v) {
  if (!std::isfinite(v) || v < 0) return "?";
  if (v < 999.5) return Printf("%.0f", v);
  const char* units[] = {"k", "M", "G"};
  for (const char* unit : units) {
    v /= 1000.0;
    if (v < 9.995) return Printf("%.2f", v) + unit;
    if (v < 99.95) return Printf("%.1f", v) + unit;
    if (v < 999.5) return Printf("%.0f", v) + unit;
  }
  return Printf("%.0f", v) + "G";
}

std::string FormatProgress(const ProgressFigures& f) {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on
  // "literal" + std::string.
  std::string s = "step ";
  s += std::to_string(f.step);
  if (f.max_steps > 0) {
    s += '/';
    s += std::to_string(f.max_steps);
  }
  auto field = [&s](const char* label, const std::string& value, const char* unit = "") {
    s += " | ";
    s += label;
    s += ' ';
    s += value;
    s += unit;
  };
  field("epoch", Printf("%.2f", f.epoch));
  field("loss", Printf("%.4f", f.loss));
  field("ppl", Printf("%.2f", Perplexity(f.loss)));
  field("lr", Printf("%.2e", f.lr));
  field("gnorm", Printf("%.3f", f.grad_norm));
  field("src", FormatRate(f.src_tokens_per_s), " tok/s");
  field("tgt", FormatRate(f.tgt_tokens_per_s), " tok/s");
  if (f.data_share >= 0) field("data", Printf("%.1f", 100.0 * f.data_share), "%");
  if (f.sync_share >= 0) field("sync", Printf("%.1f", 100.0 * f.sync_share), "%");
  field("elapsed", FormatDuration(f.elapsed_s));
  field("left", FormatDuration(f.time_left_s));
  if (f.skipped_steps > 0) field("skipped", std::to_string(f.skipped_steps));
  return s;
}

JsonLine ProgressJson(const ProgressFigures& f) {
  JsonLine j;
  j.AddString("kind", "train")
      .AddInt("step", f.step)
      .AddReal("epoch", f.epoch)
      .AddReal("loss", f.loss)
      .AddReal("ppl", Perplexity(f.loss))
      .AddReal("lr", f.lr)
      .AddReal("grad_norm", f.grad_norm)
      .AddReal("src_tok_s", f.src_tokens_per_s)
      .AddReal("tgt_tok_s", f.tgt_tokens_per_s)
      .AddReal("data_share", f.data_share < 0 ? NAN : f.data_share)
      .AddReal("sync_share", f.sync_share < 0 ? NAN : f.sync_share)
      .AddReal("elapsed_s", f.elapsed_s)
      .AddReal("time_left_s", f.time_left_s < 0 ? NAN : f.time_left_s)
      .AddInt("skipped_steps", f.skipped_steps);
  return j;
}

double EstimateTimeLeft(const TrainLimits& limits, std::int64_t step, double epoch,
                        double elapsed_s, std::int64_t start_step, double start_epoch,
                        double start_elapsed_s) {
  double left = -1;
  auto take = [&](double t) {
    if (t < 0) t = 0;
    if (left < 0 || t < left) left = t;
  };
  const double spent = elapsed_s - start_elapsed_s;
  if (limits.max_steps > 0 && step > start_step && spent > 0) {
    const double per_step = spent / static_cast<double>(step - start_step);
    take(per_step * static_cast<double>(limits.max_steps - step));
  }
  if (limits.max_epochs > 0 && epoch > start_epoch && spent > 0) {
    take(spent / (epoch - start_epoch) * (limits.max_epochs - epoch));
  }
  if (limits.max_seconds > 0) take(limits.max_seconds - elapsed_s);
  return left;
}

}  // namespace rnnsearch
