# Cross-compiling for 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu; the arm64 libraries
# (libssl-dev:arm64, libgtest-dev:arm64) come from Debian multiarch under
# /usr/lib/aarch64-linux-gnu. Test executables run under qemu-aarch64 (also for GoogleTest's
# test discovery at build time). Used by scripts/test-arm64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Programs (ninja, ccache) are the host's; libraries and packages only the target's.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The cross toolchain's own C and C++ runtime first: its ld.so with the multiarch libc6:arm64
# (pulled in by libssl-dev:arm64, a different Debian build) hangs at the first pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu
    -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
# pkg-config (FindOpenSSL asks it first) must answer for arm64, not for the host.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
