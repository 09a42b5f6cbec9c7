#include "select/quality.h"

#include <algorithm>
#include <cmath>

namespace vas {

Rect crop_rect(const TrackedObject& obj, int w, int h, float margin) {
  const float bw = obj.x2 - obj.x1, bh = obj.y2 - obj.y1;
  Rect r;
  r.x0 = std::clamp(static_cast<int>(std::floor(obj.x1 - margin * bw)), 0, w);
  r.y0 = std::clamp(static_cast<int>(std::floor(obj.y1 - margin * bh)), 0, h);
  r.x1 = std::clamp(static_cast<int>(std::ceil(obj.x2 + margin * bw)), 0, w);
  r.y1 = std::clamp(static_cast<int>(std::ceil(obj.y2 + margin * bh)), 0, h);
  if (r.x1 < r.x0) r.x1 = r.x0;
  if (r.y1 < r.y0) r.y1 = r.y0;
  return r;
}

void extract_luma(const ImageView& img, const Rect& rect, std::vector<uint8_t>* gray) {
  const int w = rect.width(), h = rect.height();
  gray->resize(static_cast<size_t>(std::max(w, 0)) * std::max(h, 0));
  const bool bgr = img.format == PixelFormat::kBGR24;
  const bool rgb = img.format == PixelFormat::kRGB24;
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = img.planes[0] + static_cast<size_t>(rect.y0 + y) * img.strides[0];
    uint8_t* dst = gray->data() + static_cast<size_t>(y) * w;
    if (bgr || rgb) {
      const uint8_t* p = row + 3 * rect.x0;
      const int wb = bgr ? 29 : 77, wr = bgr ? 77 : 29;  // fixed-point 0.114 / 0.299 (x256)
      for (int x = 0; x < w; ++x, p += 3) {
        dst[x] = static_cast<uint8_t>((p[0] * wb + p[1] * 150 + p[2] * wr + 128) >> 8);
      }
    } else {
      std::copy(row + rect.x0, row + rect.x0 + w, dst);
    }
  }
}

double laplacian_variance(const uint8_t* g, int w, int h, int stride) {
  if (w < 3 || h < 3) return 0;
  double sum = 0, sum2 = 0;
  for (int y = 1; y < h - 1; ++y) {
    const uint8_t* up = g + static_cast<size_t>(y - 1) * stride;
    const uint8_t* mid = up + stride;
    const uint8_t* dn = mid + stride;
    int64_t s = 0, s2 = 0;  // one row fits easily: |lap| <= 1020
    for (int x = 1; x < w - 1; ++x) {
      const int lap = up[x] + dn[x] + mid[x - 1] + mid[x + 1] - 4 * mid[x];
      s += lap;
      s2 += static_cast<int64_t>(lap) * lap;
    }
    sum += static_cast<double>(s);
    sum2 += static_cast<double>(s2);
  }
  const double n = static_cast<double>(w - 2) * (h - 2);
  const double mean = sum / n;
  return std::max(0.0, sum2 / n - mean * mean);
}

float face_frontalness(const float lm[10]) {
  const float lex = lm[0], ley = lm[1], rex = lm[2], rey = lm[3], nx = lm[4];
  const float dx = rex - lex, dy = rey - ley;
  const float eye_dist = std::hypot(dx, dy);
  if (!(eye_dist > 0)) return 0;
  // Yaw: how far the nose sits from the eyes' midpoint along the eye line, in eye distances.
  const float mx = 0.5f * (lex + rex), my = 0.5f * (ley + rey);
  const float along = ((nx - mx) * dx + (lm[5] - my) * dy) / eye_dist;
  const float yaw = std::max(0.0f, 1.0f - 2.0f * std::fabs(along) / eye_dist);
  // Roll: angle of the eye line; 45 degrees or more scores 0.
  const float roll = std::fabs(std::atan2(dy, std::fabs(dx)));
  const float roll_term = std::max(0.0f, 1.0f - roll / 0.785398f);
  return yaw * roll_term;
}

QualityTerms score_observation(const TrackedObject& obj, int image_width, int image_height,
                               const std::vector<uint8_t>& gray, const Rect& rect,
                               const QualityParams& p) {
  QualityTerms t;
  const float bw = obj.x2 - obj.x1, bh = obj.y2 - obj.y1;
  t.detector = std::clamp(obj.score, 0.0f, 1.0f);
  t.size = bw > 0 && bh > 0 ? std::min(1.0f, std::sqrt(bw * bh) / p.size_ref) : 0.0f;
  t.laplacian_variance = laplacian_variance(gray.data(), rect.width(), rect.height(), rect.width());
  t.sharpness = static_cast<float>(t.laplacian_variance / (t.laplacian_variance + p.sharpness_ref));
  // Truncation: the visible share of the box, halved for every side cut by a frame edge.
  const float area = bw * bh;
  const float visible = area > 0 ? static_cast<float>(rect.width()) * rect.height() / area : 0.0f;
  int cut = 0;
  cut += obj.x1 <= p.edge_margin;
  cut += obj.y1 <= p.edge_margin;
  cut += obj.x2 >= image_width - p.edge_margin;
  cut += obj.y2 >= image_height - p.edge_margin;
  t.truncation = std::min(1.0f, visible) * std::pow(0.5f, static_cast<float>(cut));
  t.aspect = 1.0f;
  if (p.aspect > 0 && bw > 0 && bh > 0) {
    const float r = bw / bh;
    t.aspect = std::min(r / p.aspect, p.aspect / r);
  }
  const bool face = obj.num_landmarks == 5;
  t.frontal = face ? face_frontalness(obj.landmarks) : 0.0f;
  const QualityWeights& w = p.weights;
  float sum = w.detector * t.detector + w.size * t.size + w.sharpness * t.sharpness +
              w.truncation * t.truncation + (p.aspect > 0 ? w.aspect * t.aspect : 0.0f);
  float wsum = w.detector + w.size + w.sharpness + w.truncation + (p.aspect > 0 ? w.aspect : 0);
  if (face) {
    sum += w.frontal * t.frontal;
    wsum += w.frontal;
  }
  t.total = wsum > 0 ? sum / wsum : 0.0f;
  return t;
}

}  // namespace vas
