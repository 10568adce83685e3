// The debouncer's exact event sequences, its latency model, and a randomized comparison with a
// straightforward reference implementation.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "wastenet/vote.hpp"

namespace {

using Vote = wastenet::MajorityVote<std::string>;
using Event = Vote::Event;
using wastenet::VoteOptions;

// Same, with explicit timestamps: frame i at i / fps.
std::vector<std::pair<std::uint64_t, std::string>> run(Vote& v, const std::vector<std::string>& labels, double fps = 10.0) {
  std::vector<std::pair<std::uint64_t, std::string>> events;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto e = v.update(labels[i] == "-" ? std::nullopt : std::optional<std::string>(labels[i]), 1.0,
                            static_cast<double>(i) / fps);
    if (e) events.emplace_back(e->frame, e->current.value_or("-"));
  }
  return events;
}

std::vector<std::string> repeat(const std::string& l, std::size_t n) { return std::vector<std::string>(n, l); }
std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
using Events = std::vector<std::pair<std::uint64_t, std::string>>;

TEST(MajorityVote, NewObjectSwitchesAfterExactlyKAgreeingFrames) {
  Vote v({10});  // K = 6
  EXPECT_EQ(v.threshold(), 6u);
  EXPECT_EQ(run(v, repeat("glass", 20)), (Events{{5, "glass"}}));  // the 6th frame, index 5
}

TEST(MajorityVote, ObjectStayingInViewSignalsOnce) {
  Vote v({10});
  EXPECT_EQ(run(v, repeat("metal", 200)).size(), 1u);
  EXPECT_EQ(v.decision(), std::optional<std::string>("metal"));
}

TEST(MajorityVote, GlitchShorterThanKNeverSwitches) {
  Vote v({10});
  // paper for 10 frames, then 5 plastic glitches (K = 6), then paper again
  const auto ev = run(v, repeat("paper", 10) + repeat("plastic", 5) + repeat("paper", 10));
  EXPECT_EQ(ev, (Events{{5, "paper"}}));
}

TEST(MajorityVote, ReplacementObjectSwitchesOnItsKthFrame) {
  Vote v({10});
  const auto ev = run(v, repeat("paper", 10) + repeat("glass", 10));
  // frames 10..15 are glass: at frame 15 the window holds 6 glass, 4 paper
  EXPECT_EQ(ev, (Events{{5, "paper"}, {15, "glass"}}));
}

TEST(MajorityVote, AlternatingLabelsNeverFlipOnTies) {
  VoteOptions o;
  o.window = 4;
  o.threshold = 2;  // K <= N/2 allows a tie at the top
  wastenet::MajorityVote<int> v(o);
  std::vector<int> events;
  for (int i = 0; i < 40; ++i) {
    if (auto e = v.update(i % 2, 1.0, i * 0.1)) events.push_back(*e->current);
  }
  // frames 0,1: 0 and 1 one vote each (below K). Frame 2: 0 has 2, 1 has 1 -> switch to 0.
  // From then on the window always holds two of each: ties, no flip.
  EXPECT_EQ(events, (std::vector<int>{0}));
}

TEST(MajorityVote, ConfidenceGateCountsLowConfidenceAsNoObject) {
  VoteOptions o;
  o.window = 5;
  o.min_confidence = 0.6;
  wastenet::MajorityVote<int> v(o);
  std::vector<std::pair<std::uint64_t, std::optional<int>>> ev;
  const double conf[] = {0.9, 0.5, 0.9, 0.55, 0.9, 0.9, 0.3, 0.3, 0.3, 0.3, 0.3};
  for (int i = 0; i < 11; ++i) {
    if (auto e = v.update(7, conf[i], i)) ev.emplace_back(e->frame, e->current);
  }
  // K = 3. Frames 1 and 3 are below the gate: label 7 reaches 3 votes at frame 4 (frames 0, 2, 4).
  // At frame 7 the window (3..7) holds -,7,7,-,- -> "no object" has 3 votes: the decision returns.
  EXPECT_EQ(ev, (std::vector<std::pair<std::uint64_t, std::optional<int>>>{{4, 7}, {7, std::nullopt}}));
}

