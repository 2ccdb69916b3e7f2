// quantize -> write -> read -> decode on every linear layer of the real stories260K checkpoint.
#include "model/ckpt/checkpoint.h"
#include "model/qfile/qfile.h"
#include "model/quant/i_quantizer.h"
#include "model/quant/metrics.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

SCENARIO("stories260K layers survive quantize, write, read and decode unchanged", "[qfile][model]") {
  const auto ckpt = fq::open_checkpoint(fq::test::stories260k());
  const auto dir = fq::test::temp_dir("qfile_stories");
  struct Method {
    const char* name;
    std::map<std::string, std::string> options;
    double min_sqnr_db;  // a floor far below what each method reaches, to catch a broken encoder
  };
  for (const Method& m : {Method{"fineq", {{"policy", "ratio"}}, 6.0}, Method{"fineq", {{"policy", "mse"}}, 6.0},
                          Method{"rtn", {{"bits", "4"}}, 15.0}, Method{"rtn", {{"bits", "8"}}, 35.0},
                          Method{"bfp", {{"bits", "6"}}, 22.0}, Method{"mxfp4", {}, 12.0}, Method{"mxint8", {}, 33.0}}) {
    fq::Params params("test");
    for (const auto& [k, v] : m.options) params.set(k, v);
    const auto q = fq::make_quantizer(m.name, params);
    std::vector<fq::QTensor> written;
    std::vector<std::vector<float>> originals;
    for (const auto& name : fq::select_tensors(*ckpt, "")) {
      const auto& info = *std::find_if(ckpt->tensors().begin(), ckpt->tensors().end(),
                                       [&](const fq::TensorInfo& t) { return t.name == name; });
      originals.push_back(ckpt->load(name));
      const int rows = static_cast<int>(info.shape[0]), cols = static_cast<int>(info.shape[1]);
      written.push_back({name, q->name(), q->describe(), q->encode(originals.back(), rows, cols)});
    }
    REQUIRE(written.size() == 35);
    const auto path = dir / "stories.q";
    fq::write_qfile(path, written);
    const auto back = fq::read_qfile(path);
    REQUIRE(back.size() == written.size());
    for (size_t i = 0; i < back.size(); ++i) {
      INFO(m.name << " " << written[i].name);
      CHECK(back[i].name == written[i].name);
      CHECK(back[i].params == written[i].params);
      CHECK(back[i].matrix.codes == written[i].matrix.codes);
      CHECK(back[i].matrix.scales == written[i].matrix.scales);
      CHECK(fq::decode_all(back[i].matrix) == fq::decode_all(written[i].matrix));
      CHECK(fq::dequantize(back[i].matrix) == fq::dequantize(written[i].matrix));
      const auto metrics = fq::error_metrics(originals[i], back[i].matrix);
      CHECK(metrics.sqnr_db > m.min_sqnr_db);
    }
  }
}
