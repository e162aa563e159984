// Helpers for the checkpoint tests: a tiny model laid out like ParamSet
// (docs/model.md's names and shapes, each tensor on a 16-float boundary), filled
// with awkward float bit patterns; full checkpoint contents around it; and
// byte-level file surgery (truncate, flip, read back).
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "io/checkpoint.h"
#include "io/hdf5_util.h"
#include "io/vocab.h"
#include "tests/io/io_fixture.h"

namespace rnnsearch::testing {

struct ToyDims {
  std::int64_t Vs = 12, Vt = 10, E = 4, He = 3, Hd = 5, A = 6, O = 4;
};

// docs/model.md's table for a 1-layer GRU with additive attention.
inline std::vector<TensorSpec> ToySpecs(const ToyDims& d, std::int64_t* total) {
  const std::int64_t C = 2 * d.He;
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> table = {
      {"src_embed.weight", {d.Vs, d.E}},
      {"tgt_embed.weight", {d.Vt, d.E}},
      {"encoder.0.fwd.weight_ih", {3 * d.He, d.E}},
      {"encoder.0.fwd.weight_hh", {3 * d.He, d.He}},
      {"encoder.0.fwd.bias_ih", {3 * d.He}},
      {"encoder.0.fwd.bias_hh", {3 * d.He}},
      {"encoder.0.bwd.weight_ih", {3 * d.He, d.E}},
      {"encoder.0.bwd.weight_hh", {3 * d.He, d.He}},
      {"encoder.0.bwd.bias_ih", {3 * d.He}},
      {"encoder.0.bwd.bias_hh", {3 * d.He}},
      {"decoder.init.weight", {d.Hd, C}},
      {"decoder.init.bias", {d.Hd}},
      {"attention.W_a.weight", {d.A, d.Hd}},
      {"attention.W_a.bias", {d.A}},
      {"attention.U_a.weight", {d.A, C}},
      {"attention.v_a.weight", {d.A}},
      {"decoder.cell.weight_ih", {3 * d.Hd, d.E + C}},
      {"decoder.cell.weight_hh", {3 * d.Hd, d.Hd}},
      {"decoder.cell.bias_ih", {3 * d.Hd}},
      {"decoder.cell.bias_hh", {3 * d.Hd}},
      {"readout.weight", {d.O, d.Hd + C + d.E}},
      {"readout.bias", {d.O}},
      {"output.weight", {d.Vt, d.O}},
      {"output.bias", {d.Vt}},
  };
  std::vector<TensorSpec> specs;
  std::int64_t offset = 0;
  for (const auto& [name, shape] : table) {
    specs.push_back({name, shape, offset});
    offset += (specs.back().size() + 15) / 16 * 16;
  }
  *total = offset;
  return specs;
}

// Floats whose bits must survive: signed zeros, subnormals, infinities,
// NaNs with payloads, and random values.
inline std::vector<float> AwkwardFloats(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> x(static_cast<std::size_t>(n));
  const float specials[] = {-0.0f,
                            0.0f,
                            std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::infinity(),
                            std::bit_cast<float>(0x7fc01234u),
                            std::bit_cast<float>(0xffa00001u)};
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = i % 7 == 3 ? specials[(i / 7) % 6]
                      : std::bit_cast<float>(static_cast<std::uint32_t>(rng()) & 0xbf7fffffu);
  }
  return x;
}

inline Vocab WordVocab(int words, const std::string& stem) {
  std::vector<std::string> w;
  for (int i = 0; i < words; ++i) w.push_back(stem + std::to_string(i));
  return Vocab::FromWords(w, "test");
}

// A model, its optimizer state and everything else a checkpoint holds.
struct ToyRun {
  ToyDims dims;
  std::vector<TensorSpec> specs;
  std::vector<float> params, m, v, ema;
  Config config;
  CheckpointMeta meta;

  explicit ToyRun(const ToyDims& d = {}, std::uint32_t seed = 1) : dims(d) {
    std::int64_t total = 0;
    specs = ToySpecs(d, &total);
    params = AwkwardFloats(total, seed);
    m = AwkwardFloats(total, seed + 1);
    v = AwkwardFloats(total, seed + 2);
    ema = AwkwardFloats(total, seed + 3);
    config.model.emb_dim = d.E;
    config.model.enc_dim = d.He;
    config.model.dec_dim = d.Hd;
    config.model.att_dim = d.A;
    config.model.readout_dim = d.O;
    config.train.lr = 0.1;
    meta.model = config.model;
    meta.config_yaml = ConfigToYaml(config);
    meta.src_vocab = WordVocab(static_cast<int>(d.Vs) - Vocab::kNumSpecial, "quelle");
    meta.tgt_vocab = WordVocab(static_cast<int>(d.Vt) - Vocab::kNumSpecial, "ziel");
    TrainingState& s = meta.state;
    s.step = 1234;
    s.epoch = 3;
    s.position = {3, 17};
    s.rng = {{"dropout", {1234, 0xfedcba9876543210ull}}, {"sampler", {7}}, {"empty", {}}};
    s.best_metric = "bleu";
    s.best_value = 27.123456789012345;
    s.best_step = 1000;
    s.bad_validations = 2;
    s.bad_steps = 4;
    s.skipped_steps = 9;
    s.elapsed_seconds = 3600.25;
    meta.optimizer_kind = "adam";
    meta.optimizer_ints = {{"optimizer.step", 1234}, {"schedule.stalls", -3}};
    meta.optimizer_reals = {
        {"schedule.factor", 0.1}, {"schedule.tiny", 1e-310}, {"schedule.neg_zero", -0.0}};
  }

