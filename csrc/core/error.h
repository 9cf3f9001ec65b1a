// Typed errors. The bindings translate each to the Python exception of the same name, so
// every check below reaches the user as ValueError / TypeError / IndexError / RuntimeError
// with a message naming the op, the shapes, dtypes and devices involved.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace aimass {

struct Error : std::runtime_error { using std::runtime_error::runtime_error; };
struct ValueError : Error { using Error::Error; };
struct TypeError : Error { using Error::Error; };
struct IndexError : Error { using Error::Error; };
struct NotImplementedError : Error { using Error::Error; };
struct RuntimeError : Error { using Error::Error; };
// A valid size that this machine cannot allocate (Python's MemoryError).
struct MemoryError : Error { using Error::Error; };

inline std::ostream& operator<<(std::ostream& os, const std::vector<int64_t>& v) {
  os << '(';
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os << (v.size() == 1 ? ",)" : ")");
}

template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace aimass

// AM_CHECK(ndim >= 2, ValueError, "matmul: ", a.describe(), " needs 2 dims")
#define AM_CHECK(cond, ErrorType, ...) \
  do {                                  \
    if (!(cond)) throw ::aimass::ErrorType(::aimass::str_cat(__VA_ARGS__)); \
  } while (0)
