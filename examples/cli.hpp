// Shared command-line handling of the example tools: a strict option parser whose errors name
// the option and what is wrong, and the one-line error/exit convention.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "wastenet/error.hpp"

namespace wastenet::cli {

/// Parsed arguments: options by name (without "--"), flags, and positional arguments.
struct Args {
  std::map<std::string, std::string> options;
  std::set<std::string> flags;
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return options.count(name) || flags.count(name); }
  std::string get(const std::string& name, const std::string& fallback = {}) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }

  /// An integer option within [lo, hi]; ArgumentError naming the option otherwise.
  long get_int(const std::string& name, long fallback, long lo, long hi) const {
    auto it = options.find(name);
    if (it == options.end()) return fallback;
    const std::string& s = it->second;
    char* end = nullptr;
    errno = 0;
    const long v = s.empty() ? 0 : std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
      throw ArgumentError("--" + name + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                          ", got '" + s + "'");
    }
    return v;
  }
};

/// Parses argv. `with_value` lists options that take a value ("--name value" or "--name=value"),
/// `flags` those that do not. Anything else starting with "--" is an error.
inline Args parse(int argc, const char* const* argv, const std::set<std::string>& with_value,
                  const std::set<std::string>& flags) {
  Args a;
  bool only_positional = false;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i] ? argv[i] : "";
    if (only_positional || s.size() < 2 || s.compare(0, 2, "--") != 0) {
      a.positional.push_back(s);
      continue;
    }
    if (s == "--") {
      only_positional = true;
      continue;
    }
    std::string name = s.substr(2), value;
    const auto eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (with_value.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argc || argv[i + 1] == nullptr) throw ArgumentError("--" + name + " needs a value");
        value = argv[++i];
      }
      a.options[name] = value;
    } else if (flags.count(name)) {
      if (inline_value) throw ArgumentError("--" + name + " takes no value");
      a.flags.insert(name);
    } else {
      throw ArgumentError("unknown option --" + name + " (see --help)");
    }
  }
  return a;
}

/// The tools' main(): runs `run`, and turns any exception into one line "<tool>: <what>" on stderr
/// and exit status 1.
template <class Run>
int run_tool(const char* tool, int argc, char** argv, Run run) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
    return 1;
  }
}

}  // namespace wastenet::cli
