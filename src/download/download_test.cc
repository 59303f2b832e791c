// SPDX-License-Identifier: MIT
// End-to-end downloader tests against FakeHub on 127.0.0.1: cache layout, reuse, resume after a
// dropped connection, the GPT-NeoX tokenizer fallback, weight layouts, auth, offline mode, errors.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#endif

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "download/fake_hub_server.h"
#include "download/hf_cache.h"
#include "download/hub_download.h"
#include "model/model.h"

namespace mamba {

#ifdef __linux__
// Pages of `path` in the page cache (mincore over a fresh mapping).
static size_t ResidentPages(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  struct stat st {};
  ::fstat(fd, &st);
  const size_t size = static_cast<size_t>(st.st_size);
  size_t resident = 0;
  if (size > 0) {
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
      const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      std::vector<unsigned char> vec((size + page - 1) / page);
      if (::mincore(map, size, vec.data()) == 0) {
        for (unsigned char v : vec) resident += v & 1;
      }
      ::munmap(map, size);
    }
  }
  ::close(fd);
  return resident;
}
#endif
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string DataFile(const std::string& rel) {
  return ReadFile(fs::path(MAMBA_SOURCE_DIR) / "tests/data" / rel);
}

// A port on 127.0.0.1 with nothing listening.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

constexpr char kRepo[] = "state-spaces/mamba-tiny-hf";
constexpr char kNeox[] = "EleutherAI/gpt-neox-20b";

class DownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = fs::temp_directory_path() /
             ("mamba_download_test_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(cache_);
    config_ = DataFile("models/mamba1-tiny/config.json");
    weights_ = DataFile("models/mamba1-tiny/model.safetensors");
    tokenizer_ = DataFile("tokenizer/tokenizer.json");
    ASSERT_FALSE(weights_.empty());
    ASSERT_FALSE(tokenizer_.empty());
    hub_.AddFile(kNeox, "tokenizer.json", tokenizer_, /*lfs=*/true);
    hub_.AddFile(kNeox, "config.json", "{}", false);
  }
  void TearDown() override { fs::remove_all(cache_); }

  // A repository like state-spaces/mamba-130m-hf: config + single safetensors (+ tokenizer).
  void AddModelRepo(const std::string& repo, bool with_tokenizer) {
    hub_.AddFile(repo, "config.json", config_, false);
    hub_.AddFile(repo, "model.safetensors", weights_, true);
    if (with_tokenizer) hub_.AddFile(repo, "tokenizer.json", tokenizer_, true);
  }

  DownloadOptions Options() {
    DownloadOptions o;
    o.endpoint = hub_.endpoint();
    o.cache_dir = cache_.string();
    o.retry_delay_ms = 0;
    o.progress = [this](const std::string& file, uint64_t done, uint64_t total) {
      last_progress_[file] = {done, total};
    };
    return o;
  }

  fs::path RepoDir(const std::string& repo) { return RepoCache(cache_.string(), repo).root(); }

  FakeHub hub_;
  fs::path cache_;
  std::string config_, weights_, tokenizer_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> last_progress_;
};