TEST(MajorityVote, ReturnsToBackgroundLabel) {
  Vote v({6}, std::string("empty"));  // K = 4
  EXPECT_EQ(v.decision(), std::optional<std::string>("empty"));
  const auto ev = run(v, repeat("cardboard", 6) + repeat("-", 6));
  EXPECT_EQ(ev, (Events{{3, "cardboard"}, {9, "empty"}}));
}

TEST(MajorityVote, HoldOffDelaysTheNextSwitch) {
  VoteOptions o;
  o.window = 4;  // K = 3
  o.holdoff_frames = 6;
  Vote v(o);
  const auto ev = run(v, repeat("a", 3) + repeat("b", 8));
  // a at frame 2; b would win at frame 5 (b,b,b + a) but the hold-off lasts until frame 8.
  EXPECT_EQ(ev, (Events{{2, "a"}, {8, "b"}}));
  VoteOptions t;
  t.window = 4;
  t.holdoff_seconds = 0.55;
  Vote w(t);
  EXPECT_EQ(run(w, repeat("a", 3) + repeat("b", 8)), (Events{{2, "a"}, {8, "b"}}));  // 0.2 s + 0.55 -> frame 8 (0.8 s)
}

TEST(MajorityVote, TimeWindowWithIrregularTimestamps) {
  VoteOptions o;
  o.window = 32;           // capacity
  o.window_seconds = 1.0;  // the last second
  o.min_frames = 3;
  Vote v(o);
  struct F { double t; const char* l; };
  const F frames[] = {{0.00, "a"}, {0.05, "a"}, {0.50, "a"},   // 3 frames: a has 3 of 3 -> switch at index 2
                      {1.40, "b"}, {1.45, "b"},                // window (0.45, 1.45]: a@0.5, b, b -> b has 2 of 3
                      {1.46, "a"},                             // a, b, b, a: tie 2:2, no flip; decision stays a
                      {2.30, "b"}, {2.35, "b"}};               // window (1.35, 2.35]: b,b,a,b,b -> b 4 of 5
  std::vector<std::pair<std::uint64_t, std::string>> ev;
  for (const auto& f : frames) {
    if (auto e = v.update(std::string(f.l), 1.0, f.t)) ev.emplace_back(e->frame, *e->current);
  }
  // At index 4 (t=1.45): window holds a@0.5,b,b: b has 2 >= floor(3/2)+1 = 2 -> switch to b.
  EXPECT_EQ(ev, (Events{{2, "a"}, {4, "b"}}));
}

TEST(MajorityVote, ResetForgetsEverything) {
  Vote v({4});
  run(v, repeat("a", 4));
  v.reset();
  EXPECT_FALSE(v.decision().has_value());
  EXPECT_EQ(v.window_frames(), 0u);
  EXPECT_EQ(run(v, repeat("a", 4)), (Events{{2, "a"}}));  // switches again after K = 3
}

TEST(MajorityVote, EventCarriesPreviousVotesAndTime) {
  Vote v({10});
  std::optional<Event> last;
  for (int i = 0; i < 16; ++i) {
    if (auto e = v.update(std::string(i < 10 ? "paper" : "glass"), 1.0, i / 17.0)) last = e;
  }
  ASSERT_TRUE(last);
  EXPECT_EQ(last->previous, std::optional<std::string>("paper"));
  EXPECT_EQ(last->current, std::optional<std::string>("glass"));
  EXPECT_EQ(last->frame, 15u);
  EXPECT_EQ(last->votes, 6u);
  EXPECT_EQ(last->window_frames, 10u);
  EXPECT_DOUBLE_EQ(last->time, 15 / 17.0);
}

