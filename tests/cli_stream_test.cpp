// wastenet-stream as a user runs it, on the sample images with the bundled model: a synthetic
// camera stream without glitches switches exactly K = 6 frames into each object, once per object,
// and runs the actuator command once per event with the event in its environment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

using Result = wastenet::test::CommandResult;

Result run(const std::string& args) { return wastenet::test::run_command(WASTENET_STREAM, args, "stream"); }

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

const std::string images = wastenet::test::source_dir() + "/examples/images/";

TEST(StreamCli, SyntheticStreamSwitchesAfterKFramesOncePerObject) {
  const std::string hook_log = std::string(WASTENET_TEST_DATA) + "/stream_hook.txt";
  std::remove(hook_log.c_str());
  const Result r = run("--synthetic --frames-per-object 12 --glitch-rate 0 --seed 3 --fps 10 --threads 1 --quiet "
                       "--actuator-cmd 'echo \"$WASTENET_FRAME $WASTENET_PREVIOUS $WASTENET_LABEL\" >> " + hook_log + "' " +
                       images + "cardboard31.jpg " + images + "glass12.jpg " + images + "metal159.jpg");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto events = lines_starting(r.out, "EVENT");
  ASSERT_EQ(events.size(), 3u) << r.out;
  EXPECT_EQ(events[0].rfind("EVENT frame 5 ", 0), 0u) << events[0];
  EXPECT_NE(events[0].find("none -> cardboard (6 of 6 votes); latency 6 frames, 600 ms"), std::string::npos) << events[0];
  EXPECT_EQ(events[1].rfind("EVENT frame 17 ", 0), 0u) << events[1];
  EXPECT_NE(events[1].find("cardboard -> glass (6 of 10 votes); latency 6 frames, 600 ms"), std::string::npos) << events[1];
  EXPECT_EQ(events[2].rfind("EVENT frame 29 ", 0), 0u) << events[2];
  EXPECT_NE(events[2].find("glass -> metal (6 of 10 votes); latency 6 frames, 600 ms"), std::string::npos) << events[2];
  const auto hook = wastenet::test::read_bytes(hook_log);
  EXPECT_EQ(std::string(hook.begin(), hook.end()), "5 none cardboard\n17 cardboard glass\n29 glass metal\n");
}

TEST(StreamCli, PlanPrintsThePapersLatency) {
  const Result r = run("--plan --error-rate 0.05 --fps 17 --max-window 10");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("| 10 | 6 | 0.353 | 2.75e-06 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("smallest N with P(false switch) <= 0.0001: N = 6, K = 4"), std::string::npos) << r.out;
}

TEST(StreamCli, BadArgumentsAreOneLineErrors) {
  const std::vector<std::string> cases = {"--window 0 " + images, "--threshold 11 --window 10 " + images, "--plan",
                                          "--input-size 16 " + images, images + "does_not_exist.jpg"};
  for (const std::string& args : cases) {
    const Result r = run(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(r.err.rfind("wastenet-stream: ", 0), 0u) << args << ": " << r.err;
  }
}

}  // namespace
