// Bounds-checked little-endian byte writer and reader for the serialization formats.
// A reader never reads past its end: a short input throws hemi::Error naming what was being
// read ("ciphertext: truncated while reading level").
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/base/secure_memory.h"

namespace hemi {

// Serialized objects, key files included: every buffer is wiped when freed, so neither a
// ByteWriter's reallocations nor a key file read into memory leave copies on the heap.
using Bytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}
  template <typename T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    auto p = reinterpret_cast<const std::uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  void put_bytes(const void* data, std::size_t n) {
    auto p = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), p, p + n);
  }
  void put_string(std::string_view s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    put_bytes(s.data(), s.size());
  }
  std::size_t size() const { return out_.size(); }
  Bytes& buffer() { return out_; }

 private:
  Bytes& out_;
};

class ByteReader {
 public:
  // `what` names the object for error messages.
  ByteReader(const std::uint8_t* data, std::size_t size, std::string what)
      : data_(data), size_(size), what_(std::move(what)) {}
  ByteReader(const Bytes& b, std::string what) : ByteReader(b.data(), b.size(), std::move(what)) {}

  template <typename T>
  T get(const char* field) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void get_bytes(void* out, std::size_t n, const char* field) {
    need(n, field);
    std::memcpy(out, data_ + pos_, n);
    pos_ += n;
  }
  const std::uint8_t* take(std::size_t n, const char* field) {
    need(n, field);
    const std::uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  std::string get_string(const char* field, std::size_t max_len = 1 << 20) {
    auto n = get<std::uint32_t>(field);
    if (n > max_len) fail(std::string(field) + " is too long (" + std::to_string(n) + " bytes)");
    std::string s(n, '\0');
    get_bytes(s.data(), n, field);
    return s;
  }
  std::size_t remaining() const { return size_ - pos_; }
  std::size_t position() const { return pos_; }
  void expect_end() const {
    if (pos_ != size_)
      fail(std::to_string(size_ - pos_) + " unexpected trailing bytes");
  }
  [[noreturn]] void fail(const std::string& msg) const { throw Error(what_ + ": " + msg); }

 private:
  void need(std::size_t n, const char* field) const {
    if (n > size_ - pos_)
      fail(std::string("truncated while reading ") + field + " (need " + std::to_string(n) +
           " bytes, " + std::to_string(size_ - pos_) + " left)");
  }
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::string what_;
};

// Whole-file helpers with clear errors naming the path.
Bytes read_file(const std::string& path, std::size_t max_bytes = std::size_t{1} << 34);

// Writes a whole file safely: into a fresh temporary file with a random name in the target's
// directory (mkstemp: O_CREAT|O_EXCL, so nothing planted there is followed or reused), then
// fsync, rename over the target and fsync the directory. A failed write leaves the target as
// it was and no temporary file. private_mode (secrets): mode 0600 from creation, and the
// checks of check_secret_destination; otherwise mode 0644.
void write_file(const std::string& path, const Bytes& data, bool private_mode = false);
inline void write_secret_file(const std::string& path, const Bytes& data) { write_file(path, data, true); }
// Refuses (hemi::Error naming the path and the reason) to put a secret at `path` when it is a
// symbolic link, or when its directory is writable by others (any user, or a group that is not
// the caller's own) and lacks the sticky bit: another user could then replace or redirect it.
void check_secret_destination(const std::string& path);

}  // namespace hemi
