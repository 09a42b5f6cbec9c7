#include "pipeline/live_tap.h"

#include <chrono>
#include <utility>

namespace vas {

LiveTap::LiveTap(std::string channel, int trail_frames, int jpeg_quality)
    : channel_(std::move(channel)), jpeg_quality_(jpeg_quality), annotator_(trail_frames) {}

LiveTap::~LiveTap() { close(); }

Status LiveTap::watch(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return not_found("live view: channel '" + channel_ + "' is gone");
  if (on) {
    if (!thread_.joinable()) thread_ = std::thread([this] { encode_loop(); });
    viewers_.fetch_add(1, std::memory_order_relaxed);
    return Status::ok();
  }
  if (viewers_.load(std::memory_order_relaxed) <= 0) {
    return invalid_argument("live view: channel '" + channel_ + "' has no viewer to remove");
  }
  if (viewers_.fetch_sub(1, std::memory_order_relaxed) == 1) latest_ = LiveFrame{};
  return Status::ok();
}

void LiveTap::offer(const ImageView& image, LiveOverlay overlay) {
  if (image.width < 1 || image.height < 1 || image.planes[0] == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    copy_crop_bgr(image, Rect{0, 0, image.width, image.height}, &offered_);
    offered_overlay_ = std::move(overlay);
    pending_.store(true, std::memory_order_release);
  }
  work_cv_.notify_one();
}

void LiveTap::encode_loop() {
  std::vector<uint8_t> jpeg;
  while (true) {
    LiveOverlay ov;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || pending_.load(std::memory_order_relaxed); });
      if (stop_) return;
      std::swap(work_, offered_);  // buffers trade places: no allocation once warm
      ov = std::move(offered_overlay_);
    }
    const Canvas c{work_.data.data(), work_.width, work_.height, work_.stride()};
    annotator_.draw(c, ov.objects, ov.geometry, ov.hud);
    const Status st = jpeg_.encode(work_.view(), jpeg_quality_, &jpeg);
    {
      std::lock_guard<std::mutex> lock(mu_);
      // A frame that failed to encode is skipped; the next one tries again.
      if (st.is_ok() && viewers_.load(std::memory_order_relaxed) > 0) {
        latest_.jpeg = std::make_shared<const std::vector<uint8_t>>(jpeg);
        latest_.seq = ++seq_;
        latest_.frame = ov.frame;
        latest_.capture_us = ov.capture_us;
        latest_.width = work_.width;
        latest_.height = work_.height;
        encoded_.fetch_add(1, std::memory_order_relaxed);
      }
      pending_.store(false, std::memory_order_release);
    }
    frame_cv_.notify_all();
  }
}

Result<LiveFrame> LiveTap::next(uint64_t after_seq, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool got = frame_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return closed_ || (latest_.jpeg && latest_.seq > after_seq);
  });
  if (closed_) return not_found("live view: channel '" + channel_ + "' is gone");
  if (!got) {
    return Status(StatusCode::kTimeout, "live view: no new frame of channel '" + channel_ +
                                            "' within " + std::to_string(timeout_ms) + " ms");
  }
  return latest_;
}

void LiveTap::close() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    stop_ = true;
    viewers_.store(0, std::memory_order_relaxed);
    t = std::move(thread_);
  }
  work_cv_.notify_all();
  frame_cv_.notify_all();
  if (t.joinable()) t.join();
}

}  // namespace vas
