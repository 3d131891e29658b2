#include "hemi/base/bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace hemi {

Bytes read_file(const std::string& path, std::size_t max_bytes) {
  // Unbuffered: the bytes go straight into `data` (a wiping Bytes), so no stream buffer keeps
  // a copy of a secret key after it is freed.
  std::ifstream in;
  in.rdbuf()->pubsetbuf(nullptr, 0);
  in.open(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  auto end = in.tellg();
  if (end < 0) throw Error("cannot read '" + path + "'");
  auto size = static_cast<std::size_t>(end);
  if (size > max_bytes)
    throw Error("'" + path + "' is too large (" + std::to_string(size) + " bytes)");
  Bytes data(size);
  in.seekg(0);
  if (size && !in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size)))
    throw Error("cannot read '" + path + "'");
  return data;
}

void write_file(const std::string& path, const Bytes& data, bool private_mode) {
  // Write to a temporary name, then rename: a failed write never leaves a half file behind.
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, private_mode ? 0600 : 0644);
  if (fd < 0) throw Error("cannot write '" + path + "': " + std::strerror(errno));
  if (private_mode) ::fchmod(fd, 0600);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error("cannot write '" + path + "': " + std::strerror(e));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(e));
  }
}

}  // namespace hemi
