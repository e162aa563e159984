// BeamState (trainer/decode/beam_select.h): survivors, finished hypotheses, results.
#include "trainer/decode/beam_select.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "io/vocab.h"

namespace rnnsearch {

int TopTokens(const float* x, std::int64_t V, int k, TokenScore* out) {
  std::int64_t allowed = V;  // ids other than <pad> and <s>
  for (const std::int32_t never : {Vocab::kPad, Vocab::kBos}) allowed -= never < V ? 1 : 0;
  const int want = static_cast<int>(std::min<std::int64_t>(k, allowed));
  if (want <= 0) return 0;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  int have = 0;
  for (std::int64_t i = 0; i < V; ++i) {
    if (i == Vocab::kPad || i == Vocab::kBos) continue;
    const float v = std::isnan(x[i]) ? kNegInf : x[i];
    // Ids come in increasing order: an equal value goes after the ones kept.
    if (have == want && !(v > out[want - 1].value)) continue;
    int pos = have == want ? want - 1 : have++;
    while (pos > 0 && v > out[pos - 1].value) {
      out[pos] = out[pos - 1];
      --pos;
    }
    out[pos] = {v, static_cast<std::int32_t>(i)};
  }
  return have;
}

BeamState::BeamState(int sentences_, int beam_size, int alpha_cols)
    : sentences(static_cast<std::size_t>(sentences_)), K_(beam_size), alpha_cols_(alpha_cols) {
  assert(beam_size >= 1 && alpha_cols >= 0);
}

void BeamState::StartRows() {
  const int B = static_cast<int>(sentences.size());
  rows.assign(static_cast<std::size_t>(B), Row{});
  src_of.resize(static_cast<std::size_t>(B));
  parent.resize(static_cast<std::size_t>(B));
  for (int b = 0; b < B; ++b) {
    rows[static_cast<std::size_t>(b)] = {b, -1, 0.0, true};
    src_of[static_cast<std::size_t>(b)] = b;
    parent[static_cast<std::size_t>(b)] = b;
  }
}

std::int32_t BeamState::LastToken(int row) const {
  const std::int32_t node = rows[static_cast<std::size_t>(row)].node;
  return node < 0 ? Vocab::kBos : node_token_[static_cast<std::size_t>(node)];
}

std::int32_t BeamState::AddNode(std::int32_t token, std::int32_t parent_node,
                                const float* alpha_row) {
  const auto id = static_cast<std::int32_t>(node_token_.size());
  node_token_.push_back(token);
  node_parent_.push_back(parent_node);
  if (alpha_cols_ > 0) node_alpha_.insert(node_alpha_.end(), alpha_row, alpha_row + alpha_cols_);
  return id;
}

void BeamState::Select(int step, const float* logp, std::int64_t V, const float* alpha, int Tx) {
  assert(alpha_cols_ == 0 || alpha_cols_ == Tx);
  const int n = static_cast<int>(rows.size());
  top_.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(K_));
  top_count_.resize(static_cast<std::size_t>(n));
  // Each row needs at most its sentence's free slots of candidates.
#pragma omp parallel for schedule(static) if (std::int64_t{n} * V >= 16384)
  for (int r = 0; r < n; ++r) {
    const Row& row = rows[static_cast<std::size_t>(r)];
    const auto& done = sentences[static_cast<std::size_t>(row.sentence)].done;
    const int slots = K_ - static_cast<int>(done.size());
    top_count_[static_cast<std::size_t>(r)] =
        TopTokens(logp + std::int64_t{r} * V, V, slots, top_.data() + std::int64_t{r} * K_);
  }
  std::vector<Row> next;
  std::vector<int> next_parent, next_src;
  next.reserve(rows.size());
  for (int r = 0; r < n;) {
    const int b = rows[static_cast<std::size_t>(r)].sentence;
    int end = r;
    while (end < n && rows[static_cast<std::size_t>(end)].sentence == b) ++end;
    Sentence& sen = sentences[static_cast<std::size_t>(b)];
    const int slots = K_ - static_cast<int>(sen.done.size());
    cand_.clear();
    int greedy_row = -1;
    for (int rr = r; rr < end; ++rr) {
      const Row& row = rows[static_cast<std::size_t>(rr)];
      if (row.greedy) greedy_row = rr;
      const TokenScore* top = top_.data() + std::int64_t{rr} * K_;
      for (int i = 0; i < top_count_[static_cast<std::size_t>(rr)]; ++i) {
        cand_.push_back({row.score + static_cast<double>(top[i].value), rr, top[i].id});
      }
    }
    const int keep = std::min(slots, static_cast<int>(cand_.size()));
    std::partial_sort(cand_.begin(), cand_.begin() + keep, cand_.end(),
                      [](const Candidate& a, const Candidate& c) {
                        if (a.score != c.score) return a.score > c.score;
                        if (a.row != c.row) return a.row < c.row;
                        return a.id < c.id;
                      });
    cand_.resize(static_cast<std::size_t>(keep));
    // The greedy line's argmax continuation always survives.
    Candidate greedy{0, -1, -1};
    if (greedy_row >= 0 && top_count_[static_cast<std::size_t>(greedy_row)] > 0) {
      const TokenScore& best = top_[static_cast<std::size_t>(greedy_row) * K_];
      greedy = {rows[static_cast<std::size_t>(greedy_row)].score + static_cast<double>(best.value),
                greedy_row, best.id};
      const bool kept = std::any_of(cand_.begin(), cand_.end(), [&](const Candidate& c) {
        return c.row == greedy.row && c.id == greedy.id;
      });
      if (!kept && keep > 0) cand_.back() = greedy;  // it scores at most the last one
    }
    for (const Candidate& c : cand_) {
      const Row& from = rows[static_cast<std::size_t>(c.row)];
      const std::int32_t node =
          AddNode(c.id, from.node, alpha_cols_ > 0 ? alpha + std::int64_t{c.row} * Tx : nullptr);
      if (c.id == Vocab::kEos) {
        sen.done.push_back({node, step, c.score, true});
      } else if (step >= sen.max_len) {
        sen.done.push_back({node, step, c.score, false});
      } else {
        const bool on_greedy_line = c.row == greedy.row && c.id == greedy.id;
        next.push_back({b, node, c.score, on_greedy_line});
        next_parent.push_back(c.row);
        next_src.push_back(b);
      }
    }
    r = end;
  }
  rows = std::move(next);
  parent = std::move(next_parent);
  src_of = std::move(next_src);
}

