// The Tensor core: dtypes, layout, views, storage sharing, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/index.h"
#include "ops/shape.h"

using namespace aimass;

TEST(DType, PromotionFollowsNumPyWithinOurTypes) {
  EXPECT_EQ(promote_types(DType::Int32, DType::Float16), DType::Float16);
  EXPECT_EQ(promote_types(DType::UInt8, DType::Int8), DType::Int32);
  EXPECT_EQ(promote_types(DType::Float16, DType::BFloat16), DType::Float32);
  EXPECT_EQ(promote_types(DType::Bool, DType::Int8), DType::Int8);
  EXPECT_EQ(promote_types(DType::Int64, DType::Float32), DType::Float32);
  EXPECT_EQ(promote_types(DType::Float64, DType::Float32), DType::Float64);
  EXPECT_THROW(dtype_from_name("complex64"), TypeError);
}

TEST(DType, HalfRoundTripsAndRoundsToNearestEven) {
  for (float f : {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f, 1000.5f})
    EXPECT_EQ(float(Half(f)), f) << f;
  EXPECT_EQ(float(Half(1.0f + 1.0f / 2048)), 1.0f);             // halfway, rounds to even
  EXPECT_EQ(float(Half(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);  // halfway, rounds up to even
  EXPECT_TRUE(std::isinf(float(Half(70000.0f))));
  EXPECT_TRUE(std::isnan(float(Half(NAN))));
  EXPECT_EQ(float(Half(1e-9f)), 0.0f);
}

TEST(DType, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(float(BFloat16(1.0f)), 1.0f);
  EXPECT_EQ(float(BFloat16(1.00390625f)), 1.0f);  // halfway between 1 and 1+2^-7, to even
  EXPECT_EQ(float(BFloat16(3.0f)), 3.0f);
  EXPECT_TRUE(std::isnan(float(BFloat16(NAN))));
  EXPECT_TRUE(std::isinf(float(BFloat16(INFINITY))));
}

TEST(Tensor, EmptyIsContiguousAndAligned) {
  Tensor t = Tensor::empty({2, 3, 4}, DType::Float32);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64, 0u);
  EXPECT_EQ(t.describe(), "float32 (2, 3, 4) on cpu");
}

TEST(Tensor, ZeroSizeAndZeroDim) {
  Tensor e = Tensor::empty({0, 5}, DType::Int64);
  EXPECT_EQ(e.numel(), 0);
  EXPECT_TRUE(e.is_contiguous());
  Tensor s = full({}, Scalar::from_float(2.5), DType::Float64);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(item(s).f, 2.5);
}

TEST(Tensor, NegativeShapeIsAValueError) {
  EXPECT_THROW(Tensor::empty({2, -1}, DType::Float32), ValueError);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = arange(Scalar::from_int(0), Scalar::from_int(12), Scalar::from_int(1), DType::Float32);
  Tensor v = reshape(t, {3, 4});
  EXPECT_EQ(v.storage(), t.storage());
  Tensor tr = transpose(v, 0, 1);
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.shape(), (Shape{4, 3}));
  Tensor c = contiguous(tr);
  EXPECT_NE(c.storage(), t.storage());
  // element (1, 2) of the transpose is element (2, 1) of v = 9
  EXPECT_EQ(c.data<float>()[1 * 3 + 2], 9.0f);
}

TEST(Shape, ViewFailsWhereReshapeCopies) {
  Tensor t = full({4, 6}, Scalar::from_int(1), DType::Float32);
  Tensor tr = transpose(t, 0, 1);
  EXPECT_THROW(view(tr, {24}), ValueError);
  Tensor r = reshape(tr, {24});
  EXPECT_EQ(r.shape(), (Shape{24}));
  EXPECT_EQ(view(t, {2, -1, 3}).shape(), (Shape{2, 4, 3}));
  EXPECT_THROW(reshape(t, {5, -1}), ValueError);
  EXPECT_THROW(reshape(t, {-1, -1}), ValueError);
}

TEST(Shape, BroadcastShapesNamesTheOp) {
  EXPECT_EQ(broadcast_shapes({3, 1, 5}, {4, 1}, "add"), (Shape{3, 4, 5}));
  try {
    broadcast_shapes({3, 2}, {4}, "add");
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("add: shapes (3, 2) and (4,)"), std::string::npos) << e.what();
  }
}

