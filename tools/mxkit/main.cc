// mxkit: see tools/mxkit/README.md and `mxkit --help`.

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "tools/mxkit/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto read_stdin = [] {
    std::string input;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
      input.append(buf, n);
      // Stop reading past the bound; Run reports the size error.
      if (input.size() > mxkit::cli::kMaxInputBytes) break;
    }
    return input;
  };
  return mxkit::cli::Run(args, read_stdin, std::cout, std::cerr);
}
