// Memory that held secrets. WipingAllocator overwrites every block before it goes back to the
// heap (OPENSSL_cleanse, which the compiler cannot drop), so a container that reallocates
// (std::vector growing) leaves no stale copy behind; hemi::Bytes uses it. exclude_from_core_dumps
// marks the whole pages inside a buffer MADV_DONTDUMP, so a crash dump does not carry key
// material (best effort: pages shared with other data stay in the dump).
#pragma once

#include <cstddef>
#include <new>

namespace hemi {

// Overwrites memory in a way the compiler cannot optimise away (OPENSSL_cleanse).
void secure_wipe(void* data, std::size_t bytes);

// madvise(MADV_DONTDUMP) on the pages that lie wholly inside [data, data + bytes). Returns the
// number of bytes excluded (0 where the system does not support it).
std::size_t exclude_from_core_dumps(void* data, std::size_t bytes);

template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    secure_wipe(p, n * sizeof(T));
    ::operator delete(p);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
};

}  // namespace hemi