TEST(MajorityVote, BadParameters) {
  EXPECT_THROW(Vote({0}), wastenet::VoteError);
  VoteOptions o;
  o.window = 5;
  o.threshold = 6;
  EXPECT_THROW(Vote{o}, wastenet::VoteError);
  o.threshold = 0;
  o.min_confidence = 1.5;
  EXPECT_THROW(Vote{o}, wastenet::VoteError);
  o.min_confidence = 0;
  o.window_seconds = -1;
  EXPECT_THROW(Vote{o}, wastenet::VoteError);
  o.window_seconds = 0;
  o.holdoff_seconds = -0.1;
  EXPECT_THROW(Vote{o}, wastenet::VoteError);
  Vote v({3});
  v.update(std::string("a"), 0.5, 1.0);
  EXPECT_THROW(v.update(std::string("a"), 0.5, 0.5), wastenet::VoteError);  // time went backwards
  EXPECT_THROW(v.update(std::string("a"), 1.5, 2.0), wastenet::VoteError);
  // VoteError is a std::invalid_argument
  EXPECT_THROW(Vote({0}), std::invalid_argument);
}

TEST(LatencyModel, PaperNumbers) {
  // N = 10 at 17 images/s: K = 6, 6/17 = 0.3529 s (the paper prints 0.354 s); with the 0.646 s servo, ~1 s.
  EXPECT_EQ(wastenet::majority_threshold(10), 6u);
  EXPECT_DOUBLE_EQ(wastenet::switch_latency_seconds(6, 17.0), 6.0 / 17.0);
  EXPECT_NEAR(wastenet::switch_latency_seconds(6, 17.0), 0.354, 0.0015);
  EXPECT_DOUBLE_EQ(wastenet::switch_latency_seconds(6, 17.0, 0.646), 6.0 / 17.0 + 0.646);
  EXPECT_THROW(wastenet::switch_latency_seconds(0, 17.0), wastenet::VoteError);
  EXPECT_THROW(wastenet::switch_latency_seconds(6, 0.0), wastenet::VoteError);
}

TEST(LatencyModel, FalseSwitchProbabilityIsTheBinomialTail) {
  // N=3, K=2, p=0.1: 3 * 0.1^2 * 0.9 + 0.1^3 = 0.028
  EXPECT_NEAR(wastenet::false_switch_probability(3, 2, 0.1), 0.028, 1e-15);
  // N=10, K=6, p=0.1: sum_{k=6}^{10} C(10,k) 0.1^k 0.9^(10-k) = 1.469026e-4
  EXPECT_NEAR(wastenet::false_switch_probability(10, 6, 0.1), 1.469026e-4, 1e-10);
  EXPECT_EQ(wastenet::false_switch_probability(10, 6, 0.0), 0.0);
  EXPECT_EQ(wastenet::false_switch_probability(10, 6, 1.0), 1.0);
  EXPECT_NEAR(wastenet::false_switch_probability(1, 1, 0.3), 0.3, 1e-15);
  EXPECT_THROW(wastenet::false_switch_probability(5, 6, 0.1), wastenet::VoteError);
  EXPECT_THROW(wastenet::false_switch_probability(5, 3, -0.1), wastenet::VoteError);
}

TEST(LatencyModel, SmallestWindow) {
  // p = 0.05: N=5 (K=3) gives 1.158e-3, N=6 (K=4) gives 8.64e-5 <= 1e-4.
  EXPECT_EQ(wastenet::smallest_window(0.05, 1e-4), 6u);
  // p = 0.1, target 1e-3: N=7 (K=4) 2.728e-3, N=8 (K=5) 4.3165e-4.
  EXPECT_EQ(wastenet::smallest_window(0.1, 1e-3), 8u);
  EXPECT_EQ(wastenet::smallest_window(0.3, 1.0), 1u);
  EXPECT_THROW(wastenet::smallest_window(0.5, 1e-3), wastenet::VoteError);  // never improves
  EXPECT_THROW(wastenet::smallest_window(0.1, 0.0), wastenet::VoteError);
}

