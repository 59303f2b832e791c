// SPDX-License-Identifier: MIT
// Unit tests for the cache layout helpers and URL handling (no server).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "download/hf_cache.h"
#include "download/http_client.h"
#include "download/hub_download.h"

namespace mamba {
namespace {

TEST(HfCache, NormalizeEtag) {
  EXPECT_EQ(NormalizeEtag("\"abc\""), "abc");
  EXPECT_EQ(NormalizeEtag("W/\"abc\""), "abc");
  EXPECT_EQ(NormalizeEtag("abc"), "abc");
  EXPECT_EQ(NormalizeEtag(" \"abc\" "), "abc");
}

TEST(HfCache, ValidateRepoId) {
  EXPECT_TRUE(ValidateRepoId("state-spaces/mamba-130m-hf").ok());
  EXPECT_TRUE(ValidateRepoId("EleutherAI/gpt-neox-20b").ok());
  for (const char* bad : {"mamba", "/x", "x/", "a/b/c", "a/..", "a/b c", "a--b/c", ""}) {
    const Status s = ValidateRepoId(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("ORG/NAME"), std::string::npos);
  }
}

TEST(HfCache, ValidateRepoFilename) {
  EXPECT_TRUE(ValidateRepoFilename("config.json").ok());
  EXPECT_TRUE(ValidateRepoFilename("sub/dir/model-00001-of-00002.safetensors").ok());
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", "./a"}) {
    EXPECT_FALSE(ValidateRepoFilename(bad).ok()) << bad;
  }
}

TEST(HfCache, IsCommitHash) {
  EXPECT_TRUE(IsCommitHash("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(IsCommitHash("main"));
  EXPECT_FALSE(IsCommitHash("0123456789ABCDEF0123456789abcdef01234567"));
}

TEST(HfCache, RepoCachePaths) {
  RepoCache cache("/c", "state-spaces/mamba-130m-hf");
  EXPECT_EQ(cache.root(), "/c/models--state-spaces--mamba-130m-hf");
  EXPECT_EQ(cache.BlobPath("e"), "/c/models--state-spaces--mamba-130m-hf/blobs/e");
  EXPECT_EQ(cache.SnapshotPath("c1", "a/b.json"),
            "/c/models--state-spaces--mamba-130m-hf/snapshots/c1/a/b.json");
  EXPECT_EQ(cache.RefPath("main"), "/c/models--state-spaces--mamba-130m-hf/refs/main");
  EXPECT_EQ(cache.LockPath("e"), "/c/.locks/models--state-spaces--mamba-130m-hf/e.lock");
}

TEST(HfCache, DefaultHubCacheDirFollowsEnvironment) {
  ::unsetenv("HF_HUB_CACHE");
  ::unsetenv("HUGGINGFACE_HUB_CACHE");
  ::setenv("HF_HOME", "/tmp/hfhome", 1);
  EXPECT_EQ(DefaultHubCacheDir(), "/tmp/hfhome/hub");
  ::setenv("HF_HUB_CACHE", "/tmp/hubcache", 1);
  EXPECT_EQ(DefaultHubCacheDir(), "/tmp/hubcache");
  ::unsetenv("HF_HUB_CACHE");
  ::unsetenv("HF_HOME");
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(DefaultHubCacheDir(), "/tmp/xdg/huggingface/hub");
  ::unsetenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string saved_home = home ? home : "";
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(DefaultHubCacheDir(), "/home/u/.cache/huggingface/hub");
  if (home) ::setenv("HOME", saved_home.c_str(), 1);
}

TEST(HfCache, OptionsFromEnv) {
  ::setenv("HF_ENDPOINT", "http://mirror.example:8080/", 1);
  ::setenv("HF_TOKEN", "hf_abc", 1);
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  ::setenv("HF_HOME", "/tmp/hfhome2", 1);
  DownloadOptions o = DownloadOptionsFromEnv();
  EXPECT_EQ(o.endpoint, "http://mirror.example:8080");
  EXPECT_EQ(o.token, "hf_abc");
  EXPECT_TRUE(o.offline);
  EXPECT_EQ(o.cache_dir, "/tmp/hfhome2/hub");
  EXPECT_EQ(o.revision, "main");
  for (const char* v : {"HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_HOME"}) ::unsetenv(v);
  o = DownloadOptionsFromEnv();
  EXPECT_EQ(o.endpoint, "https://huggingface.co");
  EXPECT_FALSE(o.offline);
}

TEST(HttpClient, ParseUrl) {
  StatusOr<Url> u = ParseUrl("https://huggingface.co/a/b/resolve/main/config.json?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "huggingface.co");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/a/b/resolve/main/config.json?x=1");
  EXPECT_EQ(u->Origin(), "https://huggingface.co");
  u = ParseUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->Origin(), "http://127.0.0.1:8080");
  EXPECT_FALSE(ParseUrl("ftp://x/y").ok());
  EXPECT_FALSE(ParseUrl("huggingface.co").ok());
  EXPECT_FALSE(ParseUrl("http://x:99999/").ok());
}

TEST(HttpClient, ResolveLocation) {
  const Url base = ParseUrl("https://hf.co/a/b/resolve/main/f.bin").value();
  EXPECT_EQ(ResolveLocation(base, "https://cdn.example/x?sig=1"), "https://cdn.example/x?sig=1");
  EXPECT_EQ(ResolveLocation(base, "//cdn.example/x"), "https://cdn.example/x");
  EXPECT_EQ(ResolveLocation(base, "/api/x"), "https://hf.co/api/x");
  EXPECT_EQ(ResolveLocation(base, "g.bin"), "https://hf.co/a/b/resolve/main/g.bin");
}

TEST(HttpClient, EncodePath) {
  EXPECT_EQ(EncodePath("dir/model-00001.safetensors"), "dir/model-00001.safetensors");
  EXPECT_EQ(EncodePath("a b+c"), "a%20b%2Bc");
}

}  // namespace
}  // namespace mamba
