// Hadamard matrices and fast orthogonal Hadamard transforms for QuaRot (quantizers.md §4.2, §4.3).
//
// Contract:
// - Sizes: n = K·2^k with K in kHadamardFactors = {1, 12, 20, 28, 36, 40, 52, 60, 108, 140, 156,
//   172}. Anything else throws fq::Error listing the supported factors. When two factorisations
//   exist (only 40·2^k = 20·2^(k+1)) the larger K is used, as QuaRot does; the matrix is the same
//   either way because H_40 is defined as H_20 ⊗ H_2.
// - Matrix: H_n = H_K ⊗ H_m with m = 2^k, H_m Sylvester (H_m[b][d] = (-1)^popcount(b & d)) and H_K
//   = sloane_hadamard(K). Element layout: index i = a·m + b (a < K, b < m), so
//   H_n[a·m + b][c·m + d] = H_K[a][c] · H_m[b][d]: x viewed as a row-major [K, m] matrix.
// - Row-vector convention (§4.3): activations are row vectors, W is [out, in], y = x·Wᵀ.
//   A transform T acts as x ← x·T. For HadamardTransform T = H_n/√n; for RandomizedHadamard
//   T = Q = diag(s)·H_n/√n. Both are orthogonal, so the inverse is apply_transpose (x ← x·Tᵀ).
//   H_K is not symmetric in general: never use apply() as its own inverse.
// - Precision: the double path is the reference. The float path converts to double, transforms
//   and rounds each result once to float, so it does not depend on the order of the butterflies.
// - Cost of apply(): FWHT along the m axis (n·log2 m adds) plus the dense K×K ±1 stage (n·K).
// - The K×K matrices are constructed, not copied from Sloane's files (see sloane_hadamard_source);
//   they are therefore not entry-for-entry equal to QuaRot's, which is fine as long as fusion and
//   the online transform use the same HadamardTransform (§4.3).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace fq {

// The K of n = K·2^k, ascending. 1 means a pure power of two.
inline constexpr std::array<int, 12> kHadamardFactors = {1, 12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172};

// True if n = K·2^k for some K in kHadamardFactors (n >= 1).
bool hadamard_size_supported(int n);

// The K used for size n (the largest admissible one). Throws fq::Error listing the factors.
int hadamard_factor(int n);

// K×K matrix of ±1, row-major, with H·Hᵀ = K·I, for K in kHadamardFactors. Named after the order
// list of Sloane's library; the entries come from the constructions named by
// sloane_hadamard_source(K). Throws fq::Error for any other K.
std::vector<int8_t> sloane_hadamard(int K);

// One line naming the construction (and the data's citation where data is used) of sloane_hadamard(K).
const char* sloane_hadamard_source(int K);

// Sylvester H_m (m a power of two), ±1, row-major, symmetric.
std::vector<int8_t> sylvester_hadamard(int m);

// An orthogonal n×n transform T applied to row vectors. Derived classes supply the double paths.
class OrthogonalTransform {
 public:
  virtual ~OrthogonalTransform() = default;

  virtual int size() const = 0;
  // x ← x·T, in place. Throws fq::Error if x.size() != size().
  virtual void apply(std::span<double> x) const = 0;
  // x ← x·Tᵀ = x·T⁻¹, in place. Throws fq::Error if x.size() != size().
  virtual void apply_transpose(std::span<double> x) const = 0;

  // The same in FP32 storage: computed in double, each output rounded once to float.
  void apply(std::span<float> x) const;
  void apply_transpose(std::span<float> x) const;

  // Dense T, row-major n×n (row i = e_i·T). For tests and offline weight fusion.
  std::vector<double> matrix() const;

  // Input-side fusion (§4.3): W [rows, n] row-major, W ← W·T applied to each row, so that
  // (x·T)(W·T)ᵀ = x·Wᵀ. Throws fq::Error if w.size() is not a multiple of n.
  void fuse_input_side(std::span<double> w) const;
  // Output-side fusion (§4.3): W [n, cols] row-major (n = out features), W ← Tᵀ·W, so that
  // x·(Tᵀ·W)ᵀ = (x·Wᵀ)·T. A bias is the case cols = 1. Throws fq::Error on a size mismatch.
  void fuse_output_side(std::span<double> w, int cols) const;
};

// T = H_n/√n with H_n = H_K ⊗ H_2^k as in the contract above.
class HadamardTransform : public OrthogonalTransform {
 public:
  // Throws fq::Error if n is not supported (message lists kHadamardFactors).
  explicit HadamardTransform(int n);

  using OrthogonalTransform::apply;
  using OrthogonalTransform::apply_transpose;

  int size() const override { return n_; }
  int factor() const { return k_; }             // K
  int power_of_two() const { return n_ / k_; }  // m = 2^k
  void apply(std::span<double> x) const override;
  void apply_transpose(std::span<double> x) const override;

 private:
  void transform(std::span<double> x, bool transpose) const;

  int n_;
  int k_;
  std::vector<double> hk_;  // H_K as ±1.0, row-major K×K
};

// Signs s ∈ {±1}^n from std::mt19937_64(seed): s_i = -1 if the top bit of the i-th 64-bit draw
// is set, else +1, for i = 0 … n-1. mt19937_64's output sequence is fixed by the C++ standard,
// so the signs are the same on every standard library (unlike uniform_int_distribution).
std::vector<int8_t> random_signs(int n, uint64_t seed);

// QuaRot's global rotation Q = diag(s)·H_n/√n (§4.1 step 1): x·Q = (x∘s)·H_n/√n.
class RandomizedHadamard : public OrthogonalTransform {
 public:
  RandomizedHadamard(int n, uint64_t seed);
  // Explicit signs (each +1 or -1); size() = signs.size(). Throws fq::Error otherwise.
  explicit RandomizedHadamard(std::vector<int8_t> signs);

  using OrthogonalTransform::apply;
  using OrthogonalTransform::apply_transpose;

  int size() const override { return hadamard_.size(); }
  const std::vector<int8_t>& signs() const { return signs_; }
  void apply(std::span<double> x) const override;
  void apply_transpose(std::span<double> x) const override;

 private:
  HadamardTransform hadamard_;
  std::vector<int8_t> signs_;
};

}  // namespace fq
