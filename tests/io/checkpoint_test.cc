// The checkpoint file: every field round-trips bit for bit, the layout is
// what docs/checkpoint.md says (h5dump, h5py), and damage of every kind is
// a UserError naming the file and what is wrong.
#include <hdf5.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "common/version.h"
#include "io/checkpoint.h"
#include "io/checkpoint_h5.h"
#include "io/hdf5_util.h"
#include "io/vocab_build.h"
#include "tests/io/checkpoint_fixture.h"

namespace rnnsearch {
namespace {

using testing::Contains;
using testing::ErrorOf;
using testing::ToyDims;
using testing::ToyRun;

struct Loaded {
  CheckpointInfo info;
  std::vector<float> params, m, v, ema;
};

MutableTensors Into(const std::vector<TensorSpec>& specs, std::vector<float>& buf) {
  return {specs, buf};
}

// Everything in the file, into buffers laid out like `run`'s.
Loaded LoadAll(const std::string& path, const ToyRun& run) {
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

bool SameReals(const std::map<std::string, double>& a, const std::map<std::string, double>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, x] : a) {
    if (!b.contains(k) || std::bit_cast<std::uint64_t>(x) != std::bit_cast<std::uint64_t>(b.at(k))) {
      return false;
    }
  }
  return true;
}

// The first field where `l` differs from what `run` saved ("" if none).
std::string Difference(const Loaded& l, const ToyRun& run) {
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
  if (!testing::SameBits(run.specs, l.params, run.params)) return "params";
  if (!testing::SameBits(run.specs, l.m, run.m) || !testing::SameBits(run.specs, l.v, run.v)) {
    return "optimizer buffers";
  }
  if (!testing::SameBits(run.specs, l.ema, run.ema)) return "ema";
  return "";
}

bool SameAsRun(const Loaded& l, const ToyRun& run) { return Difference(l, run).empty(); }

// File offset of a contiguous dataset's first byte.
std::int64_t DataOffset(const std::string& path, const std::string& dataset) {
  H5Id f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  H5Id d(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  const haddr_t at = H5Dget_offset(d.get());
  EXPECT_NE(at, HADDR_UNDEF) << dataset;
  return static_cast<std::int64_t>(at);
}

class CheckpointFile : public ::testing::Test {
 protected:
  testing::TempDir dir_{"ckpt"};
  ToyRun run_;
  std::string path_ = dir_ / "c.h5";
};

TEST_F(CheckpointFile, EveryFieldRoundTripsBitForBit) {
  SaveCheckpoint(path_, run_.Contents());
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  const Loaded l = LoadAll(path_, run_);
  EXPECT_TRUE(SameAsRun(l, run_));
  EXPECT_EQ(l.info.path, path_);
  EXPECT_EQ(l.info.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(l.info.rnnsearch_version, Version());
  EXPECT_EQ(l.info.git_revision, GitRevision());
  EXPECT_EQ(l.info.meta.state.rng.at("dropout"),
            (std::vector<std::uint64_t>{1234, 0xfedcba9876543210ull}));
  EXPECT_TRUE(l.info.meta.state.rng.at("empty").empty());
  EXPECT_EQ(std::bit_cast<std::uint64_t>(l.info.meta.optimizer_reals.at("schedule.neg_zero")),
            std::bit_cast<std::uint64_t>(-0.0));
  ASSERT_EQ(l.info.optimizer_buffers.size(), 2u);
  EXPECT_EQ(l.info.optimizer_buffers.at("adam.v").size(), run_.specs.size());
  // The stored config is the effective config, parseable as such.
  EXPECT_EQ(ConfigFromYamlText(l.info.meta.config_yaml, "stored"), run_.config);

  // Parameters only (--init-from): same bits, nothing else needed.
  std::vector<float> p(run_.params.size(), 0.0f);
  const CheckpointInfo info = LoadParams(path_, Into(run_.specs, p));
  EXPECT_TRUE(testing::SameBits(run_.specs, p, run_.params));
  EXPECT_EQ(info.meta.src_vocab, run_.meta.src_vocab);
}

TEST_F(CheckpointFile, WithoutEmaAndWithAJointSentencePieceVocabulary) {
  auto [src, tgt] = testing::MakePairs(300, 5);
  src.insert(src.end(), tgt.begin(), tgt.end());
  std::size_t i = 0;
  SpmTrainOptions o;
  o.vocab_size = 60;
  const Vocab spm = TrainSentencePiece(
      [&](std::string* line) { return i < src.size() ? (*line = src[i++], true) : false; }, o);
  ToyDims d;
  d.Vs = d.Vt = spm.size();
  ToyRun run(d, 9);
  run.meta.src_vocab = run.meta.tgt_vocab = spm;
  run.meta.optimizer_kind = "sgd";
  run.meta.optimizer_reals.clear();
  CheckpointContents c = run.Contents(/*with_ema=*/false);
  c.optimizer_buffers.clear();
  SaveCheckpoint(path_, c);

  CheckpointReader r(path_);
  EXPECT_FALSE(r.info().has_ema);
  EXPECT_TRUE(r.info().optimizer_buffers.empty());
  EXPECT_EQ(r.info().meta.optimizer_kind, "sgd");
  EXPECT_TRUE(r.info().meta.optimizer_reals.empty());
  EXPECT_TRUE(r.info().meta.src_vocab == spm);  // the binary .model bytes, exactly
  EXPECT_TRUE(r.info().meta.tgt_vocab == spm);
  EXPECT_EQ(r.info().meta.tgt_vocab.Encode(src[0]), spm.Encode(src[0]));
  std::vector<float> ema(run.params.size());
  EXPECT_TRUE(Contains(ErrorOf([&] { r.ReadEma(Into(run.specs, ema)); }),
                       "has no moving average of the parameters (/ema)"));
  EXPECT_TRUE(Contains(ErrorOf([&] { r.ReadOptimizerBuffer("adam.m", Into(run.specs, ema)); }),
                       "has no optimizer buffer 'adam.m' (/optimizer/adam.m; it was written with "
                       "optimizer 'sgd')"));
  r.VerifyTensors();
}

TEST_F(CheckpointFile, H5dumpShowsTheDocumentedLayout) {
  SaveCheckpoint(path_, run_.Contents());
  int status = 0;
  const std::string out = testing::Shell("h5dump -H -A " + path_, &status);
  ASSERT_EQ(status, 0) << "h5dump failed";
  for (const TensorSpec& s : run_.specs) {
    EXPECT_TRUE(Contains(out, "DATASET \"" + s.name + "\"")) << s.name;
  }
  for (const char* needle :
       {"GROUP \"params\"", "GROUP \"optimizer\"", "GROUP \"adam.m\"", "GROUP \"ema\"",
        "GROUP \"state\"", "GROUP \"rng\"", "DATASET \"dropout\"", "GROUP \"model\"",
        "GROUP \"vocab\"", "DATASET \"config\"", "ATTRIBUTE \"crc32\"",
        "ATTRIBUTE \"format_version\"", "ATTRIBUTE \"dec_dim\"", "ATTRIBUTE \"best_metric\"",
        "DATASPACE  SIMPLE { ( 15, 10 ) / ( 15, 10 ) }",  // decoder.cell.weight_ih [3Hd, E+2He]
        "H5T_IEEE_F32LE", "\"rnnsearch-checkpoint\""}) {
    EXPECT_TRUE(Contains(out, needle)) << needle << "\n" << out.substr(0, 3000);
  }
  const std::string config = testing::Shell("h5dump -d /config " + path_, &status);
  EXPECT_TRUE(Contains(config, "emb_dim: 4")) << config;
}

TEST_F(CheckpointFile, H5pyLoadsTheParametersByName) {
  int status = -1;
  std::string python;
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    testing::Shell(std::string(candidate) + " -c 'import h5py, numpy'", &status);
    if (status == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) GTEST_SKIP() << "no python3 with h5py and numpy";
  SaveCheckpoint(path_, run_.Contents());
  // The snippet of docs/checkpoint.md, printing instead of building tensors.
  const std::string script =
      "import h5py, numpy, sys\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "state = {k: numpy.asarray(d) for k, d in f['params'].items()}\n"
      "for k, a in state.items(): print(k, list(a.shape), a.dtype)\n"
      "print(int(f['model'].attrs['dec_dim']), int(f['state'].attrs['step']))\n"
      "print(f['config'][()].decode().count('emb_dim: 4'))\n"
      "print(bytes(f['vocab/tgt'][()]).decode().split()[4])\n";
  testing::WriteBytes(dir_ / "load.py", script);
  const std::string out =
      testing::Shell(python + " " + (dir_ / "load.py") + " " + path_, &status);
  ASSERT_EQ(status, 0) << out;
  std::string expected;
  for (const TensorSpec& s : run_.specs) {
    expected += s.name + " " + ckpt::ShapeText(s.shape) + " float32\n";
  }
  expected += "5 1234\n1\nziel0\n";
  EXPECT_EQ(out, expected);
}

TEST_F(CheckpointFile, ATruncatedFileIsNamed) {
  SaveCheckpoint(path_, run_.Contents());
  const std::string whole = testing::ReadBytes(path_);
  const std::string file = "the checkpoint '" + path_ + "'";
  for (const std::size_t keep : {whole.size() - 1, whole.size() / 2, std::size_t{600}}) {
    testing::WriteBytes(path_, whole.substr(0, keep));
    EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
              file + " is truncated: it has " + std::to_string(keep) +
                  " bytes, its header records " + std::to_string(whole.size()) +
                  " (a write or copy that did not finish?)");
  }
  testing::WriteBytes(path_, whole.substr(0, 100));
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            file + " is truncated: it has 100 bytes, fewer than its 512-byte header");
  testing::WriteBytes(path_, whole.substr(0, 10));
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }), file + " is truncated: it has 10 bytes");
  testing::WriteBytes(path_, "");
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }), file + " is empty (0 bytes)");
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(dir_ / "none.h5"); }),
            "cannot open the checkpoint '" + (dir_ / "none.h5") + "': No such file or directory");
}

