// A dedicated host uid per concurrent sandbox (when the runtime is root): bwrap started by root would map the
// sandbox to host root (setuid files, RLIMIT_NPROC ignored). Slots are claimed with flock() on files in a
// lock folder, so separate runtime processes on one machine never share a uid.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace alltools::sandbox::detail {

class UidSlot {
 public:
  static constexpr uid_t kBaseUid = 200000;  // sandbox uids: kBaseUid + slot
  static constexpr int kMaxSlots = 1024;

  // Root: claims the first free slot. Not root: the runtime's own (non-root) uid, no slot.
  static Result<UidSlot> acquire();
  UidSlot() = default;
  ~UidSlot();
  UidSlot(UidSlot&& other) noexcept;
  UidSlot& operator=(UidSlot&& other) noexcept;
  UidSlot(const UidSlot&) = delete;
  UidSlot& operator=(const UidSlot&) = delete;

  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  bool dedicated() const { return lock_fd_ >= 0; }  // a slot of its own (uid switched in the child)

 private:
  int lock_fd_ = -1;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace alltools::sandbox::detail
