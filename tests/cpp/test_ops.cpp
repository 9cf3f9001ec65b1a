// The op layer: promotion, broadcasting, reductions, matmul, indexing, against plain loops.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/philox.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "ops/shape.h"

using namespace aimass;

namespace {

Tensor from_values(const std::vector<float>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::Float32);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

std::vector<double> values(const Tensor& x) {
  Tensor c = contiguous(to_dtype(x, DType::Float64));
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

}  // namespace

TEST(Elementwise, BroadcastAddMatchesLoop) {
  manual_seed(1);
  Tensor a = randn({4, 1, 3}, DType::Float32), b = randn({5, 1}, DType::Float32);
  Tensor c = binary(BinaryOp::Add, a, b);
  ASSERT_EQ(c.shape(), (Shape{4, 5, 3}));
  auto va = values(a), vb = values(b), vc = values(c);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j)
      for (int k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(vc[(i * 5 + j) * 3 + k], float(va[i * 3 + k]) + float(vb[j]));
}

TEST(Elementwise, PromotionAndWeakScalars) {
  Tensor i = full({3}, Scalar::from_int(7), DType::Int32);
  EXPECT_EQ(binary(BinaryOp::Div, i, Scalar::from_int(2)).dtype(), DType::Float32);
  EXPECT_EQ(values(binary(BinaryOp::Div, i, Scalar::from_int(2)))[0], 3.5);
  EXPECT_EQ(binary(BinaryOp::Add, i, Scalar::from_int(2)).dtype(), DType::Int32);
  EXPECT_EQ(binary(BinaryOp::Add, i, Scalar::from_float(0.5)).dtype(), DType::Float32);
  Tensor h = full({3}, Scalar::from_int(1), DType::Float16);
  EXPECT_EQ(binary(BinaryOp::Mul, h, Scalar::from_float(2.5)).dtype(), DType::Float16);
  EXPECT_EQ(binary(BinaryOp::Lt, h, Scalar::from_float(2.5)).dtype(), DType::Bool);
  EXPECT_THROW(unary(UnaryOp::Neg, full({2}, Scalar::from_bool(true), DType::Bool)), TypeError);
}

TEST(Elementwise, ClampKeepsIntegerBoundsInRange) {
  Tensor x = arange(Scalar::from_int(-5), Scalar::from_int(5), Scalar::from_int(1), DType::Int8);
  Tensor c = clamp(x, Scalar::from_int(-2), Scalar::from_float(INFINITY));
  EXPECT_EQ(c.dtype(), DType::Int8);
  EXPECT_EQ(values(c), (std::vector<double>{-2, -2, -2, -2, -1, 0, 1, 2, 3, 4}));
}

TEST(Reduce, AxesLayoutsMatchLoops) {
  manual_seed(2);
  Tensor x = randn({3, 4, 5}, DType::Float64);
  auto v = values(x);
  Tensor s1 = reduce(ReduceOp::Sum, x, std::vector<int64_t>{1}, false);
  Tensor s02 = reduce(ReduceOp::Sum, x, std::vector<int64_t>{0, 2}, true);  // not adjacent: permuted copy
  ASSERT_EQ(s1.shape(), (Shape{3, 5}));
  ASSERT_EQ(s02.shape(), (Shape{1, 4, 1}));
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 5; ++k) {
      double ref = 0;
      for (int j = 0; j < 4; ++j) ref += v[(i * 4 + j) * 5 + k];
      EXPECT_NEAR(values(s1)[i * 5 + k], ref, 1e-12);
    }
  for (int j = 0; j < 4; ++j) {
    double ref = 0;
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) ref += v[(i * 4 + j) * 5 + k];
    EXPECT_NEAR(values(s02)[j], ref, 1e-12);
  }
  Tensor am = reduce(ReduceOp::ArgMax, x, std::nullopt, false);
  EXPECT_EQ(am.dim(), 0);
  EXPECT_EQ(item(am).i, std::max_element(v.begin(), v.end()) - v.begin());
}

TEST(Reduce, EmptyReductions) {
  Tensor e = Tensor::empty({0, 3}, DType::Float32);
  EXPECT_EQ(values(reduce(ReduceOp::Sum, e, std::vector<int64_t>{0}, false)), (std::vector<double>{0, 0, 0}));
  EXPECT_THROW(reduce(ReduceOp::Max, e, std::vector<int64_t>{0}, false), ValueError);
  EXPECT_EQ(reduce(ReduceOp::Max, e, std::vector<int64_t>{1}, false).shape(), (Shape{0}));
  EXPECT_THROW(reduce(ReduceOp::Sum, e, std::vector<int64_t>{2}, false), IndexError);
  EXPECT_THROW(reduce(ReduceOp::Sum, e, std::vector<int64_t>{0, 0}, false), ValueError);
}

