// wastenet/vote.hpp - a majority-vote debouncer for a stream of per-frame predictions, and the
// latency model that sizes its window. Standard library only.
//
// A camera classifier is wrong on single frames (motion blur, glare, an arm in view). The published
// smart bin kept its last N = 10 predictions and moved the servo only when a label held the
// majority, floor(N/2) + 1 = 6 of them: single-frame glitches never switch the decision, and an
// object that stays in view signals once.
//
//   wastenet::MajorityVote<std::string> vote({/*window=*/10});
//   for (;;) {
//     auto p = classify(frame);
//     if (auto e = vote.update(p.label, p.confidence, now_seconds())) actuate(*e->current);
//   }
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace wastenet {

/// A debouncer or latency-model parameter out of its range.
class VoteError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Options of MajorityVote. The defaults are the published system's: the last 10 frames, a switch
/// at 6 agreeing frames, no confidence gate, no hold-off.
struct VoteOptions {
  /// N: the window in frames. With `window_seconds` set it is the capacity: when more frames than
  /// this arrive within the time window, the oldest are dropped.
  std::size_t window = 10;
  /// K: votes a label needs to become the decision. 0 means the strict majority: floor(N/2) + 1
  /// for a count window, floor(n/2) + 1 of the n frames currently in a time window.
  std::size_t threshold = 0;
  /// Predictions with a confidence below this count as "no object" (in [0, 1]).
  double min_confidence = 0.0;
  /// > 0: the window is the frames of the last `window_seconds` seconds instead of the last N.
  double window_seconds = 0.0;
  /// Time window only: no decision is taken while fewer frames than this are in the window.
  std::size_t min_frames = 1;
  /// After a switch, no further switch for this long / this many frames.
  double holdoff_seconds = 0.0;
  std::size_t holdoff_frames = 0;
};

/// Majority-vote debouncer over labels of type `Label` (any copyable type with ==).
///
/// The window holds, per frame, a label or "no object" (a frame below `min_confidence`, or one
/// passed as `std::nullopt`). "No object" is a candidate like any label, so the decision returns
/// to it when the bin is empty; construct with a `background` label to have that state reported
/// as a label instead. update() returns an event only when the decision changes, so one object
/// in view gives one event. A tie for the most votes never changes the decision. No allocation
/// after construction.
template <class Label>
class MajorityVote {
 public:
  /// The decision changed.
  struct Event {
    std::optional<Label> previous;  // std::nullopt: no object
    std::optional<Label> current;
    double time = 0.0;              // timestamp of the frame that caused the switch
    std::uint64_t frame = 0;        // 0-based index of that frame among all update() calls
    std::size_t votes = 0;          // frames in the window voting for `current`
    std::size_t window_frames = 0;  // frames in the window
  };

  explicit MajorityVote(const VoteOptions& options = {}, std::optional<Label> background = std::nullopt)
      : opt_(options), background_(std::move(background)) {
    if (opt_.window == 0) throw VoteError("MajorityVote: window (N) must be at least 1");
    if (opt_.window_seconds == 0.0 && opt_.threshold > opt_.window) {
      throw VoteError("MajorityVote: threshold K = " + std::to_string(opt_.threshold) + " exceeds window N = " +
                      std::to_string(opt_.window) + ", so no label could ever be decided");
    }
    if (!(opt_.min_confidence >= 0.0 && opt_.min_confidence <= 1.0)) {
      throw VoteError("MajorityVote: min_confidence must be in [0, 1], got " + std::to_string(opt_.min_confidence));
    }
    if (!(opt_.window_seconds >= 0.0) || !std::isfinite(opt_.window_seconds)) {
      throw VoteError("MajorityVote: window_seconds must be finite and >= 0");
    }
    if (!(opt_.holdoff_seconds >= 0.0) || !std::isfinite(opt_.holdoff_seconds)) {
      throw VoteError("MajorityVote: holdoff_seconds must be finite and >= 0");
    }
    if (opt_.min_frames == 0) throw VoteError("MajorityVote: min_frames must be at least 1");
    if (opt_.window_seconds > 0.0 && opt_.min_frames > opt_.window) {
      throw VoteError("MajorityVote: min_frames exceeds the window capacity");
    }
    ring_.resize(opt_.window);
    reset();
  }

  /// Adds one frame's prediction. `label` std::nullopt means "no object"; `time` in seconds must
  /// not decrease. Returns the event if the decision changed.
  std::optional<Event> update(const std::optional<Label>& label, double confidence, double time) {
    if (!std::isfinite(time)) throw VoteError("MajorityVote::update: time must be finite");
    if (frames_ > 0 && time < last_time_) {
      throw VoteError("MajorityVote::update: time went backwards (" + std::to_string(time) + " < " +
                      std::to_string(last_time_) + ")");
    }
    if (!(confidence >= 0.0 && confidence <= 1.0)) {
      throw VoteError("MajorityVote::update: confidence must be in [0, 1], got " + std::to_string(confidence));
    }
    last_time_ = time;
    const std::uint64_t frame = frames_++;
    // Evict what has left a time window, then make room in the ring.
    if (opt_.window_seconds > 0.0) {
      while (count_ > 0 && time - at(0).time >= opt_.window_seconds) pop_front();
    }
    if (count_ == ring_.size()) pop_front();
    Slot& s = ring_[(head_ + count_) % ring_.size()];
    s.time = time;
    s.label = confidence >= opt_.min_confidence ? label : std::nullopt;
    if (!s.label && background_) s.label = background_;
    ++count_;

    if (count_ < (opt_.window_seconds > 0.0 ? opt_.min_frames : 1)) return std::nullopt;
    if (switched_ && (time - switch_time_ < opt_.holdoff_seconds || frame - switch_frame_ < opt_.holdoff_frames)) {
      return std::nullopt;
    }
    // The label with the most votes, if unique.
    std::size_t best_votes = 0, best_index = 0;
    bool tie = false;
    for (std::size_t i = 0; i < count_; ++i) {
      const std::optional<Label>& l = at(i).label;
      bool seen_before = false;
      for (std::size_t j = 0; j < i && !seen_before; ++j) seen_before = at(j).label == l;
      if (seen_before) continue;
      std::size_t votes = 0;
      for (std::size_t j = i; j < count_; ++j) votes += at(j).label == l;
      if (votes > best_votes) {
        best_votes = votes;
        best_index = i;
        tie = false;
      } else if (votes == best_votes) {
        tie = true;
      }
    }
    const std::optional<Label>& best = at(best_index).label;
    if (tie || best_votes < threshold() || best == decision_) return std::nullopt;
    Event e{decision_, best, time, frame, best_votes, count_};
    decision_ = best;
    switched_ = true;
    switch_time_ = time;
    switch_frame_ = frame;
    return e;
  }

  /// The current decision (std::nullopt: no object, or nothing decided yet).
  const std::optional<Label>& decision() const noexcept { return decision_; }
  /// Frames currently in the window.
  std::size_t window_frames() const noexcept { return count_; }
  /// K for the current window contents.
  std::size_t threshold() const noexcept {
    if (opt_.threshold) return opt_.threshold;
    return (opt_.window_seconds > 0.0 ? count_ : opt_.window) / 2 + 1;
  }
  const VoteOptions& options() const noexcept { return opt_; }

  /// Empties the window and returns the decision to "no object" (or the background label).
  void reset() noexcept {
    head_ = count_ = 0;
    frames_ = 0;
    last_time_ = 0.0;
    switched_ = false;
    switch_time_ = 0.0;
    switch_frame_ = 0;
    decision_ = background_;
  }

 private:
  struct Slot {
    std::optional<Label> label;
    double time = 0.0;
  };
  const Slot& at(std::size_t i) const { return ring_[(head_ + i) % ring_.size()]; }
  void pop_front() {
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }

  VoteOptions opt_;
  std::optional<Label> background_;
  std::vector<Slot> ring_;
  std::size_t head_ = 0, count_ = 0;
  std::uint64_t frames_ = 0;
  double last_time_ = 0.0;
  bool switched_ = false;
  double switch_time_ = 0.0;
  std::uint64_t switch_frame_ = 0;
  std::optional<Label> decision_;
};

// ---------------------------------------------------------------------------------------------
// Latency model

/// Time from the first frame of a new object to the actuator moving, for a window that held
/// another label: the published system's T = K / IPS (K frames must arrive, one every 1/IPS s),
/// plus the actuator's own delay. With N = 10, K = 6 at 17 images/s: 6/17 = 0.353 s (the paper
/// prints 0.354 s), plus 0.646 s of servo = 1.0 s.
///
///   double t = wastenet::switch_latency_seconds(6, 17.0, 0.646);
inline double switch_latency_seconds(std::size_t threshold, double frames_per_second, double actuator_delay_seconds = 0.0) {
  if (threshold == 0) throw VoteError("switch_latency_seconds: threshold K must be at least 1");
  if (!(frames_per_second > 0.0) || !std::isfinite(frames_per_second)) {
    throw VoteError("switch_latency_seconds: frames_per_second must be positive and finite");
  }
  if (!(actuator_delay_seconds >= 0.0)) throw VoteError("switch_latency_seconds: actuator delay must be >= 0");
  return static_cast<double>(threshold) / frames_per_second + actuator_delay_seconds;
}

/// The strict majority of a window of N frames: floor(N/2) + 1.
inline std::size_t majority_threshold(std::size_t window) {
  if (window == 0) throw VoteError("majority_threshold: window N must be at least 1");
  return window / 2 + 1;
}

/// Probability that a window of N frames holds at least K wrong frames when each frame is wrong
/// independently with probability `error_rate`: the binomial tail P(X >= K), X ~ Bin(N, p). This is
/// the worst case of a false switch, where all wrong frames agree on the same wrong label.
inline double false_switch_probability(std::size_t window, std::size_t threshold, double error_rate) {
  if (window == 0) throw VoteError("false_switch_probability: window N must be at least 1");
  if (threshold == 0 || threshold > window) throw VoteError("false_switch_probability: threshold K must be in [1, N]");
  if (!(error_rate >= 0.0 && error_rate <= 1.0)) throw VoteError("false_switch_probability: error_rate must be in [0, 1]");
  if (error_rate == 0.0) return 0.0;
  if (error_rate == 1.0) return 1.0;
  double tail = 0.0;
  for (std::size_t k = threshold; k <= window; ++k) {
    // C(N, k) p^k (1-p)^(N-k), in logs so that large N does not overflow
    const double n = static_cast<double>(window), kk = static_cast<double>(k);
    tail += std::exp(std::lgamma(n + 1) - std::lgamma(kk + 1) - std::lgamma(n - kk + 1) + kk * std::log(error_rate) +
                     (n - kk) * std::log1p(-error_rate));
  }
  return tail > 1.0 ? 1.0 : tail;
}

/// The smallest window N (with K = floor(N/2) + 1) whose false-switch probability for the given
/// per-frame error rate is at most `target`, searching N = 1..max_window. Throws VoteError if none
/// does (an error rate of 0.5 or more never improves with N).
///
///   // a model 95% accurate per frame, at most one false switch in 10,000 windows:
///   std::size_t n = wastenet::smallest_window(0.05, 1e-4);   // 6 (K = 4)
inline std::size_t smallest_window(double error_rate, double target, std::size_t max_window = 101) {
  if (!(error_rate >= 0.0 && error_rate <= 1.0)) throw VoteError("smallest_window: error_rate must be in [0, 1]");
  if (!(target > 0.0 && target <= 1.0)) throw VoteError("smallest_window: target must be in (0, 1]");
  if (max_window == 0) throw VoteError("smallest_window: max_window must be at least 1");
  for (std::size_t n = 1; n <= max_window; ++n) {
    if (false_switch_probability(n, majority_threshold(n), error_rate) <= target) return n;
  }
  throw VoteError("smallest_window: no window up to N = " + std::to_string(max_window) +
                  " keeps the false-switch probability at or below the target for error rate " + std::to_string(error_rate));
}

}  // namespace wastenet
