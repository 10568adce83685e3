// Helpers shared by the tests: where the generated references are, reading raw files.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>

namespace wastenet::test {

inline std::string ref_dir() { return std::string(WASTENET_TEST_DATA) + "/ref"; }
inline std::string shared_dir() { return WASTENET_SHARED_DIR; }
inline std::string source_dir() { return WASTENET_SOURCE_DIR; }

/// The largest |a[i] - b[i]| over n values, NaN if any difference is NaN: a NaN output must fail
/// the tolerance check, and std::max(worst, NaN) would silently keep `worst`.
template <class A, class B>
double max_abs_diff(const A* a, const B* b, std::size_t n) {
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!(d <= worst)) worst = d;  // true for NaN too
  }
  return worst;
}

inline bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

inline std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::vector<float> read_floats(const std::string& path) {
  const auto b = read_bytes(path);
  std::vector<float> v(b.size() / 4);
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

inline void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) lines.push_back(l);
  }
  return lines;
}

/// Exit status and captured output of a command line.
struct CommandResult {
  int status;
  std::string out, err;
};

/// Runs `binary args` with stdin closed, capturing stdout and stderr through files named after `tag`
/// in the test data folder.
inline CommandResult run_command(const std::string& binary, const std::string& args, const std::string& tag) {
  const std::string out = std::string(WASTENET_TEST_DATA) + "/" + tag + "_out.txt";
  const std::string err = std::string(WASTENET_TEST_DATA) + "/" + tag + "_err.txt";
  const std::string cmd = binary + " " + args + " >" + out + " 2>" + err + " </dev/null";
  const int rc = std::system(cmd.c_str());
  const auto o = read_bytes(out), e = read_bytes(err);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, std::string(o.begin(), o.end()), std::string(e.begin(), e.end())};
}

}  // namespace wastenet::test