TEST(Matmul, BatchedBroadcastAndTransposedOperands) {
  manual_seed(3);
  Tensor a = randn({2, 1, 3, 4}, DType::Float32), b = randn({5, 4, 6}, DType::Float32);
  Tensor bt = transpose(contiguous(transpose(b, 1, 2)), 1, 2);  // column-major matrices
  Tensor c = matmul(a, bt);
  ASSERT_EQ(c.shape(), (Shape{2, 5, 3, 6}));
  auto va = values(a), vb = values(b), vc = values(c);
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < 5; ++q)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 6; ++j) {
          double ref = 0;
          for (int k = 0; k < 4; ++k) ref += va[(p * 3 + i) * 4 + k] * vb[(q * 4 + k) * 6 + j];
          EXPECT_NEAR(vc[((p * 5 + q) * 3 + i) * 6 + j], ref, 1e-4);
        }
  EXPECT_THROW(matmul(a, randn({5, 3}, DType::Float32)), ValueError);
  EXPECT_EQ(matmul(randn({4}, DType::Float32), randn({4}, DType::Float32)).dim(), 0);
}

TEST(Matmul, IntegerAndEmptyInner) {
  Tensor a = arange(Scalar::from_int(0), Scalar::from_int(6), Scalar::from_int(1), DType::Int32);
  Tensor m = matmul(reshape(a, {2, 3}), reshape(a, {3, 2}));
  EXPECT_EQ(values(m), (std::vector<double>{10, 13, 28, 40}));
  Tensor z = matmul(Tensor::empty({2, 0}, DType::Float32), Tensor::empty({0, 3}, DType::Float32));
  EXPECT_EQ(values(z), std::vector<double>(6, 0.0));
}

TEST(Index, BasicViewsAndAdvancedGathers) {
  Tensor x = reshape(arange(Scalar::from_int(0), Scalar::from_int(24), Scalar::from_int(1), DType::Float32), {2, 3, 4});
  Tensor v = index(x, {TensorIndex::integer(1), TensorIndex::slice(std::nullopt, std::nullopt, 2)});
  EXPECT_EQ(v.shape(), (Shape{2, 4}));
  EXPECT_EQ(v.storage(), x.storage());
  EXPECT_EQ(values(v)[4], 20);  // x[1, 2, 0]
  Tensor rev = index(x, {TensorIndex::ellipsis(), TensorIndex::slice(std::nullopt, std::nullopt, -1)});
  EXPECT_EQ(values(rev)[0], 3);
  Tensor idx = arange(Scalar::from_int(2), Scalar::from_int(-1), Scalar::from_int(-1), DType::Int64);  // [2, 1, 0]
  Tensor g = index(x, {TensorIndex::slice(std::nullopt, std::nullopt, std::nullopt), TensorIndex::of(idx), TensorIndex::integer(0)});
  EXPECT_EQ(g.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(g), (std::vector<double>{8, 4, 0, 20, 16, 12}));
  EXPECT_THROW(index(x, {TensorIndex::integer(2)}), IndexError);
  EXPECT_THROW(index(x, {TensorIndex::integer(0), TensorIndex::integer(0), TensorIndex::integer(0), TensorIndex::integer(0)}), IndexError);
}

TEST(Index, PutThroughMaskAndSlices) {
  Tensor x = arange(Scalar::from_int(0), Scalar::from_int(6), Scalar::from_int(1), DType::Float32);
  Tensor mask = binary(BinaryOp::Gt, x, Scalar::from_int(3));
  index_put(x, {TensorIndex::of(mask)}, full({}, Scalar::from_int(-1), DType::Float32));
  EXPECT_EQ(values(x), (std::vector<double>{0, 1, 2, 3, -1, -1}));
  index_put(x, {TensorIndex::slice(std::nullopt, std::nullopt, -2)}, from_values({7, 8, 9}, {3}));
  EXPECT_EQ(values(x), (std::vector<double>{0, 9, 2, 8, -1, 7}));
}

TEST(Random, SameSeedSameNumbersAnyThreadCount) {
  manual_seed(42);
  Tensor a = rand({1000}, DType::Float32);
  manual_seed(42);
  Tensor b = rand({1000}, DType::Float32);
  EXPECT_EQ(values(a), values(b));
  auto v = values(a);
  double mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  EXPECT_NEAR(mean, 0.5, 0.05);
  for (double x : v) EXPECT_TRUE(x >= 0 && x < 1);
  // Element i is a function of (seed, offset + i) only.
  EXPECT_FLOAT_EQ(float(v[7]), float(philox_uniform(42, 7)));
}
