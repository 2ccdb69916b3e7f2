// fuzz_tokenizer: a llama2.c tokenizer file is parsed; whatever parses encodes a fixed text, the
// input's own first bytes (valid and invalid UTF-8) and a text made of its own pieces (which needs
// no byte fallback), and decodes what it produced and every id of the vocabulary, as `tokenize`
// and `evaluate --text` do.
#include "fuzz/targets.h"

#include "model/core/error.h"
#include "model/llm/tokenizer.h"

#include <string>
#include <string_view>

namespace fq::fuzz {

int tokenizer(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto tok = llm::Tokenizer::parse(bytes, "fuzz.bin");
    std::string own;
    for (int id = 3; id < tok.vocab_size() && own.size() < 256; ++id) own += tok.piece(id);
    for (const std::string_view text : {std::string_view("Once upon a time, <0x41> \xc3\xa9t\xc3\xa9 \xff\xfe\x80 end"),
                                        bytes.substr(0, 64), std::string_view(own)}) {
      try {
        const auto ids = tok.encode(text, true, true);
        (void)tok.decode(ids);
      } catch (const Error&) {  // e.g. a byte without a byte token: a property of the vocabulary
      }
    }
    for (int id = 0; id < tok.vocab_size() && id < 4096; ++id) (void)tok.decode_piece(1, id);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace fq::fuzz
