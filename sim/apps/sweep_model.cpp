// sweep --model: the co-design sweep of quantizer × architecture (docs/sweep.md "Quantizer x
// architecture"). Each point quantizes the model's decoder linears with its quant.* keys, measures
// the integer path's perplexity on real text (docs/accuracy.md protocol: the first --chunks chunks),
// and times a prefill and decode of the resulting codes on its architecture (sim/model_run.h
// time_model: cycles and energy are exact, they do not depend on activation values). Quantized
// models and their perplexities are computed once per quantizer configuration.
#include "sim/apps/sweep_core.h"

#include "model/arch/arch_config.h"
#include "model/arch/pe_model.h"
#include "model/ckpt/hf_checkpoint.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/core/parallel.h"
#include "model/core/progress.h"
#include "model/cost/cost_model.h"
#include "model/llm/eval_metrics.h"
#include "model/llm/int_path.h"
#include "model/llm/llama.h"
#include "model/llm/text_corpus.h"
#include "model/llm/tokenizer.h"
#include "model/quant/i_quantizer.h"
#include "model/quant/metrics.h"
#include "sim/model_run.h"
#include "sim/sweep_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

namespace fq::sweep {
namespace {

const char* const kModelMetrics[] = {"perplexity",          "bits_per_weight",       "prefill_cycles_per_token",
                                     "prefill_pj_per_token", "decode_cycles_per_token", "decode_s_per_token",
                                     "decode_tokens_per_s",  "decode_pj_per_token",   "area_um2"};

std::string quoted(const std::string& s) {
  std::string q(1, '"');
  for (char c : s) {
    if (c == '"') q.push_back('"');
    q.push_back(c == '\n' ? ' ' : c);
  }
  q.push_back('"');
  return q;
}

bool is_quant_key(const std::string& key) { return key.rfind("quant.", 0) == 0; }

// The quantizer configuration of a point: quant.method and the quant.* options.
struct QuantConfig {
  std::string method;
  std::vector<std::pair<std::string, std::string>> options;
  std::string key() const {
    std::string k = method;
    for (const auto& [o, v] : options) k += fmt::format(" {}={}", o, v);
    return k;
  }
};

// One quantized model and what does not depend on the architecture.
struct Quantized {
  std::string error;  // non-empty: every point of this configuration is invalid with this reason
  llm::IntPathModel model;
  double perplexity = 0, bits_per_weight = 0;
};

struct ModelSweep {
  std::string model_path, tokenizer_path, text_path, arch_path, costs_path;
  int chunks = 50, prompt_length = 32, generate = 32;
  uint64_t seed = 1;
  bool plots = true;
  std::vector<std::string> fixed;  // single-valued: arch KEY=V and quant.KEY=V
  std::vector<Axis> axes;
  std::vector<std::vector<std::string>> points;
  std::string header;
};

// A point's quantizer configuration and arch overrides.
void split_point(const ModelSweep& s, const std::vector<std::string>& values, QuantConfig& q,
                 std::vector<std::string>& overrides) {
  std::vector<std::pair<std::string, std::string>> all;
  for (const auto& f : s.fixed) all.emplace_back(f.substr(0, f.find('=')), f.substr(f.find('=') + 1));
  for (size_t i = 0; i < s.axes.size(); ++i) all.emplace_back(s.axes[i].key, values[i]);
  for (const auto& [k, v] : all) {
    if (k == "quant.method") {
      q.method = v;
    } else if (is_quant_key(k)) {
      q.options.emplace_back(k.substr(6), v);
    } else {
      overrides.push_back(k + "=" + v);
    }
  }
  std::sort(q.options.begin(), q.options.end());
}

Quantized quantize(const llm::LlamaWeights& fp32, const QuantConfig& q, const std::vector<std::vector<int>>& text) {
  Quantized out;
  try {
    Params p(fmt::format("sweep quant.method={}", q.method));
    for (const auto& [o, v] : q.options) p.set(o, v);
    out.model = llm::make_int_path(fp32, q.method, p);
    double bits = 0, weights = 0;
    for (const QTensor& t : out.model.linears) {
      const double n = static_cast<double>(t.matrix.rows) * t.matrix.cols;
      bits += bits_per_weight(t.matrix) * n;
      weights += n;
    }
    out.bits_per_weight = bits / weights;
    out.perplexity = llm::perplexity(out.model.weights, text, llm::int_path_hooks(out.model));
  } catch (const Error& e) {
    out.error = e.what();
  }
  return out;
}

// What a row says about one point.
std::string evaluate(const ModelSweep& s, const cost::CostTables& tables, const Quantized& q,
                     const std::vector<std::string>& overrides) {
  if (!q.error.empty()) throw Error(q.error);
  const ArchConfig arch = load_arch(s.arch_path, overrides);
  const PeModel& pe = pe_model(arch);
  const HwFormat codes = q.model.linears.front().matrix.format;
  if (!pe.runs(arch, codes)) {
    fail("{} codes do not run on {} ({} weights)", format_name(codes), pe.describe(arch),
         format_name(pe.weight_format(arch)));
  }
  const cost::CostModel costs(tables, arch);
  sim::TimingOnlyModel tm;
  tm.name = std::filesystem::path(s.model_path).filename().string();
  tm.config = q.model.weights.config;
  tm.method = q.model.method;
  tm.options = q.model.options;
  tm.layer_codes = [&q](int layer) {
    const auto first = q.model.linears.begin() + layer * static_cast<int>(llm::kIntPathLinears.size());
    return std::vector<QTensor>(first, first + static_cast<int>(llm::kIntPathLinears.size()));
  };
  const sim::ModelReport r = sim::time_model(arch, costs, tm, s.prompt_length, s.generate, s.seed);
  double dc = 0, de = 0;
  for (const auto& step : r.decode) {
    dc += static_cast<double>(step.cycles());
    de += step.energy_pj();
  }
  dc /= static_cast<double>(r.decode.size());
  de /= static_cast<double>(r.decode.size());
  const double ds = dc / (arch.clock_mhz * 1e6);
  return fmt::format("ok,,{:.9g},{:.6g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g}", q.perplexity, q.bits_per_weight,
                     static_cast<double>(r.prefill.cycles()) / s.prompt_length, r.prefill.energy_pj() / s.prompt_length,
                     dc, ds, ds > 0 ? 1 / ds : 0.0, de, costs.area_um2().total);
}

// FILE.gp: perplexity against decode energy per token, every valid point, the Pareto front joined
// and labelled with its configurations (FILE-pareto.dat), and the points in sweep order joined per
// value of the first key; axes scaled to the data (logarithmic only when they span over 20x).
void write_model_plots(const ModelSweep& s, const std::string& out_path) {
  const std::string base = out_path.size() > 4 && out_path.substr(out_path.size() - 4) == ".csv"
                               ? out_path.substr(0, out_path.size() - 4)
                               : out_path;
  struct Pt {
    double e, ppl;
    std::string label;
  };
  std::vector<Pt> pts;
  const size_t n = s.axes.size();
  for (const auto& row : sim::parse_sweep_csv(read_text(out_path), s.header, n, out_path).rows) {
    if (row.cells[n] != "ok") continue;
    std::string label;
    for (size_t i = 0; i < n; ++i) label += fmt::format("{}{}={}", i ? " " : "", s.axes[i].key, row.cells[i]);
    pts.push_back({std::stod(row.cells[n + 2 + 7]), std::stod(row.cells[n + 2]), label});
  }
  if (pts.empty()) {
    fmt::print("no valid point to plot\n");
    return;
  }
  std::vector<Pt> front = pts;
  std::sort(front.begin(), front.end(), [](const Pt& a, const Pt& b) { return a.e < b.e || (a.e == b.e && a.ppl < b.ppl); });
  std::vector<Pt> kept;
  for (const Pt& p : front) {
    if (kept.empty() || p.ppl < kept.back().ppl) kept.push_back(p);
  }
  const std::string dat = base + "-pareto.dat";
  {
    std::ofstream f(dat);
    for (const Pt& p : kept) f << fmt::format("{:.9g},{:.9g},\"{}\"\n", p.e, p.ppl, p.label);
  }
  auto range = [](double lo, double hi, bool& log) {
    log = hi > 20 * lo && lo > 0;
    const double pad = log ? 1.15 : 0.06 * std::max(hi - lo, 1e-12 * std::abs(hi) + 1e-30);
    return log ? fmt::format("[{:.6g}:{:.6g}]", lo / pad, hi * pad) : fmt::format("[{:.6g}:{:.6g}]", lo - pad, hi + pad);
  };
  double emin = 1e300, emax = -1e300, pmin = 1e300, pmax = -1e300;
  for (const Pt& p : pts) {
    emin = std::min(emin, p.e), emax = std::max(emax, p.e), pmin = std::min(pmin, p.ppl), pmax = std::max(pmax, p.ppl);
  }
  bool logx = false, logy = false;
  const std::string xr = range(emin, emax, logx), yr = range(pmin, pmax, logy);
  const std::string gp = base + ".gp";
  std::ofstream g(gp);
  g << "# gnuplot script written by sweep --model: gnuplot " << gp << "\n";
  g << "set datafile separator ','\nset terminal pngcairo size 1000,700\nset key outside\nset grid\nset format x '%.4g'\n";
  g << fmt::format("set output '{}-pareto.png'\nset title '{}: perplexity against decode energy per token'\n", base,
                   std::filesystem::path(s.model_path).filename().string());
  g << fmt::format("set xlabel 'decode energy per token (pJ)'\nset ylabel 'perplexity ({} chunks of {})'\n", s.chunks,
                   std::filesystem::path(s.text_path).filename().string());
  g << (logx ? "set logscale x\n" : "unset logscale x\n") << (logy ? "set logscale y\n" : "unset logscale y\n");
  g << fmt::format("set xrange {}\nset yrange {}\n", xr, yr);
  const size_t status = n + 1, e_col = n + 3 + 7, p_col = n + 3;
  const std::string ok = fmt::format("(stringcolumn({}) eq \"ok\" ? ${{}} : NaN)", status);
  g << "plot ";
  if (n >= 2) {  // series in sweep order: one per value of the first key
    for (size_t v = 0; v < s.axes[0].values.size(); ++v) {
      g << fmt::format("'{}' using (stringcolumn(1) eq '{}' ? {} : NaN):{} with linespoints title '{}={}', ", out_path,
                       s.axes[0].values[v], fmt::format(fmt::runtime(ok), e_col), fmt::format(fmt::runtime(ok), p_col),
                       s.axes[0].key, s.axes[0].values[v]);
    }
  } else {
    g << fmt::format("'{}' using {}:{} with linespoints title 'points', ", out_path, fmt::format(fmt::runtime(ok), e_col),
                     fmt::format(fmt::runtime(ok), p_col));
  }
  g << fmt::format("'{}' using 1:2 with lines lw 2 dt 2 title 'Pareto front', '{}' using 1:2:3 with labels "
                   "offset 1,0.6 left font ',8' notitle\n",
                   dat, dat);
  g.close();
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    if (std::system(fmt::format("gnuplot '{}' > '{}.log' 2>&1", gp, base).c_str()) == 0) {
      fmt::print("wrote {} and {}-pareto.png ({} points on the front)\n", gp, base, kept.size());
      std::filesystem::remove(base + ".log");
    } else {
      fmt::print("wrote {}; gnuplot failed (see {}.log)\n", gp, base);
    }
  } else {
    fmt::print("wrote {} (install gnuplot to render it)\n", gp);
  }
}

}  // namespace