// Reference: recount a deque from scratch on every frame.
struct ReferenceVote {
  VoteOptions o;
  std::deque<std::pair<double, std::optional<int>>> w;
  std::optional<int> decision;
  bool switched = false;
  double switch_time = 0;
  std::uint64_t switch_frame = 0, frame = 0;

  std::optional<std::optional<int>> update(std::optional<int> label, double conf, double t) {
    const std::uint64_t f = frame++;
    if (conf < o.min_confidence) label.reset();
    if (o.window_seconds > 0) {
      while (!w.empty() && t - w.front().first >= o.window_seconds) w.pop_front();
    }
    if (w.size() == o.window) w.pop_front();
    w.emplace_back(t, label);
    if (o.window_seconds > 0 && w.size() < o.min_frames) return std::nullopt;
    if (switched && (t - switch_time < o.holdoff_seconds || f - switch_frame < o.holdoff_frames)) return std::nullopt;
    std::map<std::optional<int>, std::size_t> counts;
    for (auto& [tt, l] : w) ++counts[l];
    std::size_t best = 0, n_best = 0;
    std::optional<int> arg;
    for (auto& [l, c] : counts) {
      if (c > best) {
        best = c;
        arg = l;
        n_best = 1;
      } else if (c == best) {
        ++n_best;
      }
    }
    const std::size_t k = o.threshold ? o.threshold : (o.window_seconds > 0 ? w.size() : o.window) / 2 + 1;
    if (n_best > 1 || best < k || arg == decision) return std::nullopt;
    decision = arg;
    switched = true;
    switch_time = t;
    switch_frame = f;
    return arg;
  }
};

TEST(MajorityVote, MatchesReferenceOnRandomStreams) {
  std::mt19937 rng(12345);
  auto uni = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  std::size_t total_events = 0;
  for (int stream = 0; stream < 2000; ++stream) {
    VoteOptions o;
    o.window = 1 + uni(15);
    o.threshold = uni(3) == 0 ? 1 + uni(static_cast<std::uint32_t>(o.window)) : 0;
    o.min_confidence = uni(2) ? 0.0 : 0.1 * uni(8);
    if (uni(3) == 0) {
      o.window_seconds = 0.2 + 0.1 * uni(20);
      o.window = 8 + uni(40);
      o.threshold = uni(3) == 0 ? 1 + uni(5) : 0;
      o.min_frames = 1 + uni(4);
    }
    if (uni(4) == 0) o.holdoff_frames = uni(6);
    if (uni(4) == 0) o.holdoff_seconds = 0.05 * uni(10);
    wastenet::MajorityVote<int> v(o);
    ReferenceVote ref{o, {}, {}, false, 0, 0, 0};
    double t = 0;
    const int labels = 2 + static_cast<int>(uni(3));
    int sticky = 0;
    for (int i = 0; i < 300; ++i) {
      t += 0.01 * (1 + uni(10));  // irregular frame times
      if (uni(6) == 0) sticky = static_cast<int>(uni(static_cast<std::uint32_t>(labels)));  // objects come and go
      std::optional<int> l = uni(5) == 0 ? std::optional<int>(static_cast<int>(uni(static_cast<std::uint32_t>(labels)))) : std::optional<int>(sticky);
      if (uni(10) == 0) l.reset();
      const double conf = 0.01 * uni(101);
      const auto got = v.update(l, conf, t);
      const auto want = ref.update(l, conf, t);
      ASSERT_EQ(got.has_value(), want.has_value()) << "stream " << stream << " frame " << i;
      if (got) {
        ASSERT_EQ(got->current, *want) << "stream " << stream << " frame " << i;
        ++total_events;
      }
      ASSERT_EQ(v.decision(), ref.decision);
    }
  }
  EXPECT_GT(total_events, 1000u);  // the streams exercise switching, not just silence
}

}  // namespace
