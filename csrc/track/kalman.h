// Linear Kalman filter on fixed-size Eigen matrices, and the two constant-velocity box motion
// models the trackers use:
//  - SortMotion: state (cx, cy, area, aspect, vcx, vcy, varea) with fixed noise, as in SORT.
//  - XyahMotion: state (cx, cy, aspect, height, and their velocities) with noise scaled by the
//    box height, as in DeepSORT and ByteTrack.
// Header-only so tests and the Python binding can check it step by step against filterpy.
// Thread safety: plain values; no shared state.
#pragma once

#include <Eigen/Core>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>

namespace vas {

template <int N, int M>
struct KalmanState {
  using Vec = Eigen::Matrix<double, N, 1>;
  using Mat = Eigen::Matrix<double, N, N>;
  using MeasVec = Eigen::Matrix<double, M, 1>;
  using MeasMat = Eigen::Matrix<double, M, M>;
  using ObsMat = Eigen::Matrix<double, M, N>;

  Vec x = Vec::Zero();
  Mat P = Mat::Identity();

  // x = F x; P = F P F^T + Q for a dense F and Q (the general form, kept as the reference).
  void predict(const Mat& F, const Mat& Q) {
    x = F * x;
    P = F * P * F.transpose() + Q;
  }

  // The same for the constant-velocity F = I + E, where E adds state[kOffset + i] to state[i]
  // for i < kCoupled, and a diagonal Q: F P F^T is row and column additions, not products.
  template <int kCoupled, int kOffset>
  void predict_constant_velocity(const Vec& q_diagonal) {
    for (int i = 0; i < kCoupled; ++i) {
      x(i) += x(kOffset + i);
      P.row(i) += P.row(kOffset + i);
    }
    for (int i = 0; i < kCoupled; ++i) P.col(i) += P.col(kOffset + i);
    P.diagonal() += q_diagonal;
  }

  // Standard update for a general H, with the Joseph-form covariance as filterpy's
  // KalmanFilter.update computes it (the reference form).
  void update(const MeasVec& z, const ObsMat& H, const MeasMat& R) {
    const MeasVec y = z - H * x;
    const Eigen::Matrix<double, N, M> PHt = P * H.transpose();
    const MeasMat S = H * PHt + R;
    const Eigen::Matrix<double, N, M> K = PHt * S.inverse();  // as filterpy: K = P H^T S^-1
    x += K * y;
    const Mat IKH = Mat::Identity() - K * H;
    P = IKH * P * IKH.transpose() + K * R * K.transpose();
  }

  // The same update for H = [I 0] (the first M states are measured) and a diagonal R, using
  // P' = P - K H P, which equals the Joseph form for the optimal gain: O(N^2 M), no N^3.
  void update_direct(const MeasVec& z, const MeasVec& r_diagonal) {
    const MeasVec y = z - x.template head<M>();
    const Eigen::Matrix<double, N, M> PHt = P.template leftCols<M>();
    MeasMat S = P.template topLeftCorner<M, M>();
    S.diagonal() += r_diagonal;
    // Fixed-size 4x4 inverse is closed-form; S is symmetric positive definite.
    const MeasMat S_inv = S.inverse();
    // lazyProduct: coefficient loops; Eigen's blocked GEMM path is slow at these sizes.
    const Eigen::Matrix<double, N, M> K = PHt.lazyProduct(S_inv);
    x.noalias() += K * y;
    P.noalias() -= K.lazyProduct(PHt.transpose());
  }
};

// Box in x1, y1, x2, y2 pixels.
struct BoxF {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

struct SortMotion {
  static constexpr int kDim = 7;
  using State = KalmanState<7, 4>;

  static const State::Mat& F() {
    static const State::Mat f = [] {
      State::Mat m = State::Mat::Identity();
      m(0, 4) = m(1, 5) = m(2, 6) = 1.0;
      return m;
    }();
    return f;
  }
  static const State::ObsMat& H() {
    static const State::ObsMat h = State::ObsMat::Identity();
    return h;
  }
  static const State::Mat& Q() {
    static const State::Mat q = [] {
      State::Mat m = State::Mat::Identity();
      m(6, 6) *= 0.01;
      m.block<3, 3>(4, 4) *= 0.01;
      return m;
    }();
    return q;
  }
  static const State::MeasMat& R() {
    static const State::MeasMat r = [] {
      State::MeasMat m = State::MeasMat::Identity();
      m.block<2, 2>(2, 2) *= 10.0;
      return m;
    }();
    return r;
  }

  static State::MeasVec measure(const BoxF& b) {
    const double x1 = b.x1, y1 = b.y1;  // in double: float differences lose precision
    const double w = b.x2 - x1, h = b.y2 - y1;
    State::MeasVec z;
    z << x1 + w / 2.0, y1 + h / 2.0, w * h, h > 0 ? w / h : 0.0;
    return z;
  }

