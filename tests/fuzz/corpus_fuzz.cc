// Fuzz target of the corpus reader (io/manifest.*, io/shard.*,
// io/corpus.*): a small valid corpus (made by Preprocess at start: two
// shards of whitespace words) is damaged as the input says, then opened
// with Corpus::Open and every sentence read back as the batch reader reads
// them. Every input must be read or refused with a UserError.
//
// The first input byte picks the mode; the second a shard:
//   0: manifest: the rest is the text of manifest.yaml;
//   1: structured: the rest drives h5_mutate.h's mutations of the shard,
//      and the manifest is updated to the shard's new size and CRC-32
//      (with an odd third byte, also to its sentence and token counts read
//      from the file, so that the reader's deeper checks are reached);
//   2: bytes: the rest is the shard file; the manifest is updated to its
//      size only, so that any changed byte must be refused by the CRC-32
//      check before HDF5 parses the file (HDF5 1.10 crashes on some
//      damaged files: heap overflows, gigabyte allocations).
// Modes 0 and 1 re-seal the shard (its CRC-32 in the manifest), as a tool
// that rewrote the manifest would, so that the checks behind the seal are
// reached; mode 1's files are written by HDF5 itself, so well-formed.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/comm.h"
#include "io/checksum.h"
#include "io/corpus.h"
#include "io/preprocess.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/h5_mutate.h"