TEST_F(CheckpointFile, AFlippedByteInADatasetIsCorruption) {
  SaveCheckpoint(path_, run_.Contents());
  const std::string clean = testing::ReadBytes(path_);
  for (const char* dataset : {"/params/decoder.init.weight", "/params/output.bias",
                              "/optimizer/adam.v/readout.weight", "/ema/src_embed.weight",
                              "/config", "/vocab/src", "/vocab/tgt", "/state/rng/dropout"}) {
    testing::WriteBytes(path_, clean);
    const std::int64_t at = DataOffset(path_, dataset) + 2;
    testing::FlipByte(path_, at);
    // The seal catches it before HDF5 reads anything.
    EXPECT_TRUE(Contains(ErrorOf([&] { CheckpointReader r(path_); }),
                         "the checkpoint '" + path_ + "' is corrupt: the CRC-32 of its contents "
                         "is 0x"))
        << dataset;
    // The dataset's own checksum, should the seal be rewritten (by a tool
    // that edits files without knowing their contents).
    testing::Reseal(path_);
    const std::string needle = "the checkpoint '" + path_ + "' is corrupt: " +
                               std::string(dataset) + " fails its checksum (stored CRC-32 0x";
    const std::string name = dataset;
    if (name.starts_with("/params") || name.starts_with("/optimizer") ||
        name.starts_with("/ema")) {
      CheckpointReader r(path_);  // tensors are checked when read
      EXPECT_TRUE(Contains(ErrorOf([&] { r.VerifyTensors(); }), needle)) << dataset;
      EXPECT_TRUE(Contains(ErrorOf([&] { LoadAll(path_, run_); }), needle)) << dataset;
    } else {
      EXPECT_TRUE(Contains(ErrorOf([&] { CheckpointReader r(path_); }), needle)) << dataset;
    }
  }
}

