// The checkpoint file: every field round-trips bit for bit, the layout is
// what docs/checkpoint.md says (h5dump, h5py), tensors of another model and
// a config of another model are refused naming what differs, and a failed
// write leaves the previous file. Damaged files: checkpoint_damage_test.cc.
#include "io/checkpoint.h"

#include <hdf5.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "common/version.h"
#include "io/checkpoint_h5.h"
#include "io/hdf5_util.h"
#include "io/vocab_build.h"
#include "tests/io/checkpoint_fixture.h"

namespace rnnsearch {
namespace {

using testing::CheckpointFile;
using testing::Contains;
using testing::ErrorOf;
using testing::Into;
using testing::LoadAll;
using testing::Loaded;
using testing::SameAsRun;
using testing::ToyDims;
using testing::ToyRun;

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
  const std::string out = testing::Shell(python + " " + (dir_ / "load.py") + " " + path_, &status);
  ASSERT_EQ(status, 0) << out;
  std::string expected;
  for (const TensorSpec& s : run_.specs) {
    expected += s.name + " " + ckpt::ShapeText(s.shape) + " float32\n";
  }
  expected += "5 1234\n1\nziel0\n";
  EXPECT_EQ(out, expected);
}

TEST_F(CheckpointFile, AModelOfAnotherShapeIsRefusedNamingTheParameters) {
  ToyDims other;
  other.Hd = 7;  // decoder size
  ToyRun big(other);
  SaveCheckpoint(path_, big.Contents());
  std::vector<float> p(run_.params.size());
  const std::string e = ErrorOf([&] { LoadParams(path_, Into(run_.specs, p)); });
  EXPECT_TRUE(Contains(e, "the checkpoint '" + path_ +
                              "' does not fit the model: "
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
    EXPECT_TRUE(Contains(e2.what(), "the checkpoint '" + path_ +
                                        "' holds a model of another "
                                        "shape"))
        << e2.what();
    EXPECT_TRUE(Contains(e2.what(), "model.dec_dim: checkpoint has 5, config has 256"));
  }
  // And the vocabularies.
  CheckSameVocabularies(path_, r.info().meta, run_.meta.src_vocab, run_.meta.tgt_vocab);
  const Vocab other_tgt = testing::WordVocab(6, "cible");
  EXPECT_TRUE(Contains(
      ErrorOf([&] { CheckSameVocabularies(path_, r.info().meta, run_.meta.src_vocab, other_tgt); }),
      "the checkpoint '" + path_ +
          "' was trained with another target "
          "vocabulary than the corpus has: checkpoint words, 10 ids, hash"));
}

// A model choice the config does not know (a damaged file, or one from
// a later version) is refused on opening, naming the file and the key.
TEST_F(CheckpointFile, AnUnknownModelChoiceIsRefusedNamingTheKey) {
  ToyRun run(ToyDims{});
  run.meta.model.attention = "luong";
  SaveCheckpoint(path_, run.Contents());
  EXPECT_EQ(ErrorOf([&] { CheckpointReader r(path_); }),
            "the checkpoint '" + path_ +
                "' has /model attribute attention 'luong', expected additive|general|dot "
                "(model.attention)");
  run.meta.model.attention = "dot";
  run.meta.model.cell = "";
  SaveCheckpoint(path_, run.Contents());
  EXPECT_EQ(ErrorOf([&] { LoadParams(path_, Into(run.specs, run.params)); }),
            "the checkpoint '" + path_ +
                "' has /model attribute cell '', expected gru|lstm (model.cell)");
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

  // A directory that does not exist.
  const std::string lost = dir_ / "none/c.h5";
  EXPECT_EQ(ErrorOf([&] { SaveCheckpoint(lost, newer.Contents()); }),
            "cannot write the checkpoint '" + lost + "': cannot create '" + lost +
                ".tmp': No such file or directory");

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
