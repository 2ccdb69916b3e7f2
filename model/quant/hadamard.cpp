#include "model/quant/hadamard.h"

#include "model/core/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <random>
#include <string_view>
#include <utility>

namespace fq {
namespace {

using Matrix = std::vector<int8_t>;  // square, row-major, entries ±1

size_t at(int row, int col, int n) {
  return static_cast<size_t>(row) * static_cast<size_t>(n) + static_cast<size_t>(col);
}

// GF(p^e) with elements indexed by their base-p digits (coefficient of t^i is digit i) and
// t^e = sum_i reduction[i]·t^i. Only what the Paley constructions need: subtraction and the
// quadratic character.
class SmallField {
 public:
  SmallField(int p, std::vector<int> reduction) : p_(p), reduction_(std::move(reduction)) {
    e_ = static_cast<int>(reduction_.size());
    q_ = 1;
    for (int i = 0; i < e_; ++i) q_ *= p_;
    character_.assign(static_cast<size_t>(q_), -1);
    character_[0] = 0;
    for (int x = 1; x < q_; ++x) character_[static_cast<size_t>(mul(x, x))] = 1;
  }

  int order() const { return q_; }
  int sub(int a, int b) const {
    int result = 0;
    for (int i = 0, place = 1; i < e_; ++i, place *= p_) {
      result += ((digit(a, i) - digit(b, i) + p_) % p_) * place;
    }
    return result;
  }
  // chi(x): 0 for x = 0, +1 for a non-zero square, -1 otherwise.
  int character(int x) const { return character_[static_cast<size_t>(x)]; }

 private:
  int digit(int x, int i) const {
    for (int j = 0; j < i; ++j) x /= p_;
    return x % p_;
  }
  int mul(int a, int b) const {
    std::vector<int> product(static_cast<size_t>(2 * e_ - 1), 0);
    for (int i = 0; i < e_; ++i) {
      for (int j = 0; j < e_; ++j) product[static_cast<size_t>(i + j)] += digit(a, i) * digit(b, j);
    }
    // Fold t^k (k >= e) down with t^e = reduction, highest power first.
    for (int k = 2 * e_ - 2; k >= e_; --k) {
      const int c = product[static_cast<size_t>(k)] % p_;
      product[static_cast<size_t>(k)] = 0;
      for (int i = 0; i < e_; ++i) product[static_cast<size_t>(k - e_ + i)] += c * reduction_[static_cast<size_t>(i)];
    }
    int result = 0;
    for (int i = e_ - 1; i >= 0; --i) result = result * p_ + product[static_cast<size_t>(i)] % p_;
    return result;
  }

  int p_;
  int e_ = 1;
  int q_ = 1;
  std::vector<int> reduction_;
  std::vector<int> character_;
};

// Jacobsthal matrix Q[a][b] = chi(a - b), q×q.
std::vector<int> jacobsthal(const SmallField& field) {
  const int q = field.order();
  std::vector<int> j(static_cast<size_t>(q) * static_cast<size_t>(q));
  for (int a = 0; a < q; ++a) {
    for (int b = 0; b < q; ++b) j[at(a, b, q)] = field.character(field.sub(a, b));
  }
  return j;
}

// Paley I, q ≡ 3 (mod 4): H = I + S with S = [[0, 1ᵀ], [-1, Q]] skew; order q + 1.
Matrix paley_one(const SmallField& field) {
  const int q = field.order();
  const int n = q + 1;
  const auto jac = jacobsthal(field);
  Matrix h(static_cast<size_t>(n) * static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      int s = 0;
      if (r == 0 && c > 0) s = 1;
      if (r > 0 && c == 0) s = -1;
      if (r > 0 && c > 0) s = jac[at(r - 1, c - 1, q)];
      h[at(r, c, n)] = static_cast<int8_t>(s + (r == c ? 1 : 0));
    }
  }
  return h;
}

// Paley II, q ≡ 1 (mod 4): C = [[0, 1ᵀ], [1, Q]] symmetric conference matrix;
// H = C ⊗ [[1, -1], [-1, -1]] + I ⊗ [[1, 1], [1, -1]]; order 2(q + 1).
Matrix paley_two(const SmallField& field) {
  const int q = field.order();
  const int c_n = q + 1;
  const int n = 2 * c_n;
  const auto jac = jacobsthal(field);
  constexpr int kOff[2][2] = {{1, -1}, {-1, -1}};
  constexpr int kDiag[2][2] = {{1, 1}, {1, -1}};
  Matrix h(static_cast<size_t>(n) * static_cast<size_t>(n));
  for (int r = 0; r < c_n; ++r) {
    for (int c = 0; c < c_n; ++c) {
      int conf = 1;
      if (r == c) conf = 0;
      if (r > 0 && c > 0 && r != c) conf = jac[at(r - 1, c - 1, q)];
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 2; ++j) {
          const int v = r == c ? kDiag[i][j] : conf * kOff[i][j];
          h[at(2 * r + i, 2 * c + j, n)] = static_cast<int8_t>(v);
        }
      }
    }
  }
  return h;
}

