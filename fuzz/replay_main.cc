// Replay driver: runs LLVMFuzzerTestOneInput over files, without libFuzzer.
//
// Used by every NAME_regression test and by NAME binaries built without
// --config=fuzz. A target signals a bug by crashing or aborting (as under
// libFuzzer), so a test failure here is exactly a reproducible fuzz finding.

#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void CollectFiles(const std::string& path, std::vector<std::string>* out) {
  if (!IsDirectory(path)) {
    out->push_back(path);
    return;
  }
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    CollectFiles(path + "/" + name, out);
  }
  closedir(dir);
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    // libFuzzer-style flags (-runs=, -dict=, ...) are accepted and ignored so
    // the same command line works against either build.
    if (argv[i][0] == '-') continue;
    CollectFiles(argv[i], &files);
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: no input files given; nothing was tested\n");
    return 2;
  }
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
      return 2;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
    // A copy into an exact-size heap buffer lets ASan see reads past the end.
    std::vector<uint8_t> exact(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
  }
  std::printf("replay: %zu inputs ran without a crash\n", files.size());
  return 0;
}
