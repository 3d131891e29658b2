// Downloading the MNIST files over HTTP(S) (cpp-httplib), verified by SHA-256 (OpenSSL).
// A file is written only after its checksum matched, through a temporary name and a rename,
// so a failed or corrupt download never leaves a partial or unverified file in place.
// Files already present with the right checksum are not downloaded again.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hemi/base/bytes.h"

namespace hemi::data {

struct RemoteFile {
  std::string name;    // file name, also the last URL component
  std::string sha256;  // lower-case hex
};

// The four canonical MNIST gzip files and their SHA-256.
const std::vector<RemoteFile>& mnist_files();
// Mirrors tried in order when no base URL is given.
std::vector<std::string> default_mnist_mirrors();

struct FetchResult {
  std::string path;        // dest/name
  bool downloaded = false; // false: already present and valid
  std::string url;         // where it came from (downloaded only)
};

// For each file: keep dest/name if its SHA-256 matches; otherwise try base_urls in order
// (base + "/" + name; http:// or https://, redirects followed) until one gives the right
// bytes, and write them. Creates dest. Throws hemi::Error naming the file and why every
// mirror failed. `log` (optional) receives one line per file.
std::vector<FetchResult> fetch_files(const std::vector<RemoteFile>& files, const std::string& dest,
                                     const std::vector<std::string>& base_urls,
                                     const std::function<void(const std::string&)>& log = {});

// fetch_files(mnist_files(), dest, base_urls or default_mnist_mirrors() when empty, log).
std::vector<FetchResult> fetch_mnist(const std::string& dest,
                                     const std::vector<std::string>& base_urls = {},
                                     const std::function<void(const std::string&)>& log = {});

std::string sha256_hex(const std::uint8_t* data, std::size_t size);
std::string sha256_hex(const Bytes& data);

}  // namespace hemi::data