TEST(Shape, ConcatenateAndStack) {
  Tensor a = full({2, 3}, Scalar::from_int(1), DType::Int32);
  Tensor b = full({1, 3}, Scalar::from_int(2), DType::Int64);
  Tensor c = concatenate({a, b}, 0);
  EXPECT_EQ(c.shape(), (Shape{3, 3}));
  EXPECT_EQ(c.dtype(), DType::Int64);
  EXPECT_EQ(c.data<int64_t>()[8], 2);
  EXPECT_THROW(concatenate({a, b}, 1), ValueError);
  EXPECT_THROW(stack({a, b}, 0), ValueError);
  EXPECT_EQ(stack({a, a}, 1).shape(), (Shape{2, 2, 3}));
}

TEST(Device, ParseAndErrors) {
  EXPECT_TRUE(Device::parse("cpu").is_cpu());
  EXPECT_EQ(Device::parse("cuda:3").index, 3);
  EXPECT_THROW(Device::parse("tpu"), ValueError);
  EXPECT_THROW(Device::parse("cuda:x"), ValueError);
}

// Sizes and strides that overflow are refused where they are computed, before any memory is
// allocated or read (issue 10, part 5).
TEST(Tensor, ByteCountsThatOverflowAreValueErrors) {
  const int64_t big = (int64_t(1) << 61) - 1;
  EXPECT_THROW(Tensor::empty({big}, DType::Float64), ValueError);                  // 2**64 - 8 bytes
  EXPECT_THROW(Tensor::empty({int64_t(1) << 32, int64_t(1) << 32}, DType::Float32), ValueError);   // 2**64 elements
  EXPECT_THROW(Tensor::empty({-1}, DType::Float32), ValueError);
  EXPECT_THROW(Tensor::empty({int64_t(1) << 59}, DType::Float64), MemoryError);    // valid, too large
}

TEST(Tensor, ViewsStayInsideTheirStorage) {
  Tensor t = full({4}, Scalar::from_float(0.0), DType::Float32);
  EXPECT_THROW(t.as_strided({5}, {1}, 0), IndexError);
  EXPECT_THROW(t.as_strided({2}, {3}, 1), IndexError);
  EXPECT_THROW(t.as_strided({2}, {-1}, 0), IndexError);
  EXPECT_THROW(t.as_strided({2, 2}, {int64_t(1) << 62, int64_t(1) << 62}, 0), ValueError);  // span overflows
  EXPECT_THROW(t.as_strided({2}, {1}, std::numeric_limits<int64_t>::max()), IndexError);
  EXPECT_EQ(t.as_strided({2}, {-1}, 3).numel(), 2);
  EXPECT_EQ(t.as_strided({int64_t(1) << 40}, {0}, 3).numel(), int64_t(1) << 40);  // broadcast view
}

TEST(Tensor, ShapeOpsRefuseCountsThatWrap) {
  Tensor t = full({4}, Scalar::from_float(0.0), DType::Float32);
  EXPECT_THROW(reshape(t, {(int64_t(1) << 62) + 1, 4}), ValueError);
  EXPECT_THROW(reshape(t, {int64_t(1) << 62, 4, -1}), ValueError);
  EXPECT_THROW(expand(reshape(t, {1, 4}), {-5, 4}), ValueError);
  Tensor one = full({1}, Scalar::from_float(0.0), DType::Float64);
  EXPECT_THROW(expand(one, {(int64_t(1) << 61) - 1}), ValueError);  // its bytes would pass 2**63
  Tensor wide = expand(one, {int64_t(1) << 59});                      // a valid view of 2**62 bytes
  EXPECT_THROW(contiguous(wide), MemoryError);
}

TEST(Tensor, SlicesWithHugeStepsAndBoundsDoNotOverflow) {
  Tensor t = arange(Scalar::from_int(0), Scalar::from_int(5), Scalar::from_int(1), DType::Int64);
  const int64_t max = std::numeric_limits<int64_t>::max(), min = std::numeric_limits<int64_t>::min();
  Tensor a = index(t, {TensorIndex::slice(min + 1, max, max)});
  ASSERT_EQ(a.numel(), 1);
  EXPECT_EQ(a.data<int64_t>()[0], 0);
  Tensor b = index(t, {TensorIndex::slice(max, min + 1, -max)});
  ASSERT_EQ(b.numel(), 1);
  EXPECT_EQ(contiguous(b).data<int64_t>()[0], 4);
  EXPECT_THROW(index(t, {TensorIndex::slice(std::nullopt, std::nullopt, min)}), ValueError);
}