TEST_F(CheckpointFile, EveryFlippedByteIsDetectedOrHarmless) {
  SaveCheckpoint(path_, run_.Contents());
  const std::string clean = testing::ReadBytes(path_);
  const std::string probe = dir_ / "probe.h5";
  // Every 97th byte of the ~60 KB file, each time another bit: the seal,
  // HDF5 metadata, attributes, data.
  int detected = 0, harmless = 0;
  for (std::size_t at = 0; at < clean.size(); at += 97) {
    std::string bytes = clean;
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (at % 8)));
    testing::WriteBytes(probe, bytes);
    try {
      const Loaded l = LoadAll(probe, run_);
      ASSERT_EQ(Difference(l, run_), "") << "byte " << at << " changed the contents undetected";
      ++harmless;  // the zero padding of the seal
    } catch (const UserError& e) {
      ASSERT_TRUE(Contains(e.what(), "the checkpoint '" + probe + "' is ")) << e.what();
      ++detected;
    }
  }
  EXPECT_GT(detected, 50 * harmless) << detected << " detected, " << harmless << " harmless";
}

TEST_F(CheckpointFile, AMissingDatasetOrGroupIsNamed) {
  SaveCheckpoint(path_, run_.Contents());
  {
    H5Id f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Ldelete(f.get(), "/state/rng", H5P_DEFAULT), 0);
  }
  testing::Reseal(path_);
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "the checkpoint '" + path_ + "' is incomplete: it has no /state/rng");
  SaveCheckpoint(path_, run_.Contents());
  {
    H5Id f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Ldelete(f.get(), "/params/readout.bias", H5P_DEFAULT), 0);
  }
  testing::Reseal(path_);
  EXPECT_EQ(ErrorOf([&] { LoadAll(path_, run_); }),
            "the checkpoint '" + path_ +
                "' does not fit the model: /params/readout.bias is missing (the model has [4])");
}