  CheckpointContents Contents(bool with_ema = true) const {
    CheckpointContents c;
    c.meta = meta;
    c.params = {specs, params};
    c.optimizer_buffers["adam.m"] = {specs, m};
    c.optimizer_buffers["adam.v"] = {specs, v};
    if (with_ema) c.ema = ConstTensors{specs, ema};
    return c;
  }
};

// Whether every spec's elements are bit-identical in a and b.
inline bool SameBits(const std::vector<TensorSpec>& specs, const std::vector<float>& a,
                     const std::vector<float>& b) {
  for (const TensorSpec& s : specs) {
    if (std::memcmp(a.data() + s.offset, b.data() + s.offset,
                    4 * static_cast<std::size_t>(s.size())) != 0) {
      return false;
    }
  }
  return true;
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline void FlipByte(const std::string& path, std::int64_t offset) {
  std::string bytes = ReadBytes(path);
  bytes[static_cast<std::size_t>(offset)] ^= 0x10;
  WriteBytes(path, bytes);
}

// Rewrites the seal (docs/checkpoint.md: the 512-byte header with the size
// and the CRC-32 of the rest) after an edit of the HDF5 data, with
// `version` as its format version.
inline void Reseal(const std::string& path, std::int64_t version = kCheckpointFormatVersion) {
  std::string bytes = ReadBytes(path);
  const uLong crc = crc32_z(crc32(0L, Z_NULL, 0),
                            reinterpret_cast<const Bytef*>(bytes.data()) + 512, bytes.size() - 512);
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08lx", crc);
  std::string header = "rnnsearch-checkpoint\nformat_version " + std::to_string(version) +
                       "\nbytes " + std::to_string(bytes.size()) + "\ncrc32 " + hex + "\n";
  header.resize(512, '\0');
  bytes.replace(0, 512, header);
  WriteBytes(path, bytes);
}

// The message of the UserError that f() throws ("(no error)" if none).
template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

// stdout of a shell command (stderr discarded) and its exit status.
inline std::string Shell(const std::string& command, int* status) {
  std::string out;
  FILE* p = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

struct Loaded {
  CheckpointInfo info;
  std::vector<float> params, m, v, ema;
};

inline MutableTensors Into(const std::vector<TensorSpec>& specs, std::vector<float>& buf) {
  return {specs, buf};
}

// Everything in the file, into buffers laid out like `run`'s.
inline Loaded LoadAll(const std::string& path, const ToyRun& run) {
  Loaded l;
  const std::size_t n = run.params.size();
  l.params.assign(n, 0.0f);
  l.m.assign(n, 0.0f);
  l.v.assign(n, 0.0f);
  l.ema.assign(n, 0.0f);
  CheckpointTargets t;
  t.params = Into(run.specs, l.params);
  t.optimizer_buffers["adam.m"] = Into(run.specs, l.m);
  t.optimizer_buffers["adam.v"] = Into(run.specs, l.v);
  t.ema = Into(run.specs, l.ema);
  l.info = LoadCheckpoint(path, t);
  return l;
}

// Same keys, bit-identical values (-0.0 differs from 0.0).
inline bool SameReals(const std::map<std::string, double>& a,
                      const std::map<std::string, double>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, x] : a) {
    if (!b.contains(k) ||
        std::bit_cast<std::uint64_t>(x) != std::bit_cast<std::uint64_t>(b.at(k))) {
      return false;
    }
  }
  return true;
}

// The first field where `l` differs from what `run` saved ("" if none).
inline std::string Difference(const Loaded& l, const ToyRun& run) {
  const CheckpointMeta& a = l.info.meta;
  const CheckpointMeta& b = run.meta;
  if (!(a.model == b.model)) return "model";
  if (a.config_yaml != b.config_yaml) return "config";
  if (!(a.src_vocab == b.src_vocab) || !(a.tgt_vocab == b.tgt_vocab)) return "vocab";
  if (!(a.state == b.state) || std::bit_cast<std::uint64_t>(a.state.best_value) !=
                                   std::bit_cast<std::uint64_t>(b.state.best_value)) {
    return "state";
  }
  if (a.optimizer_kind != b.optimizer_kind || a.optimizer_ints != b.optimizer_ints ||
      !SameReals(a.optimizer_reals, b.optimizer_reals)) {
    return "optimizer scalars";
  }
  if (!l.info.has_ema || l.info.params.size() != run.specs.size()) return "tensor lists";
  for (std::size_t i = 0; i < run.specs.size(); ++i) {
    if (l.info.params[i].name != run.specs[i].name ||
        l.info.params[i].shape != run.specs[i].shape) {
      return "parameter " + run.specs[i].name;
    }
  }
  if (!SameBits(run.specs, l.params, run.params)) return "params";
  if (!SameBits(run.specs, l.m, run.m) || !SameBits(run.specs, l.v, run.v)) {
    return "optimizer buffers";
  }
  if (!SameBits(run.specs, l.ema, run.ema)) return "ema";
  return "";
}

inline bool SameAsRun(const Loaded& l, const ToyRun& run) { return Difference(l, run).empty(); }

// File offset of a contiguous dataset's first byte.
inline std::int64_t DataOffset(const std::string& path, const std::string& dataset) {
  H5Id f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  H5Id d(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  const haddr_t at = H5Dget_offset(d.get());
  EXPECT_NE(at, HADDR_UNDEF) << dataset;
  return static_cast<std::int64_t>(at);
}

class CheckpointFile : public ::testing::Test {
 protected:
  TempDir dir_{"ckpt"};
  ToyRun run_;
  std::string path_ = dir_ / "c.h5";
};

}  // namespace rnnsearch::testing
