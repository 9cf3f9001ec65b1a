#include <gtest/gtest.h>
TEST(CpuKernels, Placeholder) {}