TEST_F(DownloadTest, FreshDownloadMakesHuggingFaceCacheLayout) {
  AddModelRepo(kRepo, /*with_tokenizer=*/true);
  StatusOr<std::string> dir = DownloadModel(kRepo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  const std::string commit = hub_.Commit(kRepo);
  const fs::path root = cache_ / "models--state-spaces--mamba-tiny-hf";
  EXPECT_EQ(fs::path(*dir), root / "snapshots" / commit);
  EXPECT_EQ(ReadFile(root / "refs" / "main"), commit);
#ifdef __linux__
  // Written back and dropped from the page cache (before anything below reads it back), so the
  // first run maps it in huge folios. tmpfs keeps files in memory whatever is asked.
  const fs::path blob = root / "blobs" / hub_.Etag(kRepo, "model.safetensors");
  struct statfs sfs {};
  if (statfs(blob.c_str(), &sfs) == 0 && sfs.f_type != TMPFS_MAGIC) {
    EXPECT_EQ(ResidentPages(blob), 0u);
  }
#endif
  const std::map<std::string, std::string> expected = {
      {"config.json", config_}, {"model.safetensors", weights_}, {"tokenizer.json", tokenizer_}};
  for (const auto& [name, content] : expected) {
    const fs::path link = root / "snapshots" / commit / name;
    ASSERT_TRUE(fs::is_symlink(link)) << name;
    EXPECT_EQ(fs::read_symlink(link), fs::path("../../blobs") / hub_.Etag(kRepo, name)) << name;
    EXPECT_EQ(ReadFile(root / "blobs" / hub_.Etag(kRepo, name)), content) << name;
    EXPECT_EQ(ReadFile(link), content) << name;
  }
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    EXPECT_NE(entry.path().extension(), ".incomplete") << entry.path();
  }
  // The optional files the repository lacks are remembered as absent for this commit.
  EXPECT_TRUE(fs::exists(root / ".no_exist" / commit / "generation_config.json"));
  const std::pair<uint64_t, uint64_t> all(weights_.size(), weights_.size());
  EXPECT_EQ(last_progress_["model.safetensors"], all);
  // LFS files were fetched from the CDN path the 302 pointed to.
  EXPECT_EQ(hub_.Count("GET", "/cdn/" + hub_.Etag(kRepo, "model.safetensors")), 1);
}

TEST_F(DownloadTest, SecondRunDownloadsNothing) {
  AddModelRepo(kRepo, true);
  ASSERT_TRUE(DownloadModel(kRepo, Options()).ok());
  hub_.ClearRequests();
  last_progress_.clear();
  StatusOr<std::string> dir = DownloadModel(kRepo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(hub_.Count("GET", "/"), 0);
  EXPECT_EQ(hub_.Count("HEAD", "/"), 1);  // config.json at "main": has the branch moved?
  EXPECT_TRUE(last_progress_.empty());
}

TEST_F(DownloadTest, DroppedTransferResumesWithRange) {
  AddModelRepo(kRepo, true);
  hub_.DropAfter("model.safetensors", 100000, 1);
  StatusOr<std::string> dir = DownloadModel(kRepo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*dir) / "model.safetensors"), weights_);
  std::vector<std::string> ranges;
  for (const FakeHub::Request& r : hub_.requests()) {
    if (r.method == "GET" && r.path.find("/cdn/" + hub_.Etag(kRepo, "model.safetensors")) == 0) {
      ranges.push_back(r.range);
    }
  }
  EXPECT_EQ(ranges, (std::vector<std::string>{"", "bytes=100000-"}));
}

TEST_F(DownloadTest, InterruptedRunIsResumedByTheNextRun) {
  AddModelRepo(kRepo, true);
  hub_.DropAfter("model.safetensors", 123456, 1);
  DownloadOptions o = Options();
  o.max_retries = 0;
  StatusOr<std::string> first = DownloadModel(kRepo, o);
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("interrupted after 123456 of"), std::string::npos)
      << first.status().message();
  EXPECT_NE(first.status().message().find("run again to resume"), std::string::npos);
  const fs::path partial =
      RepoDir(kRepo) / "blobs" / (hub_.Etag(kRepo, "model.safetensors") + ".incomplete");
  EXPECT_EQ(fs::file_size(partial), 123456u);

  hub_.ClearRequests();
  StatusOr<std::string> second = DownloadModel(kRepo, o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*second) / "model.safetensors"), weights_);
  EXPECT_FALSE(fs::exists(partial));
  bool resumed = false;
  for (const FakeHub::Request& r : hub_.requests()) resumed |= r.range == "bytes=123456-";
  EXPECT_TRUE(resumed);
}

TEST_F(DownloadTest, ServerIgnoringRangeRestartsFromZero) {
  AddModelRepo(kRepo, true);
  hub_.DropAfter("model.safetensors", 50000, 1);
  hub_.SetIgnoreRange(true);
  StatusOr<std::string> dir = DownloadModel(kRepo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*dir) / "model.safetensors"), weights_);
}

