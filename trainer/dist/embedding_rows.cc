#include "trainer/dist/embedding_rows.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/log.h"

namespace rnnsearch {

EmbeddingRowSync::~EmbeddingRowSync() {
  if (stats_.steps == 0 || comm_.rank() != 0) return;
  const double steps = static_cast<double>(stats_.steps);
  RNN_LOG(kInfo) << "gradient sync: the embedding tables travelled as "
                 << static_cast<double>(stats_.rows) / steps << " rows per step on average, of "
                 << static_cast<double>(stats_.table_rows) / steps << " (" << stats_.steps
                 << " steps)";
}

void EmbeddingRowSync::Plan(const ParamSet& grads) {
  if (planned_) return;
  planned_ = true;
  const ModelDims& d = grads.dims();
  std::string whole;
  if (!enabled_) {
    whole = "whole";  // dist.sparse_embeddings: false, or the shared-memory sync's fallback
  } else {
    tables_.push_back({"src_embed.weight", true, 0, d.Vs, d.E});
    if (d.tie_target_embeddings) {
      whole =
          "; tgt_embed.weight whole (model.tie_target_embeddings: true, the output layer gives "
          "every row a gradient)";
    } else {
      tables_.push_back({"tgt_embed.weight", false, 0, d.Vt, d.E});
    }
  }
  const auto& specs = grads.specs();
  for (Table& t : tables_) {
    t.offset = grads.Offset(t.name);
    std::int64_t end = static_cast<std::int64_t>(grads.size());
    for (std::size_t i = 0; i + 1 < specs.size(); ++i) {
      if (specs[i].name == t.name) end = grads.Offset(specs[i + 1].name);
    }
    ranges_.emplace_back(t.offset, end - t.offset);
  }
  std::sort(ranges_.begin(), ranges_.end());
  if (tables_.empty()) {
    RNN_LOG(kInfo) << "gradient sync: the embedding tables travel " << whole;
  } else {
    RNN_LOG(kInfo) << "gradient sync: "
                   << (tables_.size() == 2 ? "src_embed.weight and tgt_embed.weight travel"
                                           : "src_embed.weight travels")
                   << " as the rows the step's batches touch, the union over the ranks "
                      "(dist.sparse_embeddings: true)"
                   << whole;
  }
}

void EmbeddingRowSync::Reduce(ParamSet& grads) {
  Plan(grads);
  if (tables_.empty()) return;
  std::optional<EmbeddingRows> rows;
  std::swap(rows, rows_);
  if (!rows) {
    for (const auto& [offset, count] : ranges_) {
      AllreduceGradients(comm_, wire_, grads.data() + offset, static_cast<std::size_t>(count));
    }
    return;
  }
  // This rank's ids: per table its count, then the ids.
  std::vector<std::int32_t> mine;
  for (const Table& t : tables_) {
    const std::vector<std::int32_t>& ids = t.src ? rows->src : rows->tgt;
    for (const std::int32_t id : ids) {
      if (id < 0 || id >= t.rows) {
        throw std::logic_error("internal error: touched row " + std::to_string(id) + " of " +
                               t.name + ", which has " + std::to_string(t.rows) + " rows");
      }
    }
    mine.push_back(static_cast<std::int32_t>(ids.size()));
    mine.insert(mine.end(), ids.begin(), ids.end());
  }
  std::vector<int> counts;
  const std::vector<std::int32_t> all = comm_.Allgather(mine, &counts);
  // The union per table, sorted.
  std::vector<std::vector<std::int32_t>> unions(tables_.size());
  std::size_t p = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    for (auto& u : unions) {
      const auto n = static_cast<std::size_t>(all.at(p));
      u.insert(u.end(), all.begin() + static_cast<std::ptrdiff_t>(p + 1),
               all.begin() + static_cast<std::ptrdiff_t>(p + 1 + n));
      p += 1 + n;
    }
  }
  std::size_t floats = 0;
  for (std::size_t k = 0; k < tables_.size(); ++k) {
    auto& u = unions[k];
    std::sort(u.begin(), u.end());
    u.erase(std::unique(u.begin(), u.end()), u.end());
    floats += u.size() * static_cast<std::size_t>(tables_[k].width);
    stats_.rows += static_cast<std::int64_t>(u.size());
    stats_.table_rows += tables_[k].rows;
  }
  ++stats_.steps;
  // Pack, sum, unpack.
  packed_.resize(floats);
  auto rows_of = [&](auto&& copy) {
    float* q = packed_.data();
    for (std::size_t k = 0; k < tables_.size(); ++k) {
      const Table& t = tables_[k];
      const std::size_t bytes = static_cast<std::size_t>(t.width) * sizeof(float);
      for (const std::int32_t id : unions[k]) {
        copy(q, grads.data() + t.offset + id * t.width, bytes);
        q += t.width;
      }
    }
  };
  rows_of([](float* packed, float* row, std::size_t bytes) { std::memcpy(packed, row, bytes); });
  AllreduceGradients(comm_, wire_, packed_.data(), floats);
  rows_of([](float* packed, float* row, std::size_t bytes) { std::memcpy(row, packed, bytes); });
}

}  // namespace rnnsearch
