#include "memo/cow.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <vector>

#ifndef MFD_NOEXEC_SEAL  // Linux 6.3; older headers lack it, older kernels say EINVAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

namespace memo::cow {
namespace {

constexpr std::size_t kAlign = 64;
// Below this one thread writes the file; above, every core does (shmem page
// allocation runs per core, so two writers cut the time by about 15% on 2 cores).
constexpr std::size_t kParallelWriteThreshold = std::size_t{64} << 20;

std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// One sealed file. The payload's view owns it; a hit's private mapping holds its own
// reference to the file inside the kernel, so closing the descriptor when the entry
// leaves the cache never invalidates a caller's copy.
struct SealedFile {
  int fd = -1;
  std::size_t size = 0;
  FrameLayout layout;

  SealedFile() = default;
  SealedFile(const SealedFile&) = delete;
  SealedFile& operator=(const SealedFile&) = delete;
  ~SealedFile() {
    if (fd >= 0) close(fd);
  }
};

// The deleter of a sealed payload's view; std::get_deleter finds the file through it.
struct ViewDeleter {
  std::shared_ptr<const SealedFile> file;
  void operator()(std::byte* view) const { munmap(view, file->size); }
};

int make_memfd() {
  int fd = memfd_create("memo-cow", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
  if (fd < 0 && errno == EINVAL) fd = memfd_create("memo-cow", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  return fd;
}

struct Piece {
  const std::byte* data;
  std::size_t size;
  std::size_t offset;  // in the file
};

bool write_piece(int fd, Piece piece) {
  while (piece.size > 0) {
    const ssize_t written = pwrite(fd, piece.data, piece.size, static_cast<off_t>(piece.offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    piece.data += written;
    piece.size -= static_cast<std::size_t>(written);
    piece.offset += static_cast<std::size_t>(written);
  }
  return true;
}

// Splits the pieces into one run of about equal bytes per worker and writes the runs
// in parallel. pwrite rather than a shared mapping: it skips a page fault per page
// (measured 1.2 s against 2.2 s for 3.2 GB).
bool write_pieces(int fd, const std::vector<Piece>& pieces, std::size_t total) {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const unsigned workers = total < kParallelWriteThreshold ? 1u : hardware;
  std::vector<std::vector<Piece>> runs(workers);
  const std::size_t quota = (total + workers - 1) / workers;
  std::size_t worker = 0, filled = 0;
  for (Piece piece : pieces) {
    while (piece.size > 0) {
      const std::size_t take = std::min(piece.size, quota - filled);
      runs[worker].push_back({piece.data, take, piece.offset});
      piece.data += take;
      piece.size -= take;
      piece.offset += take;
      filled += take;
      if (filled == quota && worker + 1 < workers) {
        ++worker;
        filled = 0;
      }
    }
  }
  std::vector<char> ok(workers, 1);
  auto write_run = [&](unsigned w) {
    for (const Piece& piece : runs[w]) {
      if (!write_piece(fd, piece)) {
        ok[w] = 0;
        return;
      }
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned w = 1; w < workers; ++w) helpers.emplace_back(write_run, w);
  write_run(0);
  for (auto& helper : helpers) helper.join();
  return std::all_of(ok.begin(), ok.end(), [](char v) { return v != 0; });
}

// The sealed file for `frame`, or null when the kernel refuses one of the steps.
std::shared_ptr<SealedFile> write_sealed(const Frame& frame) {
  auto file = std::make_shared<SealedFile>();
  file->fd = make_memfd();
  if (file->fd < 0) return nullptr;

  const std::vector<std::byte> header = encode_frame_header(frame);
  std::vector<Piece> pieces{{header.data(), header.size(), 0}};
  std::size_t at = header.size();
  for (const auto& column : frame.columns()) {
    pieces.push_back({column.bytes().data(), column.size_bytes(), at});
    at = align_up(at + column.size_bytes());
  }
  file->size = at;
  // The padding between columns is never written: a memory file reads as zeros there,
  // so the bytes equal Codec<Frame>::encode's.
  if (ftruncate(file->fd, static_cast<off_t>(file->size)) != 0) return nullptr;
  if (!write_pieces(file->fd, pieces, file->size)) return nullptr;
  const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
  if (fcntl(file->fd, F_ADD_SEALS, seals) != 0) return nullptr;
  return file;
}

}  // namespace

bool available() {
  static const bool has_memfd = [] {
    const int fd = make_memfd();
    if (fd < 0) return false;
    close(fd);
    return true;
  }();
  return has_memfd;
}

Payload encode_frame(const Frame& frame) {
  std::shared_ptr<SealedFile> file = write_sealed(frame);
  if (file == nullptr) return Codec<Frame>::encode(frame);
  void* view = mmap(nullptr, file->size, PROT_READ, MAP_SHARED, file->fd, 0);
  if (view == MAP_FAILED) return Codec<Frame>::encode(frame);
  Payload payload{ByteOwner(static_cast<std::byte*>(view), ViewDeleter{file}), file->size};
  // Parsed once here, so a hit never reads the header (one page fault per hit saved).
  file->layout = read_frame_layout(payload.view());
  return payload;
}

bool is_sealed(const Payload& payload) {
  return std::get_deleter<ViewDeleter>(payload.data) != nullptr;
}

Frame map_frame(const Payload& payload) {
  const auto* deleter = std::get_deleter<ViewDeleter>(payload.data);
  if (deleter == nullptr) return Codec<Frame>::decode(payload.view());
  const SealedFile& file = *deleter->file;
  void* mapped = mmap(nullptr, file.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.fd, 0);
  if (mapped == MAP_FAILED) return Codec<Frame>::decode(payload.view());
  const std::size_t size = file.size;
  // One owner for the whole mapping; each column shares it (aliasing shared_ptr), so
  // the mapping goes when the last column of this copy does, dropped columns included.
  ByteOwner mapping(static_cast<std::byte*>(mapped), [size](std::byte* p) { munmap(p, size); });
  Frame frame;
  for (const auto& slot : file.layout.columns) {
    frame.adopt(Column(slot.name, slot.type, file.layout.rows,
                       ByteOwner(mapping, mapping.get() + slot.offset)));
  }
  return frame;
}

}  // namespace memo::cow
