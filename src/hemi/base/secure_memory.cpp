#include "hemi/base/secure_memory.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace hemi {

void secure_wipe(void* data, std::size_t bytes) {
  if (data && bytes) OPENSSL_cleanse(data, bytes);
}

std::size_t exclude_from_core_dumps(void* data, std::size_t bytes) {
#ifdef MADV_DONTDUMP
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (!data || page_size <= 0) return 0;
  const auto page = static_cast<std::uintptr_t>(page_size);
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + page - 1) / page * page;
  const std::uintptr_t last = (begin + bytes) / page * page;
  if (last <= first) return 0;
  if (::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTDUMP) != 0) return 0;
  return last - first;
#else
  (void)data;
  (void)bytes;
  return 0;
#endif
}

}  // namespace hemi
