#include "sandbox/detail/uid_slot.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace alltools::sandbox::detail {

namespace {
constexpr const char* kLockDir = "/run/alltools-sandbox";
}

Result<UidSlot> UidSlot::acquire() {
  UidSlot slot;
  if (geteuid() != 0) {
    slot.uid_ = getuid();
    slot.gid_ = getgid();
    return slot;
  }
  if (mkdir(kLockDir, 0700) != 0 && errno != EEXIST) {
    return make_error(ErrorCode::kIo, std::string("mkdir ") + kLockDir + ": " + std::strerror(errno));
  }
  for (int i = 0; i < kMaxSlots; ++i) {
    const std::string path = std::string(kLockDir) + "/slot-" + std::to_string(i) + ".lock";
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error(ErrorCode::kIo, path + ": " + std::strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      slot.lock_fd_ = fd;
      slot.uid_ = kBaseUid + static_cast<uid_t>(i);
      slot.gid_ = kBaseUid + static_cast<gid_t>(i);
      return slot;
    }
    close(fd);
  }
  return make_error(ErrorCode::kResourceExhausted,
                    "all " + std::to_string(kMaxSlots) + " sandbox uid slots are in use (" + kLockDir + ")");
}

UidSlot::~UidSlot() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

UidSlot::UidSlot(UidSlot&& other) noexcept
    : lock_fd_(std::exchange(other.lock_fd_, -1)), uid_(other.uid_), gid_(other.gid_) {}

UidSlot& UidSlot::operator=(UidSlot&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) close(lock_fd_);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    uid_ = other.uid_;
    gid_ = other.gid_;
  }
  return *this;
}

}  // namespace alltools::sandbox::detail
