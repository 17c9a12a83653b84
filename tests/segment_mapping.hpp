// polychan tests — a named segment mapped read-write by hand, as a hostile peer would map it:
// /dev/shm/polychan.<name>, all of its bytes, with none of the library's checks.
#pragma once

#include <polychan/storage/detail/segment_header.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace polychan::test {

class segment_mapping {
  public:
    explicit segment_mapping(const std::string& name) {
        int const fd = ::open(("/dev/shm/polychan." + name).c_str(), O_RDWR);
        REQUIRE(fd >= 0);
        struct ::stat st {};
        REQUIRE(::fstat(fd, &st) == 0);
        size_ = static_cast<std::size_t>(st.st_size);
        void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ::close(fd);
        REQUIRE(p != MAP_FAILED);
        base_ = static_cast<std::byte*>(p);
    }
    segment_mapping(const segment_mapping&) = delete;
    segment_mapping& operator=(const segment_mapping&) = delete;
    ~segment_mapping() { ::munmap(base_, size_); }

    std::byte* base() const noexcept { return base_; }
    std::size_t size() const noexcept { return size_; }
    storage::detail::segment_header& head() const noexcept {
        return *reinterpret_cast<storage::detail::segment_header*>(base_);
    }

  private:
    std::byte* base_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace polychan::test