// Williamson array [[A, B, C, D], [-B, A, -D, C], [-C, D, A, -B], [-D, -C, B, A]] of the
// symmetric circulants whose first rows are the given +/- strings; order 4·len.
Matrix williamson(const std::array<std::string_view, 4>& rows) {
  const int len = static_cast<int>(rows[0].size());
  const int n = 4 * len;
  constexpr int kBlock[4][4] = {{0, 1, 2, 3}, {1, 0, 3, 2}, {2, 3, 0, 1}, {3, 2, 1, 0}};
  constexpr int kSign[4][4] = {{1, 1, 1, 1}, {-1, 1, -1, 1}, {-1, 1, 1, -1}, {-1, -1, 1, 1}};
  Matrix h(static_cast<size_t>(n) * static_cast<size_t>(n));
  for (int br = 0; br < 4; ++br) {
    for (int bc = 0; bc < 4; ++bc) {
      const std::string_view seq = rows[static_cast<size_t>(kBlock[br][bc])];
      for (int i = 0; i < len; ++i) {
        for (int j = 0; j < len; ++j) {
          const int v = seq[static_cast<size_t>((j - i + len) % len)] == '+' ? 1 : -1;
          h[at(br * len + i, bc * len + j, n)] = static_cast<int8_t>(kSign[br][bc] * v);
        }
      }
    }
  }
  return h;
}

// A ⊗ B for ±1 matrices of orders na, nb.
Matrix kron(const Matrix& a, int na, const Matrix& b, int nb) {
  const int n = na * nb;
  Matrix h(static_cast<size_t>(n) * static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      h[at(r, c, n)] = static_cast<int8_t>(a[at(r / nb, c / nb, na)] * b[at(r % nb, c % nb, nb)]);
    }
  }
  return h;
}

// Williamson sequences (first rows of the symmetric circulants A, B, C, D), transcribed from the
// table in SageMath, src/sage/combinat/matrices/hadamard_matrix.py
// (williamson_type_quadruples_smallcases). Data only; the unit test checks H·Hᵀ = K·I.
// n = 43: M. Hall Jr., Combinatorial Theory, 2nd ed., Wiley (Sage's [Ha83]).
constexpr std::array<std::string_view, 4> kWilliamson43 = {
    "++---++++-+--+--++--------++--+--+-++++---+",
    "+++-+-++--+-+-++++-+----+-++++-+-+--++-+-++",
    "++-++++++----+-+--++-++-++--+-+----++++++-+",
    "+---++--++++-+-+++-++--++-+++-+-++++--++---",
};
// n = 39: S. London, Constructing New Turyn Type Sequences, T-Sequences and Hadamard Matrices,
// PhD thesis, University of Illinois at Chicago, 2013 (Sage's [Lon2013]).
constexpr std::array<std::string_view, 4> kWilliamson39 = {
    "+++--+-+-----+--++----++--+-----+-+--++",
    "+++--++-+---+-+--+----+--+-+---+-++--++",
    "++++---+--++----+-+--+-+----++--+---+++",
    "+---++-+-+-----+++-++-+++-----+-+-++---",
};

bool is_power_of_two(int m) { return m > 0 && std::has_single_bit(static_cast<unsigned>(m)); }

[[noreturn]] void fail_size(int n) {
  fail("Hadamard size {} is not supported: n must be K·2^k with K in {{{}}}", n, fmt::join(kHadamardFactors, ", "));
}

}  // namespace

bool hadamard_size_supported(int n) {
  if (n < 1) return false;
  return std::any_of(kHadamardFactors.begin(), kHadamardFactors.end(),
                     [n](int k) { return n % k == 0 && is_power_of_two(n / k); });
}

