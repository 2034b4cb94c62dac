// A real executable plugin for the tests: reads the JSON arguments from stdin and behaves as argv[1] says.
//   sum      {"a":1,"b":2} -> {"sum":3}
//   env      prints its environment, one KEY=value per line
//   hang     sleeps forever (the runtime must kill it at its deadline)
//   orphan   forks a child that sleeps forever holding stdout, writes its pid to ./orphan.pid, then hangs
//   crash    dies of SIGSEGV
//   flood    prints 100 MB
//   fail     prints {"error":"city not found"} and exits 3
//   garbage  prints bytes that are not UTF-8
//   noread   prints ok and exits without reading stdin
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern char** environ;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "sum";
  if (mode == "noread") {  // exits without reading stdin: the runtime's write must not die of SIGPIPE
    std::printf("ok\n");
    return 0;
  }
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (mode == "sum") {
    // Minimal parse of {"a":N,"b":M} (the runtime has validated the schema).
    double a = 0, b = 0;
    const char* pa = std::strstr(input.c_str(), "\"a\":");
    const char* pb = std::strstr(input.c_str(), "\"b\":");
    if (pa) a = std::strtod(pa + 4, nullptr);
    if (pb) b = std::strtod(pb + 4, nullptr);
    std::printf("{\"sum\":%g}\n", a + b);
    return 0;
  }
  if (mode == "env") {
    for (char** e = environ; *e; ++e) std::printf("%s\n", *e);
    return 0;
  }
  if (mode == "hang") {
    for (;;) pause();
  }
  if (mode == "orphan") {
    pid_t child = fork();
    if (child == 0) {
      for (;;) pause();
    }
    if (std::FILE* f = std::fopen("orphan.pid", "w")) {  // in the working directory, for the test to check
      std::fprintf(f, "%d\n", static_cast<int>(child));
      std::fclose(f);
    }
    for (;;) pause();
  }
  if (mode == "crash") {
    std::fprintf(stderr, "about to crash\n");
    std::fflush(stderr);
    signal(SIGSEGV, SIG_DFL);  // under ASan its handler would turn the signal into exit(1)
    raise(SIGSEGV);
    return 0;
  }
  if (mode == "flood") {
    std::vector<char> block(1 << 20, 'x');
    for (int i = 0; i < 100; ++i) {
      if (std::fwrite(block.data(), 1, block.size(), stdout) != block.size()) return 1;
    }
    return 0;
  }
  if (mode == "fail") {
    std::printf("{\"error\":\"city not found\"}\n");
    return 3;
  }
  if (mode == "garbage") {
    std::fwrite("\xff\xfe\x80 not text", 1, 12, stdout);
    return 0;
  }
  return 2;
}
