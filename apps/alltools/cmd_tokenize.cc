// `alltools tokenize`: encode text, decode ids, or check a golden-encodings file against a tokenizer.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/alltools/command.h"
#include "model/tokenizer.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: alltools tokenize --tokenizer PATH --check FILE.jsonl\n"
               "       alltools tokenize --tokenizer PATH [--special] [TEXT | -]\n"
               "       alltools tokenize --tokenizer PATH --decode ID...\n\n"
               "PATH is a model folder (tokenizer.model or tokenizer.json) or one of those files.\n"
               "  --check F   encode the \"text\" of each JSON line of F (special-token strings become special ids only\n"
               "              where the line has \"allow_special\": true) and compare with its \"ids\"; also checks that\n"
               "              decoding gives the text back. Prints the number of mismatching lines and the first\n"
               "              difference. Exit status 0 if all match, 1 otherwise.\n"
               "  TEXT | -    encode TEXT (or standard input for '-' or no TEXT) and print the ids, space-separated.\n"
               "              Ordinary encoding: \"<|user|>\" in the text is plain text unless --special is given.\n"
               "  --decode    print the bytes of the ids (special tokens as their strings).\n"
               "Exit status: 0 success, 1 mismatch or load failure, 2 bad usage.\n");
}

std::string join_ids(const std::vector<alltools::model::TokenId>& ids, std::size_t from, std::size_t count) {
  std::string out;
  for (std::size_t i = from; i < ids.size() && i < from + count; ++i) out += (out.empty() ? "" : " ") + std::to_string(ids[i]);
  return out;
}

int check(const alltools::model::Tokenizer& tok, const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "tokenize: cannot open %s\n", file.c_str());
    return 1;
  }
  std::string line;
  std::size_t line_number = 0, lines = 0, mismatches = 0;
  std::string first;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    ++lines;
    std::string text;
    std::vector<alltools::model::TokenId> want;
    bool special = false;
    std::string tag;
    try {
      const auto j = nlohmann::json::parse(line);
      text = j.at("text").get<std::string>();
      want = j.at("ids").get<std::vector<alltools::model::TokenId>>();
      special = j.value("allow_special", false);
      tag = j.value("tag", std::string());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tokenize: %s:%zu: not a {\"text\", \"ids\"} JSON line: %s\n", file.c_str(), line_number, e.what());
      return 1;
    }
    const auto got = special ? tok.encode_with_special(text) : tok.encode(text);
    std::string problem;
    if (got != want) {
      std::size_t i = 0;
      while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
      const std::size_t from = i >= 3 ? i - 3 : 0;
      problem = "ids differ at index " + std::to_string(i) + ": got [" + join_ids(got, from, 8) + "], want [" +
                join_ids(want, from, 8) + "] (from index " + std::to_string(from) + "; lengths " +
                std::to_string(got.size()) + " vs " + std::to_string(want.size()) + ")";
    } else if (tok.decode_bytes(got) != text) {
      problem = "decode(encode(text)) != text";
    }
    if (!problem.empty()) {
      ++mismatches;
      if (first.empty()) first = file + ":" + std::to_string(line_number) + (tag.empty() ? "" : " (" + tag + ")") + ": " + problem;
    }
  }
  std::printf("%zu lines, %zu mismatching\n", lines, mismatches);
  if (!first.empty()) std::printf("first difference: %s\n", first.c_str());
  return mismatches == 0 ? 0 : 1;
}

int run_tokenize(int argc, char** argv) {
  std::string tokenizer_path, check_file;
  bool special = false, decode = false;
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "--tokenizer" || arg == "--check") {
      const char* v = alltools::app::flag_value(argc, argv, i, "tokenize");
      if (v == nullptr) {
        usage(stderr);
        return 2;
      }
      (arg == "--tokenizer" ? tokenizer_path : check_file) = v;
    } else if (arg == "--special") {
      special = true;
    } else if (arg == "--decode") {
      decode = true;
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-" && !(decode && std::isdigit(static_cast<unsigned char>(arg[1])))) {
      std::fprintf(stderr, "tokenize: unknown option %s\n\n", arg.c_str());
      usage(stderr);
      return 2;
    } else {
      rest.push_back(arg);
    }
  }
  if (tokenizer_path.empty()) {
    std::fprintf(stderr, "tokenize: --tokenizer PATH is required\n\n");
    usage(stderr);
    return 2;
  }
  auto tok = alltools::model::load_tokenizer(tokenizer_path);
  if (!tok.ok()) {
    std::fprintf(stderr, "tokenize: %s\n", tok.error().message.c_str());
    return 1;
  }
  if (!check_file.empty()) return check(**tok, check_file);
  if (decode) {
    std::vector<alltools::model::TokenId> ids;
    for (const auto& r : rest) {
      char* end = nullptr;
      const long v = std::strtol(r.c_str(), &end, 10);
      if (r.empty() || *end != '\0') {
        std::fprintf(stderr, "tokenize: --decode takes integer ids, got '%s'\n", r.c_str());
        return 2;
      }
      ids.push_back(static_cast<alltools::model::TokenId>(v));
    }
    const std::string bytes = (*tok)->decode_bytes(ids);
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::printf("\n");
    return 0;
  }
  std::string text;
  if (rest.empty() || (rest.size() == 1 && rest[0] == "-")) {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    for (std::size_t i = 0; i < rest.size(); ++i) text += (i ? " " : "") + rest[i];
  }
  const auto ids = special ? (*tok)->encode_with_special(text) : (*tok)->encode(text);
  std::printf("%s\n", join_ids(ids, 0, ids.size()).c_str());
  return 0;
}

}  // namespace

ALLTOOLS_COMMAND("tokenize", "encode text / decode ids / check golden encodings", run_tokenize);
