// Every kind of file the program reads, given a directory instead: the
// command exits 1 with a message naming the path ("... 'P' is a
// directory, not a file"), rather than reading nothing (a config of
// defaults only) or failing later with a message that does not say why.
#include <gtest/gtest.h>

#include "tests/trainer/train_fixture.h"

namespace rnnsearch::testing {
namespace {

class DirAsFile : public TrainFixture {};

TEST_F(DirAsFile, EveryReaderRefusesADirectoryNamingIt) {
  Train("run", "--set train.max_steps=2");  // a checkpoint for translate and rescore
  fs::create_directories(Path("d"));
  // A corpus whose manifest is a directory, and one whose shard is.
  fs::create_directories(Path("no_manifest/manifest.yaml"));
  fs::copy(Path("corpus"), Path("no_shard"));
  std::string shard;
  for (const auto& e : fs::directory_iterator(Path("no_shard"))) {
    if (e.path().extension() == ".h5") shard = "no_shard/" + e.path().filename().string();
  }
  ASSERT_FALSE(shard.empty());
  fs::remove(Path(shard));
  fs::create_directories(Path(shard));
  // A run directory whose metrics.jsonl is a directory.
  fs::create_directories(Path("bad_run/metrics.jsonl"));

  const std::string ckpt = "run/ckpt-2.h5";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train --config d --run-dir r1", "config file 'd'"},
      {"preprocess --config d --src train.src --tgt train.tgt --out o1", "config file 'd'"},
      {"inspect corpus --config d", "config file 'd'"},
      {"preprocess --tokenizer whitespace --src d --tgt train.tgt --out o2", "'d'"},
      {"preprocess --src train.src --tgt train.tgt --out o3 --spm-model d",
       "the SentencePiece model 'd'"},
      {"train --config tiny.yaml --run-dir r2 --resume d", "the checkpoint 'd'"},
      {"train --config tiny.yaml --run-dir r3 --init-from d", "the checkpoint 'd'"},
      {"train --config tiny.yaml --run-dir r4 --set data.train=no_manifest",
       "the manifest 'no_manifest/manifest.yaml'"},
      {"train --config tiny.yaml --run-dir r5 --set data.train=no_shard",
       "the shard '" + shard + "'"},
      {"train --config tiny.yaml --run-dir bad_run", "the metrics file 'bad_run/metrics.jsonl'"},
      {"inspect no_manifest", "the manifest 'no_manifest/manifest.yaml'"},
      {"inspect no_shard", "the shard '" + shard + "'"},
      {"translate --model d --input train.src", "the checkpoint 'd'"},
      {"translate --run-dir run --ensemble d --input train.src", "the checkpoint 'd'"},
      {"translate --model " + ckpt + " --input d", "'d'"},
      {"rescore --model " + ckpt + " --source d --hyp train.tgt", "'d'"},
      {"rescore --model " + ckpt + " --source train.src --hyp d", "'d'"},
      {"score --hyp d --ref train.tgt", "'d'"},
      {"score --hyp train.tgt --ref d", "'d'"},
  };
  for (const auto& [args, what] : cases) {
    SCOPED_TRACE(args);
    const ProcessResult r = Run(args, 1);
    EXPECT_NE(r.err.find(what + " is a directory, not a file"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace rnnsearch::testing
