#include "hemi/base/bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
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

namespace {
std::string directory_of(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}
}  // namespace

void check_secret_destination(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    throw Error("refusing to write a secret to '" + path + "': it is a symbolic link (remove it, or choose another path)");
  const std::string dir = directory_of(path);
  if (::stat(dir.c_str(), &st) != 0) throw Error("cannot write '" + path + "': directory '" + dir + "': " + std::strerror(errno));
  const bool others_write = (st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != ::getegid());
  if (others_write && !(st.st_mode & S_ISVTX))
    throw Error("refusing to write a secret into '" + dir + "': other users can write to this directory and it has no "
                "sticky bit, so they could replace or read the file; use a private directory (chmod go-w)");
}

void write_file(const std::string& path, const Bytes& data, bool private_mode) {
  if (private_mode) check_secret_destination(path);
  const std::filesystem::path target(path);
  const std::string dir = directory_of(path);
  std::string tmp = (std::filesystem::path(dir) / ("." + target.filename().string() + ".XXXXXX")).string();
  // mkostemp: a new file with a random name, O_CREAT|O_EXCL, mode 0600 from creation.
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw Error("cannot write '" + path + "': cannot create a temporary file in '" + dir + "': " + std::strerror(errno));
  auto fail = [&](const char* step) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error("cannot write '" + path + "': " + step + ": " + std::strerror(e));
  };
  if (!private_mode && ::fchmod(fd, 0644) != 0) fail("chmod");
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write '" + path + "': close: " + std::strerror(e));
  }
  // Checked again just before the rename, which replaces the target name itself (never what
  // a link there points to).
  try {
    if (private_mode) check_secret_destination(path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write '" + path + "': rename: " + std::strerror(e));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // make the rename durable; a directory that cannot be opened is not an error
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace hemi