TEST_F(DownloadTest, StateSpacesRepoGetsGptNeoxTokenizer) {
  AddModelRepo(kRepo, /*with_tokenizer=*/false);
  StatusOr<std::string> dir = DownloadModel(kRepo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  const fs::path tok = fs::path(*dir) / "tokenizer.json";
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(tok)));  // a copy, not a link elsewhere
  EXPECT_EQ(ReadFile(tok), tokenizer_);
  EXPECT_TRUE(fs::exists(RepoDir(kNeox) / "blobs" / hub_.Etag(kNeox, "tokenizer.json")));
  // Running again needs neither the model's nor GPT-NeoX's tokenizer from the network.
  hub_.ClearRequests();
  ASSERT_TRUE(DownloadModel(kRepo, Options()).ok());
  EXPECT_EQ(hub_.Count("HEAD", "tokenizer.json"), 0);
}

TEST_F(DownloadTest, ShardedIndexFetchesEveryShard) {
  const std::string repo = "org/sharded";
  hub_.AddFile(repo, "config.json", config_, false);
  hub_.AddFile(repo, "model.safetensors.index.json",
               R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                   "b": "model-00002-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}})",
               false);
  hub_.AddFile(repo, "model-00001-of-00002.safetensors", std::string(70000, 'x'), true);
  hub_.AddFile(repo, "model-00002-of-00002.safetensors", std::string(30000, 'y'), true);
  hub_.AddFile(repo, "tokenizer.json", "{}", false);
  StatusOr<std::string> dir = DownloadModel(repo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*dir) / "model-00001-of-00002.safetensors"), std::string(70000, 'x'));
  EXPECT_EQ(ReadFile(fs::path(*dir) / "model-00002-of-00002.safetensors"), std::string(30000, 'y'));
  EXPECT_EQ(hub_.Count("GET", "/cdn/"), 2);  // each shard once
}

TEST_F(DownloadTest, PytorchBinOnlyRepoLoads) {
  const std::string repo = "state-spaces/mamba-tiny";
  hub_.AddFile(repo, "config.json", DataFile("models/mamba1-tiny/variants/pt_bin/config.json"),
               false);
  hub_.AddFile(repo, "pytorch_model.bin",
               DataFile("models/mamba1-tiny/variants/pt_bin/pytorch_model.bin"), true);
  StatusOr<std::string> dir = DownloadModel(repo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_TRUE(fs::exists(fs::path(*dir) / "pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(fs::path(*dir) / "model.safetensors"));
  StatusOr<std::unique_ptr<Model>> model = Model::Load(*dir);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
}

TEST_F(DownloadTest, DownloadedSnapshotLoadsWithTheEngine) {
  AddModelRepo(kRepo, true);
  StatusOr<std::string> dir = DownloadModel(kRepo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  StatusOr<std::unique_ptr<Model>> model = Model::Load(*dir);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->config().n_layer, 2);
}

TEST_F(DownloadTest, MissingRepoIsOneClearLine) {
  StatusOr<std::string> dir = DownloadModel("nobody/nothing", Options());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message(), "repository 'nobody/nothing' not found on " + hub_.endpoint() +
                                        " (or it is private: set HF_TOKEN)");
  EXPECT_FALSE(DownloadModel("not-a-repo-id", Options()).ok());
}

TEST_F(DownloadTest, MissingRevisionAndMissingWeights) {
  AddModelRepo(kRepo, true);
  DownloadOptions o = Options();
  o.revision = "v9";
  StatusOr<std::string> dir = DownloadModel(kRepo, o);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("revision 'v9' not found"), std::string::npos);
  hub_.AddFile("org/no-weights", "config.json", config_, false);
  dir = DownloadModel("org/no-weights", Options());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("has no weights"), std::string::npos);
}

