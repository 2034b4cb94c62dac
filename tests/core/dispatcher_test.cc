// Dispatcher: registry, unknown tools, deadlines, cancellation and quarantine of a tool that ignores cancellation.
#include "core/agent/dispatcher.h"

#include <thread>

#include <gtest/gtest.h>

namespace alltools::agent {
namespace {

using namespace std::chrono_literals;

// A real tool with observable behaviour: echoes, sleeps until cancelled, or sleeps ignoring cancellation.
class SleepyTool : public tools::Tool {
 public:
  explicit SleepyTool(std::string name) { spec_.name = std::move(name); }
  const tools::ToolSpec& spec() const override { return spec_; }
  std::vector<tools::Observation> invoke(const nlohmann::json& args, const tools::ToolContext& ctx) override {
    const std::string mode = args.value("mode", "echo");
    if (mode == "echo") return {tools::Observation{"", args.value("text", ""), {}, false}};
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(args.value("ms", 0));
    while (std::chrono::steady_clock::now() < until) {
      if (mode == "cooperative" && ctx.cancelled()) return {tools::error_observation("stopped")};
      std::this_thread::sleep_for(1ms);
    }
    return {tools::Observation{"", "slept", {}, false}};
  }

 private:
  tools::ToolSpec spec_;
};

TEST(Dispatcher, RegistersInOrderAndRefusesDuplicates) {
  Dispatcher d;
  ASSERT_TRUE(d.add(std::make_unique<SleepyTool>("b")).ok());
  ASSERT_TRUE(d.add(std::make_unique<SleepyTool>("a")).ok());
  Status dup = d.add(std::make_unique<SleepyTool>("a"));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("'a'"), std::string::npos);
  auto specs = d.specs();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "b");
  EXPECT_EQ(specs[1].name, "a");
}

TEST(Dispatcher, CallsAndReportsUnknownTools) {
  Dispatcher d;
  ASSERT_TRUE(d.add(std::make_unique<SleepyTool>("echo")).ok());
  CallResult r = d.call("echo", {{"text", "hi"}}, {});
  EXPECT_EQ(r.status, CallStatus::kOk);
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_EQ(r.observations[0].text, "hi");

  r = d.call("nope", {}, {});
  EXPECT_EQ(r.status, CallStatus::kUnknownTool);
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_TRUE(r.observations[0].is_error);
  EXPECT_NE(r.observations[0].text.find("echo"), std::string::npos) << "lists the available tools";
}

TEST(Dispatcher, DeadlineRaisesTheToolsCancelFlag) {
  Dispatcher d;
  ASSERT_TRUE(d.add(std::make_unique<SleepyTool>("slow")).ok());
  CallOptions o;
  o.deadline = std::chrono::steady_clock::now() + 50ms;
  CallResult r = d.call("slow", {{"mode", "cooperative"}, {"ms", 60000}}, o);
  EXPECT_EQ(r.status, CallStatus::kTimeout);
  EXPECT_TRUE(r.observations[0].is_error);
  EXPECT_NE(r.observations[0].text.find("timed out"), std::string::npos);
  // The tool returned within the grace period, so it stays usable.
  r = d.call("slow", {{"mode", "echo"}, {"text", "again"}}, {});
  EXPECT_EQ(r.status, CallStatus::kOk);
}

TEST(Dispatcher, CancellationFromAnotherThread) {
  Dispatcher d;
  ASSERT_TRUE(d.add(std::make_unique<SleepyTool>("slow")).ok());
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(30ms);
    cancel.store(true);
  });
  CallOptions o;
  o.cancel = &cancel;
  CallResult r = d.call("slow", {{"mode", "cooperative"}, {"ms", 60000}}, o);
  canceller.join();
  EXPECT_EQ(r.status, CallStatus::kCancelled);
  EXPECT_TRUE(r.observations[0].is_error);
}

TEST(Dispatcher, ToolIgnoringCancellationIsQuarantined) {
  Dispatcher d;
  ASSERT_TRUE(d.add(std::make_unique<SleepyTool>("stubborn")).ok());
  CallOptions o;
  o.deadline = std::chrono::steady_clock::now() + 10ms;
  // Sleeps past the deadline plus the grace period, ignoring the flag.
  CallResult r = d.call("stubborn", {{"mode", "stubborn"}, {"ms", 2500}}, o);
  EXPECT_EQ(r.status, CallStatus::kTimeout);
  r = d.call("stubborn", {{"mode", "echo"}}, {});
  EXPECT_EQ(r.status, CallStatus::kQuarantined);
  EXPECT_TRUE(r.observations[0].is_error);
}

}  // namespace
}  // namespace alltools::agent