TEST_F(CheckpointFile, AModelOfAnotherShapeIsRefusedNamingTheParameters) {
  ToyDims other;
  other.Hd = 7;  // decoder size
  ToyRun big(other);
  SaveCheckpoint(path_, big.Contents());
  std::vector<float> p(run_.params.size());
  const std::string e = ErrorOf([&] { LoadParams(path_, Into(run_.specs, p)); });
  EXPECT_TRUE(Contains(e, "the checkpoint '" + path_ + "' does not fit the model: "
                          "/params/decoder.init.weight has shape [7, 6], the model has [5, 6]"))
      << e;
  EXPECT_TRUE(Contains(e, "/params/readout.weight has shape [4, 17], the model has [4, 15]")) << e;

  // Tied embeddings: no output.weight in the model.
  SaveCheckpoint(path_, run_.Contents());
  std::vector<TensorSpec> tied = run_.specs;
  std::erase_if(tied, [](const TensorSpec& s) { return s.name == "output.weight"; });
  EXPECT_TRUE(Contains(ErrorOf([&] { LoadParams(path_, Into(tied, p)); }),
                       "/params/output.weight [10, 4] is not a tensor of the model"));

  // The trainer's check of the config names the key.
  CheckpointReader r(path_);
  ModelConfig config = r.info().meta.model;
  EXPECT_TRUE(ModelDifferences(r.info().meta.model, config).empty());
  CheckSameModel(path_, r.info().meta.model, config);
  config.dec_dim = 256;
  config.cell = "lstm";
  config.tie_target_embeddings = true;
  EXPECT_EQ(ModelDifferences(r.info().meta.model, config),
            (std::vector<std::string>{"model.cell: checkpoint has gru, config has lstm",
                                      "model.dec_dim: checkpoint has 5, config has 256",
                                      "model.tie_target_embeddings: checkpoint has false, config "
                                      "has true"}));
  try {
    CheckSameModel(path_, r.info().meta.model, config);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e2) {
    EXPECT_TRUE(Contains(e2.what(), "the checkpoint '" + path_ + "' holds a model of another "
                                    "shape")) << e2.what();
    EXPECT_TRUE(Contains(e2.what(), "model.dec_dim: checkpoint has 5, config has 256"));
  }
  // And the vocabularies.
  CheckSameVocabularies(path_, r.info().meta, run_.meta.src_vocab, run_.meta.tgt_vocab);
  const Vocab other_tgt = testing::WordVocab(6, "cible");
  EXPECT_TRUE(Contains(ErrorOf([&] {
                         CheckSameVocabularies(path_, r.info().meta, run_.meta.src_vocab,
                                               other_tgt);
                       }),
                       "the checkpoint '" + path_ + "' was trained with another target "
                       "vocabulary than the corpus has: checkpoint words, 10 ids, hash"));
}

