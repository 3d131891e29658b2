// std::vector with 64-byte aligned storage, so SIMD kernels may use aligned loads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace hemi {

template <typename T, std::size_t Align = 64>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() noexcept = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) noexcept {}  // NOLINT
  template <typename U>
  struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Align)));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(Align)); }
  bool operator==(const AlignedAllocator&) const noexcept { return true; }
};

using U64Vec = std::vector<std::uint64_t, AlignedAllocator<std::uint64_t>>;

}  // namespace hemi
