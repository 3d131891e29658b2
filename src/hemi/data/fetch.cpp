#include "hemi/data/fetch.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <system_error>

#include "hemi/base/error.h"

namespace hemi::data {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxDownloadBytes = std::size_t{1} << 28;  // 256 MiB

// "http://host:port/some/path" -> {"http://host:port", "/some/path"}.
void split_url(const std::string& base, std::string& origin, std::string& path) {
  auto scheme_end = base.find("://");
  if (scheme_end == std::string::npos ||
      (base.compare(0, scheme_end, "http") != 0 && base.compare(0, scheme_end, "https") != 0))
    throw Error("bad base URL '" + base + "' (expected http://... or https://...)");
  auto slash = base.find('/', scheme_end + 3);
  origin = slash == std::string::npos ? base : base.substr(0, slash);
  path = slash == std::string::npos ? "" : base.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (origin.size() <= scheme_end + 3) throw Error("bad base URL '" + base + "' (no host)");
}

// The body of a 200 response, or an empty optional-like result with the reason.
bool http_get(const std::string& base, const std::string& name, Bytes& body, std::string& reason) {
  std::string origin, prefix;
  split_url(base, origin, prefix);
  httplib::Client client(origin);
  client.set_follow_location(true);
  client.set_connection_timeout(15, 0);
  client.set_read_timeout(60, 0);
  body.clear();
  bool too_large = false;
  auto res = client.Get(prefix + "/" + name, [&](const char* data, std::size_t n) {
    if (body.size() + n > kMaxDownloadBytes) {
      too_large = true;
      return false;
    }
    body.insert(body.end(), data, data + n);
    return true;
  });
  if (too_large) {
    reason = "response larger than " + std::to_string(kMaxDownloadBytes) + " bytes";
    return false;
  }
  if (!res) {
    reason = "request failed: " + httplib::to_string(res.error());
    return false;
  }
  if (res->status != 200) {
    reason = "HTTP status " + std::to_string(res->status);
    return false;
  }
  return true;
}

bool file_matches(const std::string& path, const std::string& sha256) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  try {
    return sha256_hex(read_file(path, kMaxDownloadBytes)) == sha256;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

const std::vector<RemoteFile>& mnist_files() {
  static const std::vector<RemoteFile> kFiles = {
      {"train-images-idx3-ubyte.gz",
       "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
      {"train-labels-idx1-ubyte.gz",
       "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
      {"t10k-images-idx3-ubyte.gz",
       "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
      {"t10k-labels-idx1-ubyte.gz",
       "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
  };
  return kFiles;
}

std::vector<std::string> default_mnist_mirrors() {
  // The mirrors torchvision uses, in its order.
  return {"https://ossci-datasets.s3.amazonaws.com/mnist", "http://yann.lecun.com/exdb/mnist"};
}

std::string sha256_hex(const std::uint8_t* data, std::size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, size, digest, &len, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256 failed (OpenSSL)");
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string sha256_hex(const Bytes& data) { return sha256_hex(data.data(), data.size()); }

std::vector<FetchResult> fetch_files(const std::vector<RemoteFile>& files, const std::string& dest,
                                     const std::vector<std::string>& base_urls,
                                     const std::function<void(const std::string&)>& log) {
  if (base_urls.empty()) throw Error("fetch: no base URL given");
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec || !fs::is_directory(dest)) throw Error("fetch: cannot create folder '" + dest + "'" +
                                                 (ec ? ": " + ec.message() : ""));
  std::vector<FetchResult> results;
  for (const auto& file : files) {
    FetchResult r;
    r.path = (fs::path(dest) / file.name).string();
    if (file_matches(r.path, file.sha256)) {
      if (log) log(r.path + ": present, checksum ok");
      results.push_back(r);
      continue;
    }
    std::string failures;
    for (const auto& base : base_urls) {
      std::string url = base;
      while (!url.empty() && url.back() == '/') url.pop_back();
      url += "/" + file.name;
      Bytes body;
      std::string reason;
      if (http_get(base, file.name, body, reason)) {
        std::string got = sha256_hex(body);
        if (got == file.sha256) {
          write_file(r.path, body);  // temporary name + rename
          r.downloaded = true;
          r.url = url;
          break;
        }
        reason = "SHA-256 mismatch (got " + got + ", expected " + file.sha256 + ")";
      }
      failures += "\n  " + url + ": " + reason;
    }
    if (!r.downloaded)
      throw Error("fetch: could not download a valid '" + file.name + "' into '" + dest +
                  "' (nothing written):" + failures);
    if (log) log(r.path + ": downloaded from " + r.url + ", checksum ok");
    results.push_back(r);
  }
  return results;
}

std::vector<FetchResult> fetch_mnist(const std::string& dest,
                                     const std::vector<std::string>& base_urls,
                                     const std::function<void(const std::string&)>& log) {
  return fetch_files(mnist_files(), dest, base_urls.empty() ? default_mnist_mirrors() : base_urls,
                     log);
}

}  // namespace hemi::data
