// read_sandbox_file (sandbox.h): host-side reads of files the sandbox wrote, never following a link out.
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "sandbox/sandbox.h"

namespace alltools::sandbox {

namespace {
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};
}  // namespace

Result<std::string> read_sandbox_file(const std::filesystem::path& files_dir, const std::string& relative,
                                      std::uint64_t max_bytes) {
  const std::string where = (files_dir / relative).string();
  if (relative.empty() || relative.front() == '/') {
    return make_error(ErrorCode::kDenied, where + ": not a relative path inside the sandbox's files");
  }
  Fd dir{open(files_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd < 0) return make_error(ErrorCode::kIo, files_dir.string() + ": " + std::strerror(errno));
  open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  Fd file{static_cast<int>(syscall(SYS_openat2, dir.fd, relative.c_str(), &how, sizeof how))};
  if (file.fd < 0) {
    const int err = errno;
    if (err == ELOOP || err == EXDEV || err == ENOTDIR) {
      return make_error(ErrorCode::kDenied, where + ": refused (symlink or path outside the sandbox's files: " +
                                                std::strerror(err) + ")");
    }
    return make_error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, where + ": " + std::strerror(err));
  }
  struct stat st;
  if (fstat(file.fd, &st) != 0) return make_error(ErrorCode::kIo, where + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::kDenied, where + ": not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return make_error(ErrorCode::kOutOfRange, where + ": " + std::to_string(st.st_size) + " bytes exceeds the " +
                                                  std::to_string(max_bytes) + "-byte limit");
  }
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = read(file.fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ErrorCode::kIo, where + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace alltools::sandbox