namespace rnnsearch::fuzz {
namespace {

struct Seed {
  std::string manifest;             // manifest.yaml
  std::vector<std::string> shards;  // the shard files' bytes, in manifest order
  std::vector<H5Target> targets;    // of the first shard (all have the same layout)
};

const Seed& TheSeed() {
  static const Seed* seed = [] {
    auto* s = new Seed;
    const std::string dir = ScratchDir() + "/seed";
    std::filesystem::create_directories(dir);
    std::string src, tgt;
    const char* words[] = {"a", "dog", "runs", "in", "the", "park", "two", "men", "sit"};
    for (int i = 0; i < 24; ++i) {
      for (int k = 0; k <= i % 7; ++k) src += std::string(k ? " " : "") + words[(i + k) % 9];
      for (int k = 0; k <= i % 5; ++k) tgt += std::string(k ? " " : "") + words[(i * k) % 9];
      src += "\n";
      tgt += "\n";
    }
    WriteFileBytes(dir + "/src.txt", src);
    WriteFileBytes(dir + "/tgt.txt", tgt);
    PreprocessOptions o;
    o.src = dir + "/src.txt";
    o.tgt = dir + "/tgt.txt";
    o.out = dir + "/corpus";
    o.data.tokenizer = "whitespace";
    o.data.shard_sentences = 16;
    const Manifest m = Preprocess(o, *MakeLocalComm());
    s->manifest = ReadFileBytes(o.out + "/" + kManifestName);
    for (const ShardSummary& sh : m.shards)
      s->shards.push_back(ReadFileBytes(o.out + "/" + sh.file));
    s->targets = ListH5Targets(o.out + "/" + m.shards[0].file);
    return s;
  }();
  return *seed;
}

// The sum of a 1-D dataset's values read as int64 (0 if it cannot be read).
std::int64_t Sum(hid_t file, const char* name) {
  H5Id d(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  H5Id space(H5Dget_space(d.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (d.get() < 0 || n <= 0 || n > (1 << 20)) return 0;
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  if (H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) return 0;
  std::uint64_t sum = 0;  // wraps, like a crafted file may
  for (std::int64_t x : v) sum += static_cast<std::uint64_t>(x);
  return static_cast<std::int64_t>(sum);
}

// Rewrites the manifest so that shard `k` matches the file's size (with
// `seal` also its CRC-32, with `counts` its sentences and tokens as stored).
void UpdateManifest(const std::string& dir, std::size_t k, bool seal, bool counts) {
  Manifest m = ManifestFromYaml(TheSeed().manifest, "the seed manifest");
  ShardSummary& s = m.shards[k];
  const std::string path = dir + "/" + s.file;
  s.bytes = static_cast<std::int64_t>(std::filesystem::file_size(path));
  if (seal) s.crc32 = FileCrc32(path);
  H5Id f(counts ? H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT) : -1, H5Fclose);
  if (f.get() >= 0) {
    try {
      const std::int64_t n = ReadIntAttr(f.get(), "sentences", path);
      // Wrapping, like a crafted manifest may.
      m.sentences = static_cast<std::int64_t>(static_cast<std::uint64_t>(m.sentences) -
                                              static_cast<std::uint64_t>(s.sentences) +
                                              static_cast<std::uint64_t>(n));
      s.sentences = n;
    } catch (const UserError&) {  // the reader will say so
    }
    s.src_tokens = Sum(f.get(), "src/lengths");
    s.tgt_tokens = Sum(f.get(), "tgt/lengths");
  }
  WriteFileBytes(dir + "/" + kManifestName, ManifestToYaml(m));
}

// What the batch reader relies on in what Corpus::Read returns.
void Check(const Corpus& corpus, const ShardPairs& p) {
  for (int side = 0; side < 2; ++side) {
    const auto& len = side == 0 ? p.src_len : p.tgt_len;
    const auto& ids = side == 0 ? p.src_ids : p.tgt_ids;
    const std::int32_t vocab = (side == 0 ? corpus.src_vocab() : corpus.tgt_vocab()).size();
    std::int64_t sum = 0;
    for (const std::int32_t l : len) {
      if (l < 1) Fail("Corpus::Read returned a length of " + std::to_string(l));
      sum += l;
    }
    if (sum != static_cast<std::int64_t>(ids.size())) Fail("the lengths do not add up to the ids");
    for (const std::int32_t id : ids) {
      if (id < 0 || id >= vocab) Fail("Corpus::Read returned the id " + std::to_string(id));
    }
  }
}

// What training reads: the corpus, then every shard whole and sentence
// by sentence (a batch may start and end anywhere).
void ReadLikeTheTrainer(const std::string& dir) {
  const auto corpus = Corpus::Open(dir);
  for (int k = 0; k < corpus->num_shards(); ++k) {
    const std::int64_t n = corpus->shard(k).sentences();
    Check(*corpus, corpus->Read(k, 0, n));
    for (std::int64_t i = 0; i < n; ++i) Check(*corpus, corpus->Read(k, i, 1));
  }
}

void FuzzOne(Input in) {
  const Seed& seed = TheSeed();
  const std::string dir = ScratchDir() + "/corpus";
  const Manifest m = ManifestFromYaml(seed.manifest, "the seed manifest");
  for (std::size_t k = 0; k < seed.shards.size(); ++k) {
    WriteFileBytes(dir + "/" + m.shards[k].file, seed.shards[k]);
  }
  const int mode = in.Byte() % 3;
  const std::size_t k = in.Byte() % seed.shards.size();
  const std::string shard = dir + "/" + m.shards[k].file;
  if (mode == 0) {
    WriteFileBytes(dir + "/" + kManifestName, in.Rest());
  } else if (mode == 1) {
    const bool counts = in.Byte() % 2 != 0;
    MutateH5(shard, seed.targets, in);
    UpdateManifest(dir, k, true, counts);
  } else {
    WriteFileBytes(shard, in.Rest());
    UpdateManifest(dir, k, false, false);
  }
  ExpectCleanRejection([&] { ReadLikeTheTrainer(dir); });
}

}  // namespace
}  // namespace rnnsearch::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  const auto& seed = rnnsearch::fuzz::TheSeed();
  std::filesystem::create_directories(rnnsearch::fuzz::ScratchDir() + "/corpus");
  std::vector<std::string> seeds = {std::string{'\0', '\0'} + seed.manifest,
                                    std::string{'\2', '\0'} + seed.shards[0]};
  for (std::size_t i = 0; i < seed.targets.size(); ++i) {
    seeds.push_back(std::string{'\1', '\0', '\1', static_cast<char>(i), '\1'});
  }
  rnnsearch::fuzz::WriteSeeds(*argc, *argv, seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rnnsearch::fuzz::FuzzOne(rnnsearch::fuzz::Input(data, size));
  return 0;
}
