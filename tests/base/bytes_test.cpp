#include "hemi/base/bytes.h"

#include <gtest/gtest.h>

#include <filesystem>
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

}  // namespace
}  // namespace hemi