  static void initiate(const BoxF& b, State* s) {
    s->x.setZero();
    s->x.head<4>() = measure(b);
    s->P = State::Mat::Identity() * 10.0;
    s->P.block<3, 3>(4, 4) *= 1000.0;
  }

  static void predict(State* s) {
    // An area that would turn negative stops shrinking instead.
    if (s->x(6) + s->x(2) <= 0) s->x(6) = 0.0;
    s->predict_constant_velocity<3, 4>(Q().diagonal());
  }

  static void update(const BoxF& b, State* s) { s->update_direct(measure(b), R().diagonal()); }

  // The dense reference forms, for tests.
  static void predict_reference(State* s) {
    if (s->x(6) + s->x(2) <= 0) s->x(6) = 0.0;
    s->predict(F(), Q());
  }
  static void update_reference(const BoxF& b, State* s) { s->update(measure(b), H(), R()); }

  static BoxF box(const State& s) {
    const double area = std::max(0.0, s.x(2)), aspect = std::max(0.0, s.x(3));
    const double w = std::sqrt(area * aspect);
    const double h = w > 0 ? area / w : 0.0;
    return {static_cast<float>(s.x(0) - w / 2), static_cast<float>(s.x(1) - h / 2),
            static_cast<float>(s.x(0) + w / 2), static_cast<float>(s.x(1) + h / 2)};
  }
};

struct XyahMotion {
  static constexpr int kDim = 8;
  using State = KalmanState<8, 4>;
  static constexpr double kStdPos = 1.0 / 20.0;
  static constexpr double kStdVel = 1.0 / 160.0;

  static const State::Mat& F() {
    static const State::Mat f = [] {
      State::Mat m = State::Mat::Identity();
      for (int i = 0; i < 4; ++i) m(i, i + 4) = 1.0;
      return m;
    }();
    return f;
  }
  static const State::ObsMat& H() {
    static const State::ObsMat h = State::ObsMat::Identity();
    return h;
  }

  static State::MeasVec measure(const BoxF& b) {
    const double x1 = b.x1, y1 = b.y1;  // in double: float differences lose precision
    const double w = b.x2 - x1, h = b.y2 - y1;
    State::MeasVec z;
    z << x1 + w / 2.0, y1 + h / 2.0, h > 0 ? w / h : 0.0, h;
    return z;
  }

  // Diagonal of the process noise for the current height (before the prediction).
  static State::Vec process_noise_diagonal(double h) {
    State::Vec d;
    d << kStdPos * h, kStdPos * h, 1e-2, kStdPos * h, kStdVel * h, kStdVel * h, 1e-5, kStdVel * h;
    return d.array().square().matrix();
  }
  static State::Mat process_noise(double h) { return process_noise_diagonal(h).asDiagonal(); }
  // Diagonal of the measurement noise for the predicted height.
  static State::MeasVec measurement_noise_diagonal(double h) {
    State::MeasVec d;
    d << kStdPos * h, kStdPos * h, 1e-1, kStdPos * h;
    return d.array().square().matrix();
  }
  static State::MeasMat measurement_noise(double h) {
    return measurement_noise_diagonal(h).asDiagonal();
  }

  static void initiate(const BoxF& b, State* s) {
    const State::MeasVec z = measure(b);
    const double h = z(3);
    s->x.setZero();
    s->x.head<4>() = z;
    State::Vec d;
    d << 2 * kStdPos * h, 2 * kStdPos * h, 1e-2, 2 * kStdPos * h, 10 * kStdVel * h,
        10 * kStdVel * h, 1e-5, 10 * kStdVel * h;
    s->P = d.array().square().matrix().asDiagonal();
  }

  static void predict(State* s) {
    s->predict_constant_velocity<4, 4>(process_noise_diagonal(s->x(3)));
  }

  static void update(const BoxF& b, State* s) {
    s->update_direct(measure(b), measurement_noise_diagonal(s->x(3)));
  }

  // The dense reference forms, for tests.
  static void predict_reference(State* s) { s->predict(F(), process_noise(s->x(3))); }
  static void update_reference(const BoxF& b, State* s) {
    s->update(measure(b), H(), measurement_noise(s->x(3)));
  }

  static BoxF box(const State& s) {
    const double h = std::max(0.0, s.x(3)), w = std::max(0.0, s.x(2)) * h;
    return {static_cast<float>(s.x(0) - w / 2), static_cast<float>(s.x(1) - h / 2),
            static_cast<float>(s.x(0) + w / 2), static_cast<float>(s.x(1) + h / 2)};
  }
};

}  // namespace vas