int hadamard_factor(int n) {
  if (n >= 1) {
    for (auto it = kHadamardFactors.rbegin(); it != kHadamardFactors.rend(); ++it) {
      if (n % *it == 0 && is_power_of_two(n / *it)) return *it;
    }
  }
  fail_size(n);
}

std::vector<int8_t> sylvester_hadamard(int m) {
  if (!is_power_of_two(m)) fail("Sylvester Hadamard order {} is not a power of two", m);
  Matrix h(static_cast<size_t>(m) * static_cast<size_t>(m));
  for (int r = 0; r < m; ++r) {
    for (int c = 0; c < m; ++c) {
      h[at(r, c, m)] = static_cast<int8_t>(std::popcount(static_cast<unsigned>(r & c)) % 2 == 0 ? 1 : -1);
    }
  }
  return h;
}

std::vector<int8_t> sloane_hadamard(int K) {
  switch (K) {
    case 1:
      return {1};
    case 12:
      return paley_one(SmallField(11, {0}));
    case 20:
      return paley_one(SmallField(19, {0}));
    case 28:
      return paley_one(SmallField(3, {1, 1, 0}));  // GF(27), t^3 = t + 1
    case 36:
      return paley_two(SmallField(17, {0}));
    case 40:
      return kron(paley_one(SmallField(19, {0})), 20, sylvester_hadamard(2), 2);
    case 52:
      return paley_two(SmallField(5, {2, 0}));  // GF(25), t^2 = 2
    case 60:
      return paley_one(SmallField(59, {0}));
    case 108:
      return paley_one(SmallField(107, {0}));
    case 140:
      return paley_one(SmallField(139, {0}));
    case 156:
      return williamson(kWilliamson39);
    case 172:
      return williamson(kWilliamson43);
    default:
      break;
  }
  fail("no Hadamard table of order {}: supported K are {{{}}}", K, fmt::join(kHadamardFactors, ", "));
}

const char* sloane_hadamard_source(int K) {
  switch (K) {
    case 1:
      return "trivial [1]";
    case 12:
      return "Paley I, q = 11";
    case 20:
      return "Paley I, q = 19";
    case 28:
      return "Paley I, q = 27 (GF(3^3), t^3 = t + 1)";
    case 36:
      return "Paley II, q = 17";
    case 40:
      return "H_20 (Paley I, q = 19) ⊗ H_2, so H_40 ⊗ H_m = H_20 ⊗ H_2m";
    case 52:
      return "Paley II, q = 25 (GF(5^2), t^2 = 2)";
    case 60:
      return "Paley I, q = 59";
    case 108:
      return "Paley I, q = 107";
    case 140:
      return "Paley I, q = 139";
    case 156:
      return "Williamson array, n = 39, sequences of S. London (PhD thesis, UIC 2013) via SageMath";
    case 172:
      return "Williamson array, n = 43, sequences of M. Hall Jr., Combinatorial Theory via SageMath";
    default:
      break;
  }
  fail("no Hadamard table of order {}: supported K are {{{}}}", K, fmt::join(kHadamardFactors, ", "));
}

// ---- OrthogonalTransform ----------------------------------------------------------------------

void OrthogonalTransform::apply(std::span<float> x) const {
  std::vector<double> tmp(x.begin(), x.end());
  apply(std::span<double>(tmp));
  std::transform(tmp.begin(), tmp.end(), x.begin(), [](double v) { return static_cast<float>(v); });
}

void OrthogonalTransform::apply_transpose(std::span<float> x) const {
  std::vector<double> tmp(x.begin(), x.end());
  apply_transpose(std::span<double>(tmp));
  std::transform(tmp.begin(), tmp.end(), x.begin(), [](double v) { return static_cast<float>(v); });
}

std::vector<double> OrthogonalTransform::matrix() const {
  const int n = size();
  std::vector<double> m(static_cast<size_t>(n) * static_cast<size_t>(n), 0.0);
  for (int i = 0; i < n; ++i) {
    const auto row = std::span<double>(m).subspan(at(i, 0, n), static_cast<size_t>(n));
    row[static_cast<size_t>(i)] = 1.0;
    apply(row);
  }
  return m;
}

void OrthogonalTransform::fuse_input_side(std::span<double> w) const {
  const auto n = static_cast<size_t>(size());
  if (w.size() % n != 0) fail("input-side fusion: {} weights are not rows of length {}", w.size(), n);
  for (size_t r = 0; r < w.size(); r += n) apply(w.subspan(r, n));
}

