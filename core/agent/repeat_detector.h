// Detects a model repeating the same tool call (same name, same arguments) within one user turn.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace alltools::agent {

class RepeatDetector {
 public:
  explicit RepeatDetector(int allowed) : allowed_(allowed) {}
  // Records a call; returns how many times it has now been made this turn.
  int record(const std::string& tool, const nlohmann::json& args) { return ++counts_[tool + "\n" + args.dump()]; }
  // True once a call has been made more often than allowed.
  bool exceeded(int count) const { return count > allowed_; }
  void reset() { counts_.clear(); }

 private:
  int allowed_;
  std::map<std::string, int> counts_;
};

}  // namespace alltools::agent
