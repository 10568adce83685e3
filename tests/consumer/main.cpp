// Classifies one image with a model; prints "<arch> <top1>". Exit 0 on success.
#include <cstdio>
#include <exception>

#include <wastenet/wastenet.hpp>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: consumer MODEL IMAGE\n");
    return 2;
  }
  try {
    wastenet::Classifier clf(argv[1], {"", 1, "fit"});
    const auto p = clf.classify(wastenet::read_image(argv[2]));
    std::printf("%s %zu %s\n", clf.info().arch.c_str(), p.top1, wastenet::version_string);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
