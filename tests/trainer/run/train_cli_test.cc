// rnnsearch train as users run it: learning a tiny task, exact resume,
// damaged and mismatched checkpoints, --init-from, and the limits.
#include <gtest/gtest.h>

#include <fstream>

#include "io/manifest.h"
#include "tests/trainer/train_fixture.h"

namespace rnnsearch::testing {
namespace {

class TrainCli : public TrainFixture {};

// The last "train" metrics line's loss.
double LastTrainLoss(const fs::path& metrics) {
  double loss = -1;
  for (const std::string& l : ReadLines(metrics)) {
    if (l.find("\"kind\":\"train\"") == std::string::npos) continue;
    const auto at = l.find("\"loss\":");
    loss = std::stod(l.substr(at + 7));
  }
  return loss;
}

TEST_F(TrainCli, TinyModelLearnsTheTinyTask) {
  const ProcessResult r = Train("overfit", "--set train.max_steps=300 --set train.valid_every=300");
  EXPECT_LT(LastTrainLoss(Path("overfit/metrics.jsonl")), 0.05);
  // Greedy translations of the validation set (= the training set) equal the references.
  EXPECT_EQ(ReadLines(Path("overfit/valid-hyp.txt")), ReadLines(Path("train.tgt")));
  EXPECT_NE(r.err.find("validation at step 300"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("BLEU 100 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("training ends at step 300: train.max_steps reached"), std::string::npos);
  EXPECT_TRUE(fs::exists(Path("overfit/ckpt-300.h5")));
  EXPECT_TRUE(fs::exists(Path("overfit/best.h5")));
}

// Every piece of state in play: dropout, label smoothing, accumulation,
// the moving average, the plateau schedule, validation and best.h5.
const std::string kStateful =
    "--set train.dropout=0.2 --set train.label_smoothing=0.1 --set train.accumulate=2 "
    "--set train.ema_decay=0.9 --set train.lr_schedule=plateau --set train.lr_patience=1 "
    "--set train.valid_every=10 --set train.log_every=7 --set checkpoint.every=15 ";

// 2N steps straight and N steps, stop, resume, N steps: the same bits and
// the same metrics lines (the checkpoint at 45 is between two reports).
TEST_F(TrainCli, ResumedRunIsBitIdentical) {
  Train("straight", kStateful + "--set train.max_steps=90");
  Train("resumed", kStateful + "--set train.max_steps=45");
  const ProcessResult r = Train("resumed", kStateful + "--set train.max_steps=90");
  EXPECT_NE(r.err.find("resume from 'resumed/ckpt-45.h5': step 45"), std::string::npos) << r.err;
  ExpectSameRun(Path("straight"), Path("resumed"), 90);
}

TEST_F(TrainCli, ResumedRunIsBitIdenticalUnderMpiexec) {
  Train("straight2", kStateful + "--set train.max_steps=60", 0, 2);
  Train("resumed2", kStateful + "--set train.max_steps=30", 0, 2);
  Train("resumed2", kStateful + "--set train.max_steps=60", 0, 2);
  ExpectSameRun(Path("straight2"), Path("resumed2"), 60);
}

void Truncate(const fs::path& p) { fs::resize_file(p, fs::file_size(p) / 2); }

void FlipByte(const fs::path& p) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(fs::file_size(p) / 2));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x10);
  f.seekp(static_cast<std::streamoff>(fs::file_size(p) / 2));
  f.write(&c, 1);
}

// A damaged newest checkpoint is skipped with a warning naming it; the run
// continues from the one before, exactly as if nothing had happened.
TEST_F(TrainCli, DamagedNewestCheckpointIsSkipped) {
  const std::string sets = "--set checkpoint.every=10 --set train.dropout=0.1 ";
  Train("intact", sets + "--set train.max_steps=30");
  for (const auto& [dir, damage] : std::vector<std::pair<std::string, void (*)(const fs::path&)>>{
           {"truncated", Truncate}, {"flipped", FlipByte}}) {
    SCOPED_TRACE(dir);
    Train(dir, sets + "--set train.max_steps=20");
    damage(Path(dir + "/ckpt-20.h5"));
    const ProcessResult r = Train(dir, sets + "--set train.max_steps=30");
    EXPECT_NE(r.err.find("skipping the checkpoint '" + dir + "/ckpt-20.h5'"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(dir == "truncated" ? "is truncated" : "is corrupt"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("resume from '" + dir + "/ckpt-10.h5': step 10"), std::string::npos);
    EXPECT_TRUE(SameBytes(ReadSet(Path("intact/ckpt-30.h5"), "params"),
                          ReadSet(Path(dir + "/ckpt-30.h5"), "params")));
  }
  // --resume PATH continues another run's checkpoint exactly; a damaged one
  // given explicitly is an error naming it.
  Train("explicit", "--resume intact/ckpt-20.h5 " + sets + "--set train.max_steps=30");
  EXPECT_TRUE(SameBytes(ReadSet(Path("intact/ckpt-30.h5"), "params"),
                        ReadSet(Path("explicit/ckpt-30.h5"), "params")));
  Truncate(Path("intact/ckpt-10.h5"));
  const ProcessResult bad = Train("explicit2", "--resume intact/ckpt-10.h5", 1);
  EXPECT_NE(bad.err.find("the checkpoint 'intact/ckpt-10.h5' is truncated"), std::string::npos)
      << bad.err;
}

TEST_F(TrainCli, OtherModelShapeOrVocabularyIsRefused) {
  Train("shape", "--set train.max_steps=5");
  ProcessResult r = Train("shape", "--set train.max_steps=10 --set model.dec_dim=48", 1);
  EXPECT_NE(r.err.find("model.dec_dim: checkpoint has 32, config has 48"), std::string::npos)
      << r.err;
  r = Train("shape", "--set train.max_steps=10 --set data.train=other --set data.valid=", 1);
  EXPECT_NE(r.err.find("another source vocabulary"), std::string::npos) << r.err;
  r = Train("shape", "--set train.max_steps=10 --set train.seed=5", 1);
  EXPECT_NE(r.err.find("train.seed"), std::string::npos) << r.err;
  r = Train("shape", "--set train.max_steps=10 --set train.optimizer=sgd", 1);
  EXPECT_NE(r.err.find("train.optimizer adam, the config has sgd"), std::string::npos) << r.err;
}

// A model far beyond the machine's memory is refused before it is
// allocated, with the estimate, its keys and the memory available.
TEST_F(TrainCli, ConfigThatCannotFitInMemoryIsRefused) {
  const ProcessResult r = Train("huge",
                                "--set model.emb_dim=65536 --set model.enc_dim=65536 "
                                "--set model.dec_dim=65536 --set model.att_dim=65536 "
                                "--set model.readout_dim=65536",
                                1);
  for (const char* want : {"the run needs about ", " TB of memory, but ", " is available (",
                           "model.emb_dim", "data.batch_tokens"}) {
    EXPECT_NE(r.err.find(want), std::string::npos) << want << "\n" << r.err;
  }
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

// data.train and data.valid naming a file or nothing: the key, the path and why.
TEST_F(TrainCli, CorpusKeysNamingAFileOrNothingAreRefused) {
  for (const char* key : {"data.train", "data.valid"}) {
    SCOPED_TRACE(key);
    ProcessResult r = Train("nocorpus", std::string("--set ") + key + "=train.src", 1);
    EXPECT_NE(r.err.find(std::string(key) + ": 'train.src' is not a preprocessed corpus: it is "
                                            "a file, not a corpus directory"),
              std::string::npos)
        << r.err;
    r = Train("nocorpus", std::string("--set ") + key + "=nowhere", 1);
    EXPECT_NE(r.err.find(std::string(key) +
                         ": 'nowhere' is not a preprocessed corpus: it does not exist"),
              std::string::npos)
        << r.err;
  }
}

// The manifest stores its inputs absolute: validation finds its references
// from any working directory. A manifest written before (relative inputs)
// is read as before, relative to the working directory.
TEST_F(TrainCli, ValidationFindsItsReferencesFromAnyDirectory) {
  EXPECT_EQ(ReadManifest(Path("valid").string()).tgt_input, Path("train.tgt").string());
  const std::string no_references = "validation BLEU is scored against the decoded target ids";
  const std::string sets = " --set train.max_steps=2 --set train.valid_every=2";
  ProcessResult r = RunProcess("cd " + Path("corpus").string() + " && " + RNNSEARCH_BINARY +
                               " train --config ../tiny.yaml --run-dir ../away --set "
                               "data.train=../corpus --set data.valid=../valid" +
                               sets);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("validation at step 2"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(no_references), std::string::npos) << r.err;

  fs::copy(Path("valid"), Path("valid_old"));
  Manifest old = ReadManifest(Path("valid_old").string());
  old.src_input = "train.src";
  old.tgt_input = "train.tgt";
  WriteManifest(Path("valid_old").string(), old);
  r = Train("old", "--set data.valid=valid_old" + sets);
  EXPECT_EQ(r.err.find(no_references), std::string::npos) << r.err;
}

TEST_F(TrainCli, InitFromStartsANewRunFromTheParameters) {
  Train("source", "--set train.max_steps=20");
  ProcessResult r = Train("child", "--set train.max_steps=1 --init-from source/ckpt-20.h5");
  EXPECT_NE(r.err.find("init-from from 'source/ckpt-20.h5': step 0"), std::string::npos) << r.err;
  const CheckpointReader child(Path("child/ckpt-1.h5").string());
  EXPECT_EQ(child.info().meta.state.step, 1);
  EXPECT_EQ(child.info().meta.optimizer_ints.at("optimizer.step"), 1);
  // The model section comes from the checkpoint: a tiny.yaml-less run works.
  r =
      Run("train --run-dir child2 --init-from source/ckpt-20.h5 --set data.train=corpus "
          "--set train.max_steps=1 --set dist.threads_per_rank=1");
  // Relaunched with checkpoints in the run directory, the run continues.
  r = Train("child", "--set train.max_steps=2 --init-from source/ckpt-20.h5");
  EXPECT_NE(r.err.find("--init-from source/ckpt-20.h5 is ignored"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resume from 'child/ckpt-1.h5'"), std::string::npos) << r.err;
}

TEST_F(TrainCli, LimitsOfEpochsTimeAndPatience) {
  ProcessResult r = Train("epochs", "--set train.max_epochs=2 --set train.valid_every=1000");
  EXPECT_NE(r.err.find("train.max_epochs reached"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("final validation at step"), std::string::npos) << r.err;
  const auto lines = ReadLines(Path("epochs/metrics.jsonl"));
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("\"final\":true"), std::string::npos) << lines.back();

  r = Train("time", "--set train.max_time=0.3");
  EXPECT_NE(r.err.find("train.max_time reached"), std::string::npos) << r.err;
  EXPECT_FALSE(CheckpointDir(Path("time").string(), 1).List().empty());

  // A learning rate too small to change the greedy translations: BLEU never
  // improves after the first validation, so the run stops after 2 more.
  r = Train("patience", "--set train.lr=1e-12 --set train.valid_every=5 --set train.patience=2");
  EXPECT_NE(r.err.find("training ends at step 15: early stopping"), std::string::npos) << r.err;
}

TEST_F(TrainCli, RunDirIsRequiredAndPrintConfigShowsTheResumedConfig) {
  ProcessResult r = Run("train --config tiny.yaml", 2);
  EXPECT_NE(r.err.find("--run-dir DIR is required"), std::string::npos) << r.err;
  Train("printed", "--set train.max_steps=3 --set train.lr=0.02");
  r = Run("train --run-dir printed --print-config");
  EXPECT_NE(r.out.find("lr: 0.02"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("emb_dim: 16"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace rnnsearch::testing