void OrthogonalTransform::fuse_output_side(std::span<double> w, int cols) const {
  const int n = size();
  if (cols < 1 || w.size() != static_cast<size_t>(n) * static_cast<size_t>(cols)) {
    fail("output-side fusion: {} weights do not form a [{}, {}] matrix", w.size(), n, cols);
  }
  // Tᵀ·c for a column c is (cᵀ·T)ᵀ: transform each column as a row vector.
  std::vector<double> col(static_cast<size_t>(n));
  for (int j = 0; j < cols; ++j) {
    for (int i = 0; i < n; ++i) col[static_cast<size_t>(i)] = w[at(i, j, cols)];
    apply(std::span<double>(col));
    for (int i = 0; i < n; ++i) w[at(i, j, cols)] = col[static_cast<size_t>(i)];
  }
}

// ---- HadamardTransform ------------------------------------------------------------------------

HadamardTransform::HadamardTransform(int n) : n_(n), k_(hadamard_factor(n)) {
  const auto h = sloane_hadamard(k_);
  hk_.assign(h.begin(), h.end());
}

void HadamardTransform::apply(std::span<double> x) const { transform(x, false); }

void HadamardTransform::apply_transpose(std::span<double> x) const { transform(x, true); }

void HadamardTransform::transform(std::span<double> x, bool transpose) const {
  if (x.size() != static_cast<size_t>(n_)) {
    fail("Hadamard transform of size {} applied to a vector of length {}", n_, x.size());
  }
  const auto m = static_cast<size_t>(n_ / k_);
  const auto k = static_cast<size_t>(k_);
  // x as a row-major [K, m] matrix X; x·(H_K ⊗ H_m) = H_Kᵀ·X·H_m. H_m is symmetric, so the
  // butterflies serve both directions; only the K stage is transposed.
  for (size_t a = 0; a < k; ++a) {
    double* row = x.data() + a * m;
    for (size_t h = 1; h < m; h *= 2) {
      for (size_t i = 0; i < m; i += 2 * h) {
        for (size_t j = i; j < i + h; ++j) {
          const double u = row[j];
          const double v = row[j + h];
          row[j] = u + v;
          row[j + h] = u - v;
        }
      }
    }
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(n_));
  if (k == 1) {
    for (double& v : x) v *= scale;
    return;
  }
  std::vector<double> y(x.size(), 0.0);
  for (size_t c = 0; c < k; ++c) {
    double* out = y.data() + c * m;
    for (size_t a = 0; a < k; ++a) {
      const double s = transpose ? hk_[c * k + a] : hk_[a * k + c];  // H_K[c][a] or H_K[a][c]
      const double* in = x.data() + a * m;
      for (size_t j = 0; j < m; ++j) out[j] += s * in[j];
    }
  }
  std::transform(y.begin(), y.end(), x.begin(), [scale](double v) { return v * scale; });
}

// ---- RandomizedHadamard -----------------------------------------------------------------------

std::vector<int8_t> random_signs(int n, uint64_t seed) {
  if (n < 0) fail("random_signs: negative length {}", n);
  std::mt19937_64 gen(seed);
  std::vector<int8_t> s(static_cast<size_t>(n));
  for (auto& v : s) v = static_cast<int8_t>((gen() >> 63) != 0 ? -1 : 1);
  return s;
}

RandomizedHadamard::RandomizedHadamard(int n, uint64_t seed) : hadamard_(n), signs_(random_signs(n, seed)) {}

RandomizedHadamard::RandomizedHadamard(std::vector<int8_t> signs)
    : hadamard_(static_cast<int>(signs.size())), signs_(std::move(signs)) {
  for (size_t i = 0; i < signs_.size(); ++i) {
    if (signs_[i] != 1 && signs_[i] != -1) {
      fail("RandomizedHadamard: sign {} is {}, not +1 or -1", i, static_cast<int>(signs_[i]));
    }
  }
}

void RandomizedHadamard::apply(std::span<double> x) const {
  if (x.size() != signs_.size()) {
    fail("randomized Hadamard of size {} applied to a vector of length {}", signs_.size(), x.size());
  }
  for (size_t i = 0; i < x.size(); ++i) x[i] *= signs_[i];
  hadamard_.apply(x);
}

void RandomizedHadamard::apply_transpose(std::span<double> x) const {
  hadamard_.apply_transpose(x);
  for (size_t i = 0; i < x.size(); ++i) x[i] *= signs_[i];
}

}  // namespace fq