TEST_F(CheckpointFile, AFormatFromTheFutureOrAnotherFileIsRefused) {
  SaveCheckpoint(path_, run_.Contents());
  testing::Reseal(path_, kCheckpointFormatVersion + 1);
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "the checkpoint '" + path_ + "' has format version 2, newer than this rnnsearch "
            "reads (up to 1); use a newer rnnsearch");
  // The version is also a root attribute (for h5py); the two must agree.
  SaveCheckpoint(path_, run_.Contents());
  {
    H5Id f(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    H5Id a(H5Aopen(f.get(), "format_version", H5P_DEFAULT), H5Aclose);
    const std::int64_t v = kCheckpointFormatVersion + 1;
    ASSERT_GE(H5Awrite(a.get(), H5T_NATIVE_INT64, &v), 0);
  }
  testing::Reseal(path_);
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "the checkpoint '" + path_ + "' is damaged: its header records format version 1, "
            "its root attribute 2");

  const std::string other = dir_ / "other.h5";
  {
    H5Id f(H5Fcreate(other.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    WriteStringAttr(f.get(), "format", "rnnsearch-shard", other);
  }
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(other); }),
            "the checkpoint '" + other + "' is an HDF5 file but not an rnnsearch checkpoint (it "
            "has no rnnsearch header)");
  testing::WriteBytes(other, "model: {}\n");
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(other); }),
            "the checkpoint '" + other + "' is not an rnnsearch checkpoint (it does not start "
            "with the line 'rnnsearch-checkpoint')");
}

TEST_F(CheckpointFile, AFailedWriteLeavesTheOldFileAndNoTemporary) {
  SaveCheckpoint(path_, run_.Contents());
  ToyRun newer(ToyDims{}, 77);
  // A child with a 4 KiB file size limit (SIGXFSZ ignored: write() fails
  // with EFBIG as it fails with ENOSPC on a full disk).
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{4096, RLIM_INFINITY};
    ::getrlimit(RLIMIT_FSIZE, &limit);
    limit.rlim_cur = 4096;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      SaveCheckpoint(path_, newer.Contents());
    } catch (const UserError& e) {
      _exit(Contains(e.what(), "cannot write the checkpoint '" + path_ + "'") &&
                    Contains(e.what(), "(ulimit -f)")
                ? 0
                : 3);
    }
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  EXPECT_TRUE(SameAsRun(LoadAll(path_, run_), run_));

  // A successful save replaces the file whole.
  SaveCheckpoint(path_, newer.Contents());
  EXPECT_TRUE(SameAsRun(LoadAll(path_, newer), newer));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST_F(CheckpointFile, MalformedContentsAreProgrammingErrors) {
  CheckpointContents c = run_.Contents();
  c.params.specs[3].name = "encoder/0";
  EXPECT_THROW(SaveCheckpoint(path_, c), std::invalid_argument);
  c = run_.Contents();
  c.params.specs.back().offset = static_cast<std::int64_t>(run_.params.size());
  EXPECT_THROW(SaveCheckpoint(path_, c), std::invalid_argument);
  c = run_.Contents();
  c.meta.optimizer_ints["kind"] = 1;
  EXPECT_THROW(SaveCheckpoint(path_, c), std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

}  // namespace
}  // namespace rnnsearch
