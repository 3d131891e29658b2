// `hemi data fetch` machinery against a loopback HTTP server (never the internet): serves the
// real MNIST files from the shared data, and a corrupted copy to test checksum rejection.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "hemi/base/error.h"
#include "hemi/data/fetch.h"
#include "test_data.h"
#include "support/test_data_dir.h"

namespace hemi::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// /good/<name>: the real file; /bad/<name>: the same with one byte flipped; else 404.
class LoopbackServer {
 public:
  LoopbackServer() {
    const std::string dir = testing::mnist_dir();
    for (const auto& f : mnist_files()) files_[f.name] = read_file(dir + "/" + f.name);
    server_.Get(R"(/(good|bad)/([A-Za-z0-9.\-]+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      auto it = files_.find(req.matches[2]);
      if (it == files_.end()) {
        res.status = 404;
        return;
      }
      std::string body(it->second.begin(), it->second.end());
      if (req.matches[1] == "bad") body[body.size() / 2] ^= 0x01;
      res.set_content(body, "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a loopback port");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& kind) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + kind;
  }
  int requests() const { return requests_; }

 private:
  std::map<std::string, Bytes> files_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

std::vector<std::string> folder_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(dataFetch, DownloadsVerifiesAndSkipsValidFiles) {
  HEMI_REQUIRE_FULL_DATA();
  LoopbackServer server;
  TempDir tmp;
  const std::string dest = tmp.file("mnist");
  auto results = fetch_mnist(dest, {server.url("good") + "/"});
  ASSERT_EQ(results.size(), 4u);
  for (const auto& r : results) EXPECT_TRUE(r.downloaded) << r.path;
  EXPECT_EQ(server.requests(), 4);
  for (const auto& f : mnist_files()) {
    EXPECT_EQ(sha256_hex(read_file(dest + "/" + f.name)), f.sha256) << f.name;
    EXPECT_EQ(read_file(dest + "/" + f.name), read_file(testing::mnist_dir() + "/" + f.name));
  }
  EXPECT_EQ(folder_names(dest).size(), 4u);  // no temporary files left

  // Present and valid: nothing is requested.
  results = fetch_mnist(dest, {server.url("good")});
  for (const auto& r : results) EXPECT_FALSE(r.downloaded) << r.path;
  EXPECT_EQ(server.requests(), 4);

  // A damaged file is replaced, the others are kept.
  testing::write_bytes(dest + "/t10k-labels-idx1-ubyte.gz", Bytes{1, 2, 3});
  results = fetch_mnist(dest, {server.url("good")});
  EXPECT_EQ(server.requests(), 5);
  EXPECT_TRUE(results[3].downloaded);
  EXPECT_FALSE(results[0].downloaded);
  EXPECT_EQ(sha256_hex(read_file(dest + "/t10k-labels-idx1-ubyte.gz")), mnist_files()[3].sha256);
}

TEST(dataFetch, RejectsWrongChecksumAndWritesNothing) {
  HEMI_REQUIRE_FULL_DATA();
  LoopbackServer server;
  TempDir tmp;
  const std::string dest = tmp.file("out");
  const std::vector<RemoteFile> labels = {mnist_files()[3]};  // t10k labels, 4.5 kB
  std::string msg;
  try {
    fetch_files(labels, dest, {server.url("bad")});
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("t10k-labels-idx1-ubyte.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("SHA-256 mismatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find(labels[0].sha256), std::string::npos) << msg;
  EXPECT_TRUE(folder_names(dest).empty());

  // A missing file on the server.
  msg.clear();
  try {
    fetch_files({{"nothing-here.gz", labels[0].sha256}}, dest, {server.url("good")});
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("HTTP status 404"), std::string::npos) << msg;
  EXPECT_TRUE(folder_names(dest).empty());

  // The next mirror is tried after a bad one.
  auto results = fetch_files(labels, dest, {server.url("bad"), server.url("good")});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].downloaded);
  EXPECT_EQ(results[0].url, server.url("good") + "/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(folder_names(dest), (std::vector<std::string>{"t10k-labels-idx1-ubyte.gz"}));

  EXPECT_THROW(fetch_files(labels, tmp.file("x"), {"ftp://example.org/mnist"}), Error);
}

}  // namespace
}  // namespace hemi::data