TEST_F(DownloadTest, PrivateRepoNeedsToken) {
  AddModelRepo("org/private", true);
  hub_.RequireToken("org/private", "hf_secret");
  StatusOr<std::string> dir = DownloadModel("org/private", Options());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("set HF_TOKEN"), std::string::npos)
      << dir.status().message();
  DownloadOptions o = Options();
  o.token = "wrong";
  dir = DownloadModel("org/private", o);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("rejected the token in HF_TOKEN"), std::string::npos);

  // The CDN is another host (localhost vs 127.0.0.1): the token must not follow the redirect.
  hub_.SetCdnOrigin("http://localhost:" + std::to_string(hub_.port()));
  hub_.ClearRequests();
  o.token = "hf_secret";
  dir = DownloadModel("org/private", o);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*dir) / "model.safetensors"), weights_);
  int cdn = 0;
  for (const FakeHub::Request& r : hub_.requests()) {
    if (r.path.rfind("/cdn/", 0) == 0) {
      ++cdn;
      EXPECT_EQ(r.authorization, "") << r.path;
    } else {
      EXPECT_EQ(r.authorization, "Bearer hf_secret") << r.path;
    }
  }
  EXPECT_EQ(cdn, 2);  // model.safetensors and tokenizer.json
}

TEST_F(DownloadTest, OfflineAndUnreachableUseTheCache) {
  AddModelRepo(kRepo, true);
  StatusOr<std::string> online = DownloadModel(kRepo, Options());
  ASSERT_TRUE(online.ok()) << online.status().ToString();
  hub_.ClearRequests();
  DownloadOptions o = Options();
  o.offline = true;
  StatusOr<std::string> offline = DownloadModel(kRepo, o);
  ASSERT_TRUE(offline.ok()) << offline.status().ToString();
  EXPECT_EQ(*offline, *online);
  EXPECT_TRUE(hub_.requests().empty());

  o.offline = false;
  o.endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort());
  StatusOr<std::string> unreachable = DownloadModel(kRepo, o);
  ASSERT_TRUE(unreachable.ok()) << unreachable.status().ToString();
  EXPECT_EQ(*unreachable, *online);

  // Nothing cached for this repository: one line naming the endpoint and the way out.
  StatusOr<std::string> missing = DownloadModel("org/other", o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(o.endpoint), std::string::npos);
  EXPECT_NE(missing.status().message().find("HF_ENDPOINT"), std::string::npos);
  EXPECT_NE(missing.status().message().find("HF_HUB_OFFLINE"), std::string::npos);
  o.offline = true;
  missing = DownloadModel("org/other", o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("not in the cache"), std::string::npos);
}

TEST_F(DownloadTest, FilePrePlacedInSnapshotIsReused) {
  AddModelRepo(kRepo, true);
  // As huggingface-cli would leave it: the snapshot file already there for the current commit.
  const fs::path snap = RepoDir(kRepo) / "snapshots" / hub_.Commit(kRepo);
  fs::create_directories(snap);
  { std::ofstream(snap / "model.safetensors", std::ios::binary) << weights_; }
  StatusOr<std::string> dir = DownloadModel(kRepo, Options());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(hub_.Count("GET", "/cdn/" + hub_.Etag(kRepo, "model.safetensors")), 0);
  EXPECT_EQ(ReadFile(snap / "model.safetensors"), weights_);
}

TEST_F(DownloadTest, DownloadFileReportsMissingFileAsNotFound) {
  AddModelRepo(kRepo, true);
  StatusOr<std::string> path = DownloadFile(kRepo, "nope.json", Options());
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), StatusCode::kNotFound);
  path = DownloadFile(kRepo, "../escape", Options());
  EXPECT_EQ(path.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DownloadTest, UnwritableCacheIsAnIoError) {
  AddModelRepo(kRepo, true);
  fs::create_directories(cache_.parent_path());
  { std::ofstream(cache_.string()) << "a file where the cache directory should be"; }
  StatusOr<std::string> dir = DownloadModel(kRepo, Options());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kIoError);
  EXPECT_NE(dir.status().message().find(cache_.string()), std::string::npos)
      << dir.status().message();
  fs::remove(cache_);
}

}  // namespace
}  // namespace mamba