std::vector<std::int32_t> BeamState::Chain(std::int32_t node) const {
  std::vector<std::int32_t> chain;
  for (; node >= 0; node = node_parent_[static_cast<std::size_t>(node)]) chain.push_back(node);
  std::reverse(chain.begin(), chain.end());
  return chain;
}

std::vector<Translation> BeamState::Results(const BeamOptions& options,
                                            const std::int32_t* src_len) const {
  std::vector<Translation> out(sentences.size());
  for (std::size_t b = 0; b < sentences.size(); ++b) {
    const std::vector<Done>& done = sentences[b].done;
    assert(!done.empty());
    std::vector<double> norm(done.size());
    for (std::size_t i = 0; i < done.size(); ++i) {
      norm[i] = options.length_penalty == 0
                    ? done[i].score
                    : done[i].score /
                          std::pow(static_cast<double>(done[i].length), options.length_penalty);
    }
    std::vector<std::size_t> order(done.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    // Best first; among equal ones the one that finished first.
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t c) { return norm[a] > norm[c]; });
    Translation& tr = out[b];
    tr.src_len = src_len[b];
    const std::size_t count = std::min(order.size(), static_cast<std::size_t>(options.nbest));
    for (std::size_t k = 0; k < count; ++k) {
      const Done& d = done[order[k]];
      const std::vector<std::int32_t> chain = Chain(d.node);
      assert(static_cast<int>(chain.size()) == d.length);
      Hypothesis h;
      h.finished = d.finished;
      h.score = d.score;
      h.normalized = norm[order[k]];
      for (std::size_t i = 0; i + (d.finished ? 1 : 0) < chain.size(); ++i) {
        h.tokens.push_back(node_token_[static_cast<std::size_t>(chain[i])]);
      }
      if (k == 0 && alpha_cols_ > 0) {
        const int cols = tr.src_len;
        tr.attention.reserve(chain.size() * static_cast<std::size_t>(cols));
        for (std::int32_t node : chain) {
          const float* a = node_alpha_.data() + std::int64_t{node} * alpha_cols_;
          tr.attention.insert(tr.attention.end(), a, a + cols);
        }
      }
      tr.nbest.push_back(std::move(h));
    }
  }
  return out;
}

}  // namespace rnnsearch
