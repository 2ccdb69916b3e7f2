// tokenize: text to token ids and back with a llama2.c tokenizer file (tok512.bin, tokenizer.bin),
// exactly as llama2.c run.c encodes and decodes (model/llm/tokenizer.h).
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/llm/tokenizer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <span>
#include <sstream>
#include <string>

namespace {

constexpr const char* kUsage = R"(usage: tokenize --tokenizer T.bin [--no-bos] [--eos] [FILE | -]
       tokenize --tokenizer T.bin --decode [--no-bos] [FILE | -]

Encodes the text of FILE (standard input for - or no FILE) as llama2.c run.c does: BOS first
(unless --no-bos), a dummy-prefix space, UTF-8 code points with byte fallback, highest-score pair
merges; EOS last with --eos. Prints one id per line.
With --decode, reads whitespace-separated ids and prints their text (as run.c decodes: the
leading space after BOS stripped, <0xHH> tokens as raw bytes). A leading BOS id is not printed;
without one the ids are taken to follow BOS unless --no-bos, so `tokenize F | tokenize --decode`
prints F again.
)";

std::string read_input(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return text;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fq::fail("{}: cannot open: {}", path, std::strerror(errno));
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) fq::fail("{}: read error", path);
  return text;
}

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"help", "no-bos", "eos", "decode"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string tok_path = cl.required("tokenizer");
  const bool bos = !cl.flag("no-bos"), eos = cl.flag("eos"), decode = cl.flag("decode");
  const auto files = cl.positional();
  cl.finish();
  if (files.size() > 1) fq::fail("expected at most one input file (see --help)");
  if (decode && eos) fq::fail("--eos applies to encoding, not to --decode");
  const std::string input = files.empty() ? "-" : files.front();
  const auto tok = fq::llm::Tokenizer::load(tok_path);
  const std::string text = read_input(input);
  const std::string where = input == "-" ? std::string("standard input") : input;
  if (decode) {
    std::vector<int> ids;
    std::istringstream in(text);
    std::string word;
    for (size_t n = 0; in >> word; ++n) {
      char* end = nullptr;
      errno = 0;
      const long v = std::strtol(word.c_str(), &end, 10);
      if (errno != 0 || *end != '\0' || v < 0 || v >= tok.vocab_size()) {
        fq::fail("{}: word {} '{}' is not a token id in [0, {})", where, n + 1, word, tok.vocab_size());
      }
      ids.push_back(static_cast<int>(v));
    }
    // A leading BOS (as `tokenize FILE` prints it) is context, not text, so encode | decode
    // round-trips.
    int prev = bos ? 1 : -1;
    std::span<const int> rest(ids);
    if (!rest.empty() && rest.front() == 1) {
      prev = 1;
      rest = rest.subspan(1);
    }
    const std::string out = tok.decode(rest, prev);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  std::string out;
  for (const int id : tok.encode(text, bos, eos)) out += fmt::format("{}\n", id);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("tokenize", argc, argv, run); }
