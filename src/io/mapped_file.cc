// SPDX-License-Identifier: MIT
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "base/check.h"

namespace mamba {

namespace {

// A read-only descriptor of `path`, or NotFound / IoError naming it. O_NONBLOCK: opening a FIFO
// (not a regular file, refused by the callers) must not wait for a writer; it changes nothing for
// regular files.
StatusOr<int> OpenReadOnly(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFoundError("'" + path + "': no such file");
    return IoError("'" + path + "': cannot open: " + std::strerror(err));
  }
  return fd;
}

// Reads the whole of fd (size bytes) into anonymous huge-page memory, or an IoError naming path.
StatusOr<AnonymousMemory> ReadIntoAnonymous(int fd, const std::string& path, size_t size) {
  constexpr size_t kHuge = size_t{2} << 20;
  MAMBA_ASSIGN_OR_RETURN(AnonymousMemory copy,
                         AnonymousMemory::Allocate(size, "'" + path + "': reading it into memory"));
  uint8_t* base = copy.data();
  // Up to 4 threads read 2 MiB-aligned parts at once: the copy out of the page cache and the
  // zeroing of each fresh huge page run at the speed of one core each (2.8b F16 GGUF from the
  // page cache: 2.5 s on one thread).
  const size_t parts = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  const size_t part = std::max(kHuge, (size / parts + kHuge - 1) / kHuge * kHuge);
  std::vector<std::string> errors(parts);
  auto read_part = [&](size_t p) {
    const size_t begin = std::min(size, p * part), end = std::min(size, begin + part);
    size_t done = begin;
    while (done < end) {
      // At most 1 GiB per call (Linux reads at most ~2 GiB at once).
      const size_t want = std::min(end - done, size_t{1} << 30);
      const ssize_t got = ::pread(fd, base + done, want, static_cast<off_t>(done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        errors[p] = "read failed at byte " + std::to_string(done) + " of " + std::to_string(size) +
                    ": " +
                    (got < 0 ? std::generic_category().message(errno)
                             : std::string("file shrank while being read"));
        return;
      }
      done += static_cast<size_t>(got);
    }
  };
  std::vector<std::thread> threads;
  for (size_t p = 1; p < parts; ++p) threads.emplace_back(read_part, p);
  read_part(0);
  for (std::thread& t : threads) t.join();
  for (const std::string& e : errors) {
    if (!e.empty()) return IoError("'" + path + "': " + e);
  }
  copy.MakeReadOnly();  // as read-only as the mapping it replaces
  return copy;
}

}  // namespace

StatusOr<std::shared_ptr<MappedFile>> MappedFile::Open(const std::string& path, FileAccess access) {
  MAMBA_ASSIGN_OR_RETURN(const int fd, OpenReadOnly(path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return IoError("'" + path + "': cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("'" + path + "': not a regular file");
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ == 0) {
    ::close(fd);
    file->data_ = reinterpret_cast<const uint8_t*>(file->owned_.data());
    return file;
  }
  if (access == FileAccess::kRead) {
    StatusOr<AnonymousMemory> copy = ReadIntoAnonymous(fd, path, file->size_);
    ::close(fd);
    if (!copy.ok()) return copy.status();
    file->copy_ = std::move(*copy);
    file->data_ = file->copy_.data();
    return file;
  }
  void* map = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (map == MAP_FAILED) return IoError("'" + path + "': mmap failed: " + std::strerror(err));
#ifdef MADV_HUGEPAGE
  // Ask for transparent huge pages on the mapping. Where the kernel and file system support large
  // page-cache folios (Linux 6.x ext4/xfs), pages faulted in through this mapping come in 2 MiB
  // folios mapped by one PMD each: decode streams the weights ~40 % faster than through 4 KiB
  // pages (the hardware prefetcher stops at every 4 KiB boundary). Advisory; failure is harmless.
  (void)::madvise(map, file->size_, MADV_HUGEPAGE);
#endif
  file->map_ = map;
  file->map_size_ = file->size_;
  file->data_ = static_cast<const uint8_t*>(map);
  return file;
}

std::shared_ptr<MappedFile> MappedFile::FromBytes(std::string name, const void* data, size_t size) {
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = std::move(name);
  // Over-allocate so the data start is 64-byte aligned, as a page-aligned mmap would be.
  file->owned_.assign(size + 64, '\0');
  auto base = reinterpret_cast<uintptr_t>(file->owned_.data());
  const size_t pad = (64 - base % 64) % 64;
  if (size) std::memcpy(file->owned_.data() + pad, data, size);
  file->data_ = reinterpret_cast<const uint8_t*>(file->owned_.data() + pad);
  file->size_ = size;
  return file;
}

Status DropFromPageCache(const std::string& path) {
  MAMBA_ASSIGN_OR_RETURN(const int fd, OpenReadOnly(path));
  Status status = Status::Ok();
#ifdef __APPLE__
  const int synced = ::fsync(fd);  // (no fdatasync in every macOS SDK)
#else
  const int synced = ::fdatasync(fd);
#endif
  if (synced != 0 && errno != EINVAL) {  // EINVAL: a file that cannot be synced
    status = IoError("'" + path + "': fdatasync failed: " + std::strerror(errno));
  }
#ifdef POSIX_FADV_DONTNEED
  if (status.ok()) (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
#endif
  ::close(fd);
  return status;
}

void MappedFile::Release(const void* p, size_t n) {
  const auto* begin = static_cast<const uint8_t*>(p);
  MAMBA_CHECK(begin >= data_ && n <= size_ && begin - data_ <= static_cast<ptrdiff_t>(size_ - n),
              "MappedFile::Release: range outside '%s'", path_.c_str());
  if (map_ == nullptr && copy_.data() == nullptr) return;  // FromBytes: heap memory
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (reinterpret_cast<uintptr_t>(begin) + page - 1) / page * page;
  const uintptr_t last = (reinterpret_cast<uintptr_t>(begin) + n) / page * page;
  if (last <= first) return;
  void* pages = reinterpret_cast<void*>(first);
  // Both advisory: what they fail to do costs memory, not correctness.
  (void)::madvise(pages, last - first, MADV_DONTNEED);
  (void)::mprotect(pages, last - first, PROT_NONE);
}

MappedFile::~MappedFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

}  // namespace mamba
