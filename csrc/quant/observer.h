// Calibration observers for static int8 quantisation: they watch the float activations entering a
// layer (batch after batch) and choose the range [lo, hi] that u8 values will cover, as
// PyTorch's observers and ONNX Runtime's calibrators do:
//   minmax     the smallest and largest values seen;
//   moving     min and max of each batch, averaged with weight `momentum` (an outlier batch moves
//              the range by momentum, not all the way);
//   percentile a histogram of |x| (2048 bins, re-binned as the range grows); the range ends at the
//              given percentile of |x| (99.99 clips the rarest 0.01 % of outliers);
//   entropy    the same histogram; the threshold that minimises the KL divergence between the
//              clipped histogram and its quantised version (TensorRT's entropy calibration).
// The range is then mapped to a u8 (scale, zero point): asymmetric covers [min(lo, 0), max(hi, 0)]
// (0 exactly representable); symmetric covers [-a, a] with a = max(|lo|, |hi|), zero point 128.
// A NaN or infinity in the data is a ValueError naming the observer: calibration data must be finite.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace aimass::quant {

struct QParams {
  float scale = 1.0f;
  int32_t zero = 0;
};

// u8 (scale, zero) for [lo, hi] as described above.
QParams u8_qparams(float lo, float hi, bool symmetric);

enum class ObserverMethod : uint8_t { MinMax, Moving, Percentile, Entropy };
ObserverMethod observer_method_from_name(const std::string& name);  // ValueError for another name
const char* observer_method_name(ObserverMethod m);

class Observer {
 public:
  explicit Observer(ObserverMethod method, double momentum = 0.01, double percentile = 99.99, int64_t bins = 2048);
  void update(const float* x, int64_t n);
  // The range chosen from what was seen; ValueError before any data.
  std::pair<float, float> range() const;
  QParams qparams(bool symmetric) const;
  int64_t count() const { return count_; }
  float min() const { return min_; }
  float max() const { return max_; }
  const std::vector<double>& histogram() const { return hist_; }  // of |x| over [0, hist_max()]
  float hist_max() const { return hist_max_; }

 private:
  void add_to_histogram(const float* x, int64_t n, float amax);
  float percentile_threshold() const;
  float entropy_threshold() const;

  ObserverMethod method_;
  double momentum_, percentile_;
  int64_t bins_;
  int64_t count_ = 0;
  float min_ = 0, max_ = 0;          // over everything seen
  double avg_min_ = 0, avg_max_ = 0;  // moving
  std::vector<double> hist_;
  float hist_max_ = 0;
};

}  // namespace aimass::quant
