#include "hemi/base/bytes.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <sys/stat.h>

namespace hemi {
namespace {

TEST(Bytes, RoundTrip) {
  Bytes b;
  ByteWriter w(b);
  w.put<std::uint32_t>(0xdeadbeef);
  w.put<double>(2.5);
  w.put_string("hello");
  ByteReader r(b, "thing");
  EXPECT_EQ(r.get<std::uint32_t>("a"), 0xdeadbeefu);
  EXPECT_EQ(r.get<double>("b"), 2.5);
  EXPECT_EQ(r.get_string("c"), "hello");
  EXPECT_NO_THROW(r.expect_end());
}

TEST(Bytes, TruncatedInputNamesTheField) {
  Bytes b = {1, 2, 3};
  ByteReader r(b, "ciphertext");
  try {
    r.get<std::uint64_t>("level");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ciphertext: truncated while reading level"),
              std::string::npos)
        << e.what();
  }
}

TEST(Bytes, TrailingBytesAreRejected) {
  Bytes b = {1, 2, 3, 4, 5};
  ByteReader r(b, "key");
  r.get<std::uint32_t>("x");
  EXPECT_THROW(r.expect_end(), Error);
}

TEST(Bytes, OversizedStringIsRejected) {
  Bytes b;
  ByteWriter w(b);
  w.put<std::uint32_t>(1000);
  ByteReader r(b, "model");
  EXPECT_THROW(r.get_string("name", 10), Error);
}

TEST(Bytes, FilesRoundTripAndPrivateMode) {
  auto dir = std::filesystem::temp_directory_path() / "hemi_bytes_test";
  std::filesystem::create_directories(dir);
  auto path = (dir / "secret.bin").string();
  Bytes data = {9, 8, 7};
  write_file(path, data, /*private_mode=*/true);
  EXPECT_EQ(read_file(path), data);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THROW(read_file((dir / "missing.bin").string()), Error);
  std::filesystem::remove_all(dir);
}

// A fresh directory of its own for each safe-write test, removed afterwards.
struct ScratchDir {
  explicit ScratchDir(const char* name)
      : path(std::filesystem::temp_directory_path() / (std::string("hemi_") + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    ::chmod(path.c_str(), 0700);
  }
  ~ScratchDir() {
    ::chmod(path.c_str(), 0700);
    std::filesystem::remove_all(path);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::filesystem::path path;
};

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Another user pre-creates the old predictable temporary name, as a file they can read or as
// a link to a file of ours: neither is opened, followed or changed; the secret is a new file,
// mode 0600 from creation.
TEST(SafeWrite, PreCreatedTemporaryFilesAreNeitherUsedNorFollowed) {
  ScratchDir dir("safe_write_tmp");
  const std::string path = dir.file("secret.key");
  write_file(path + ".tmp", Bytes{'x'});
  ::chmod((path + ".tmp").c_str(), 0666);
  write_secret_file(path, Bytes{1, 2, 3});
  EXPECT_EQ(read_file(path), (Bytes{1, 2, 3}));
  EXPECT_EQ(read_file(path + ".tmp"), Bytes{'x'});
  struct stat st {}, tmp {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_EQ(::stat((path + ".tmp").c_str(), &tmp), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(st.st_ino, tmp.st_ino);

  const std::string victim = dir.file("victim");
  write_file(victim, Bytes{'v'});
  std::filesystem::remove(path + ".tmp");
  std::filesystem::create_symlink(victim, path + ".tmp");
  write_secret_file(path, Bytes{4, 5});
  EXPECT_EQ(read_file(path), (Bytes{4, 5}));
  EXPECT_EQ(read_file(victim), Bytes{'v'});
  EXPECT_TRUE(std::filesystem::is_symlink(path + ".tmp"));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"secret.key", "secret.key.tmp", "victim"}));  // no temporary left
}

// A symbolic link planted at the secret's path: refused, and neither the link nor its target
// changes. A public file written over a link replaces the link, never its target.
TEST(SafeWrite, SymlinkAtTheSecretPathIsRefused) {
  ScratchDir dir("safe_write_link");
  const std::string victim = dir.file("victim");
  write_file(victim, Bytes{'v'});
  std::filesystem::create_symlink(victim, dir.file("secret.key"));
  const std::string e = error_text([&] { write_secret_file(dir.file("secret.key"), Bytes{1}); });
  EXPECT_NE(e.find("it is a symbolic link"), std::string::npos) << e;
  EXPECT_NE(e.find(dir.file("secret.key")), std::string::npos) << e;
  EXPECT_TRUE(std::filesystem::is_symlink(dir.file("secret.key")));
  EXPECT_EQ(read_file(victim), Bytes{'v'});
  EXPECT_NE(error_text([&] { check_secret_destination(dir.file("secret.key")); }), "");

  std::filesystem::create_symlink(victim, dir.file("eval.keys"));
  write_file(dir.file("eval.keys"), Bytes{2});
  EXPECT_FALSE(std::filesystem::is_symlink(dir.file("eval.keys")));
  EXPECT_EQ(read_file(victim), Bytes{'v'});
}

// A directory every user can write to, without the sticky bit: another user could rename or
// replace the secret, so it is refused (and nothing is left behind). With the sticky bit (as
// /tmp) it is accepted; public files are written in either.
TEST(SafeWrite, WorldWritableDirectoryWithoutStickyBitIsRefusedForSecrets) {
  ScratchDir dir("safe_write_dir");
  ASSERT_EQ(::chmod(dir.path.c_str(), 0777), 0);
  const std::string e = error_text([&] { write_secret_file(dir.file("secret.key"), Bytes{1}); });
  EXPECT_NE(e.find("other users can write to this directory and it has no sticky bit"), std::string::npos) << e;
  EXPECT_TRUE(dir.entries().empty());
  write_file(dir.file("eval.keys"), Bytes{2});
  EXPECT_EQ(read_file(dir.file("eval.keys")), Bytes{2});

  ASSERT_EQ(::chmod(dir.path.c_str(), 01777), 0);
  write_secret_file(dir.file("secret.key"), Bytes{1});
  EXPECT_EQ(read_file(dir.file("secret.key")), Bytes{1});
}

// Replacing a file: the new content and mode, and no temporary file; a failed rename (the
// target is a directory) leaves no temporary file either.
TEST(SafeWrite, ReplacesAtomicallyAndCleansUpOnFailure) {
  ScratchDir dir("safe_write_replace");
  const std::string path = dir.file("secret.key");
  write_file(path, Bytes{'o', 'l', 'd'});
  ::chmod(path.c_str(), 0644);
  write_secret_file(path, Bytes{'n', 'e', 'w'});
  EXPECT_EQ(read_file(path), (Bytes{'n', 'e', 'w'}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::create_directories(dir.file("taken"));
  std::filesystem::create_directories(dir.file("taken/inner"));
  EXPECT_NE(error_text([&] { write_file(dir.file("taken"), Bytes{1}); }).find("rename"), std::string::npos);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"secret.key", "taken"}));
  EXPECT_NE(error_text([&] { write_file(dir.file("missing/x"), Bytes{1}); }).find("cannot write"), std::string::npos);
}

}  // namespace
}  // namespace hemi