int run_model_sweep(CommandLine& cl, const std::string& arch_path, const std::string& out_path,
                    const std::vector<std::string>& fixed, const std::vector<Axis>& axes) {
  ModelSweep s;
  s.model_path = cl.required("model");
  s.tokenizer_path = cl.required("tokenizer");
  s.text_path = cl.required("text");
  s.arch_path = arch_path;
  s.fixed = fixed;
  s.axes = axes;
  s.costs_path = cl.value("costs").value_or(cost::default_cost_tables_path());
  s.plots = !cl.flag("no-plots");
  Params numbers("--model");
  numbers.set("chunks", cl.value("chunks").value_or("50"));
  numbers.set("prompt-length", cl.value("prompt-length").value_or("32"));
  numbers.set("generate", cl.value("generate").value_or("32"));
  numbers.set("seed", cl.value("seed").value_or("1"));
  s.chunks = static_cast<int>(numbers.get_int("chunks", 50, 1, 1 << 20));
  s.prompt_length = static_cast<int>(numbers.get_int("prompt-length", 32, 1, 1 << 20));
  s.generate = static_cast<int>(numbers.get_int("generate", 32, 2, 1 << 20));
  s.seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  for (const char* other : {"layer", "gemm", "topology", "tokens", "backend", "jobs"}) {
    if (cl.value(other)) fail("--{} is not an option of sweep --model (the workload is the model's linears)", other);
  }
  cl.finish();
  if (s.axes.empty()) fail("give at least one --set KEY=V1,V2,... with two or more values to sweep");
  // Keys: quant.method and quant.OPTION, or an architecture key (checked now, not as N invalid rows).
  std::set<std::string> known;
  for (const auto& [k, d] : arch_key_paths()) known.insert(k);
  bool method = false;
  for (const auto& a : s.axes) method |= a.key == "quant.method";
  for (const auto& f : s.fixed) method |= f.rfind("quant.method=", 0) == 0;
  if (!method) fail("sweep --model needs quant.method (--set quant.method=fineq or a list)");
  for (const auto& a : s.axes) {
    if (!is_quant_key(a.key) && !known.count(a.key)) {
      fail("--set '{}': unknown key; quant.method, quant.OPTION (quantizer options) or an architecture key: {}", a.key,
           fmt::join(known, ", "));
    }
  }
  load_arch(s.arch_path, [&] {
    std::vector<std::string> o;
    for (const auto& f : s.fixed) {
      if (!is_quant_key(f)) o.push_back(f);
    }
    return o;
  }());
  s.points.assign(1, {});
  for (const auto& a : s.axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& p : s.points) {
      for (const auto& v : a.values) {
        auto q = p;
        q.push_back(v);
        next.push_back(q);
      }
    }
    s.points = next;
  }
  for (const auto& a : s.axes) s.header += a.key + ",";
  s.header += "status,reason";
  for (const char* m : kModelMetrics) s.header += fmt::format(",{}", m);

  // Every quantizer configuration is built once up front: if none is accepted, an option is
  // misspelt (not a design point), and nothing is written.
  {
    std::set<std::string> seen;
    std::string first_error;
    bool any = false;
    for (const auto& values : s.points) {
      QuantConfig q;
      std::vector<std::string> overrides;
      split_point(s, values, q, overrides);
      if (!seen.insert(q.key()).second) continue;
      try {
        Params p(fmt::format("sweep quant.method={}", q.method));
        for (const auto& [o, v] : q.options) p.set(o, v);
        make_quantizer(q.method, p);
        any = true;
      } catch (const Error& e) {
        if (first_error.empty()) first_error = e.what();
      }
    }
    if (!any) fail("every quantizer configuration is rejected; the first: {}", first_error);
  }

  // The model and the text.
  const llm::LlamaWeights fp32 = llm::load_llama(*open_model_checkpoint(s.model_path));
  const auto tok = llm::Tokenizer::load(s.tokenizer_path);
  if (tok.vocab_size() != fp32.config.vocab_size) {
    fail("{}: {} tokens, but {} has a vocabulary of {}", s.tokenizer_path, tok.vocab_size(), s.model_path,
         fp32.config.vocab_size);
  }
  const auto corpus = llm::TextCorpus::load(s.text_path);
  const auto text = llm::encode_chunks(tok, corpus, llm::evaluation_range(corpus, s.chunks), fp32.config.seq_len);

  // Resume: the points already in the file.
  std::set<std::string> done;
  std::vector<std::string> lines;
  if (std::filesystem::exists(out_path)) {
    for (auto& row : sim::parse_sweep_csv(read_text(out_path), s.header, s.axes.size(), out_path).rows) {
      done.insert(sim::sweep_point_key(row.cells, s.axes.size()));
      lines.push_back(std::move(row.line));
    }
  }
  {
    std::ofstream out(out_path, std::ios::trunc);  // rewrite without any partial last row
    out << s.header << "\n";
    for (const auto& l : lines) out << l << "\n";
    if (!out) fail("{}: cannot write", out_path);
  }
  std::vector<size_t> todo;
  for (size_t i = 0; i < s.points.size(); ++i) {
    if (!done.count(sim::sweep_point_key(s.points[i], s.axes.size()))) todo.push_back(i);
  }
  fmt::print("sweep --model: {} points, {} already in {}, {} to run; perplexity on {} chunks of {}\n", s.points.size(),
             s.points.size() - todo.size(), out_path, todo.size(), s.chunks, s.text_path);
  const cost::CostTables tables = cost::load_cost_tables(s.costs_path);
  std::map<std::string, std::unique_ptr<Quantized>> quantized;
  size_t invalid = 0;
  {
    Progress progress("sweep");
    progress.stage("points", todo.size(), "points");
    std::ofstream out(out_path, std::ios::app);
    size_t finished = 0;
    for (const size_t i : todo) {
      const auto& values = s.points[i];
      QuantConfig q;
      std::vector<std::string> overrides;
      split_point(s, values, q, overrides);
      auto& slot = quantized[q.key()];
      if (!slot) slot = std::make_unique<Quantized>(quantize(fp32, q, text));
      std::string row;
      for (const auto& v : values) row += v + ",";
      try {
        row += evaluate(s, tables, *slot, overrides);
      } catch (const std::exception& e) {
        row += "invalid," + quoted(e.what());
        for (size_t m = 0; m < std::size(kModelMetrics); ++m) row += ",";
        ++invalid;
      }
      out << row << "\n";
      out.flush();
      lines.push_back(row);
      progress.advance_to(++finished);
    }
    if (!out) fail("{}: cannot write the rows", out_path);
  }
  // Rows in the order of the cross product, as the architecture sweep writes them.
  Sweep order;
  order.axes = s.axes;
  order.points = s.points;
  order.header = s.header;
  write_sorted(order, out_path, lines);
  fmt::print("wrote {} ({} points, {} invalid this run, {} quantizer configurations)\n", out_path, todo.size(), invalid,
             quantized.size());
  if (s.plots) write_model_plots(s, out_path);
  return 0;
}

}  // namespace fq::sweep
