#include "io/video_writer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <string>
#include <utility>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include "io/ffmpeg_log.h"

namespace vas {
namespace {

// Upper bound that catches a frame interval passed as fps (e.g. 0.04 vs 25 is fine, 1e9 is not).
constexpr double kMaxFps = 1000.0;

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  if (av_strerror(err, buf, sizeof(buf)) < 0) return "FFmpeg error " + std::to_string(err);
  return buf;
}

std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

// Maps the file extension to an FFmpeg muxer; only containers we test are accepted.
const char* muxer_for(const std::string& path) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.find_last_of("/\\");
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return nullptr;
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == "mp4") return "mp4";
  if (ext == "mkv") return "matroska";
  if (ext == "avi") return "avi";
  return nullptr;
}

bool supports_yuv420p(const AVCodec* codec) {
  if (codec->pix_fmts == nullptr) return true;  // the encoder does not say; let open decide
  for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p) {
    if (*p == AV_PIX_FMT_YUV420P) return true;
  }
  return false;
}

}  // namespace

class VideoWriter::Impl {
 public:
  Impl(std::string path, int width, int height, const VideoWriterOptions& options)
      : path_(std::move(path)), width_(width), height_(height), options_(options) {}

  ~Impl() {
    sws_freeContext(sws_);
    av_frame_free(&yuv_);
    av_packet_free(&packet_);
    avcodec_free_context(&encoder_);
    if (format_ != nullptr) {
      if (!(format_->oformat->flags & AVFMT_NOFILE)) avio_closep(&format_->pb);
      avformat_free_context(format_);
    }
  }

  Status open();
  Status write(const ImageView& frame);
  Status close();
  int64_t frames_written() const { return next_pts_; }
  bool closed() const { return closed_; }

 private:
  Status error(StatusCode code, const std::string& what) const {
    return Status(code, "video_writer '" + path_ + "': " + what);
  }
  Status drain();

  std::string path_;
  int width_;
  int height_;
  VideoWriterOptions options_;

  // Raw pointers because FFmpeg's free functions take pointer-to-pointer; ~Impl frees them.
  AVFormatContext* format_ = nullptr;
  AVCodecContext* encoder_ = nullptr;
  AVStream* stream_ = nullptr;  // owned by format_
  AVFrame* yuv_ = nullptr;      // reused for every frame
  AVPacket* packet_ = nullptr;  // reused for every packet
  SwsContext* sws_ = nullptr;
  int64_t next_pts_ = 0;
  bool header_written_ = false;
  bool closed_ = false;
};

Status VideoWriter::Impl::open() {
  const char* muxer = muxer_for(path_);
  if (muxer == nullptr) {
    return error(StatusCode::kUnsupported, "unknown container; use a .mp4, .mkv or .avi file");
  }

  const AVCodec* codec = avcodec_find_encoder_by_name(options_.codec.c_str());
  if (codec == nullptr && options_.codec == "libx264") {
    // FFmpeg builds without GPL parts lack libx264; mpeg4 is always built in.
    codec = avcodec_find_encoder_by_name("mpeg4");
  }
  if (codec == nullptr || codec->type != AVMEDIA_TYPE_VIDEO) {
    return error(StatusCode::kUnsupported,
                 "no video encoder named '" + options_.codec + "' in this FFmpeg build");
  }
  if (!supports_yuv420p(codec)) {
    return error(StatusCode::kUnsupported,
                 std::string("encoder ") + codec->name + " cannot encode yuv420p");
  }

  int err = avformat_alloc_output_context2(&format_, nullptr, muxer, path_.c_str());
  if (err < 0 || format_ == nullptr) {
    return error(StatusCode::kUnsupported,
                 std::string("cannot create a ") + muxer + " muxer: " + av_error_text(err));
  }
  stream_ = avformat_new_stream(format_, nullptr);
  encoder_ = avcodec_alloc_context3(codec);
  if (stream_ == nullptr || encoder_ == nullptr) {
    return error(StatusCode::kOutOfMemory, "out of memory");
  }

  const AVRational rate = av_d2q(options_.fps, 100000);
  encoder_->codec_id = codec->id;
  encoder_->width = width_;
  encoder_->height = height_;
  encoder_->pix_fmt = AV_PIX_FMT_YUV420P;
  encoder_->framerate = rate;
  encoder_->time_base = av_inv_q(rate);
  encoder_->sample_aspect_ratio = AVRational{1, 1};
  // swscale converts with BT.601 limited range; say so, or HD players assume BT.709.
  encoder_->colorspace = AVCOL_SPC_SMPTE170M;
  encoder_->color_range = AVCOL_RANGE_MPEG;
  if (format_->oformat->flags & AVFMT_GLOBALHEADER) {
    encoder_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }

  // Quality knobs go to the encoder's private options when it has them.
  if (av_opt_find(encoder_->priv_data, "crf", nullptr, 0, 0) != nullptr) {
    av_opt_set_int(encoder_->priv_data, "crf", options_.crf, 0);
  } else {
    // Fixed quantizer instead: crf 0..51 maps roughly onto qscale 2..13 (lower is better).
    const int q = std::clamp(static_cast<int>(std::lround(options_.crf / 4.0)), 2, 31);
    encoder_->flags |= AV_CODEC_FLAG_QSCALE;
    encoder_->global_quality = FF_QP2LAMBDA * q;
  }
  if (!options_.preset.empty() &&
      av_opt_find(encoder_->priv_data, "preset", nullptr, 0, 0) != nullptr) {
    av_opt_set(encoder_->priv_data, "preset", options_.preset.c_str(), 0);
  }

  err = avcodec_open2(encoder_, codec, nullptr);
  if (err < 0) {
    return error(err == AVERROR(EINVAL) ? StatusCode::kInvalidArgument : StatusCode::kUnsupported,
                 std::string("cannot open encoder ") + codec->name + " (" +
                     size_text(width_, height_) + ", preset '" + options_.preset + "', crf " +
                     std::to_string(options_.crf) + "): " + av_error_text(err));
  }
  err = avcodec_parameters_from_context(stream_->codecpar, encoder_);
  if (err < 0) return error(StatusCode::kInternal, "codec parameters: " + av_error_text(err));
  stream_->time_base = encoder_->time_base;  // a hint; the muxer may pick its own
  stream_->avg_frame_rate = rate;

  if (!(format_->oformat->flags & AVFMT_NOFILE)) {
    err = avio_open(&format_->pb, path_.c_str(), AVIO_FLAG_WRITE);
    if (err < 0) {
      return error(err == AVERROR(ENOENT) ? StatusCode::kNotFound : StatusCode::kIoError,
                   "cannot create the file: " + av_error_text(err));
    }
  }
  AVDictionary* mux_opts = nullptr;
  if (std::string(muxer) == "mp4") {
    // Index first, so browsers and players can start before the whole file is downloaded.
    av_dict_set(&mux_opts, "movflags", "+faststart", 0);
  }
  err = avformat_write_header(format_, &mux_opts);
  av_dict_free(&mux_opts);
  if (err < 0) return error(StatusCode::kIoError, "cannot write header: " + av_error_text(err));
  header_written_ = true;

  yuv_ = av_frame_alloc();
  packet_ = av_packet_alloc();
  if (yuv_ == nullptr || packet_ == nullptr)
    return error(StatusCode::kOutOfMemory, "out of memory");
  yuv_->format = AV_PIX_FMT_YUV420P;
  yuv_->width = width_;
  yuv_->height = height_;
  err = av_frame_get_buffer(yuv_, 0);
  if (err < 0) return error(StatusCode::kOutOfMemory, "frame buffer: " + av_error_text(err));
  return Status::ok();
}

// Moves every packet the encoder has ready into the muxer.
Status VideoWriter::Impl::drain() {
  for (;;) {
    int err = avcodec_receive_packet(encoder_, packet_);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return Status::ok();
    if (err < 0) return error(StatusCode::kIoError, "encoding failed: " + av_error_text(err));
    av_packet_rescale_ts(packet_, encoder_->time_base, stream_->time_base);
    packet_->stream_index = stream_->index;
    err = av_interleaved_write_frame(format_, packet_);  // takes the packet's data
    if (err < 0) return error(StatusCode::kIoError, "cannot write: " + av_error_text(err));
  }
}

Status VideoWriter::Impl::write(const ImageView& frame) {
  if (closed_) return error(StatusCode::kInvalidArgument, "write() after close()");
  if (frame.format != PixelFormat::kBGR24 && frame.format != PixelFormat::kRGB24) {
    return error(StatusCode::kInvalidArgument, std::string("frame format is ") +
                                                   pixel_format_name(frame.format) +
                                                   ", expected BGR24 or RGB24");
  }
  if (frame.width != width_ || frame.height != height_) {
    return error(StatusCode::kInvalidArgument, "frame is " + size_text(frame.width, frame.height) +
                                                   ", but the writer was opened for " +
                                                   size_text(width_, height_));
  }
  Status valid = frame.validate();
  if (!valid.is_ok()) return valid.with_context("video_writer '" + path_ + "'");

  // The encoder may still reference the previous picture; this copies only in that case.
  int err = av_frame_make_writable(yuv_);
  if (err < 0) return error(StatusCode::kOutOfMemory, "frame buffer: " + av_error_text(err));
  const AVPixelFormat src =
      frame.format == PixelFormat::kBGR24 ? AV_PIX_FMT_BGR24 : AV_PIX_FMT_RGB24;
  sws_ = sws_getCachedContext(sws_, width_, height_, src, width_, height_, AV_PIX_FMT_YUV420P,
                              SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (sws_ == nullptr) return error(StatusCode::kInternal, "cannot create a swscale context");
  const uint8_t* const src_planes[4] = {frame.planes[0], nullptr, nullptr, nullptr};
  const int src_strides[4] = {frame.strides[0], 0, 0, 0};
  sws_scale(sws_, src_planes, src_strides, 0, height_, yuv_->data, yuv_->linesize);

  yuv_->pts = next_pts_;
  err = avcodec_send_frame(encoder_, yuv_);
  if (err < 0) return error(StatusCode::kIoError, "encoding failed: " + av_error_text(err));
  ++next_pts_;
  return drain();
}

Status VideoWriter::Impl::close() {
  if (closed_) return Status::ok();
  closed_ = true;
  Status status;
  if (header_written_) {
    int err = avcodec_send_frame(encoder_, nullptr);  // enter draining mode
    if (err < 0 && err != AVERROR_EOF) {
      status = error(StatusCode::kIoError, "flushing the encoder: " + av_error_text(err));
    }
    if (status.is_ok()) status = drain();
    // The trailer is what makes mp4 playable; write it even after an encoder error.
    err = av_write_trailer(format_);
    if (err < 0 && status.is_ok()) {
      status = error(StatusCode::kIoError, "cannot write trailer: " + av_error_text(err));
    }
  }
  if (format_ != nullptr && !(format_->oformat->flags & AVFMT_NOFILE)) {
    const int err = avio_closep(&format_->pb);
    if (err < 0 && status.is_ok()) {
      status = error(StatusCode::kIoError, "cannot close the file: " + av_error_text(err));
    }
  }
  return status;
}

Result<std::unique_ptr<VideoWriter>> VideoWriter::open(const std::string& path, int width,
                                                       int height,
                                                       const VideoWriterOptions& options) {
  route_ffmpeg_logs();
  if (path.empty()) return invalid_argument("video_writer: path is empty");
  const std::string who = "video_writer '" + path + "': ";
  if (width <= 0 || height <= 0) {
    return invalid_argument(who + "size must be positive, got " + size_text(width, height));
  }
  if (width % 2 != 0 || height % 2 != 0) {
    return invalid_argument(who + "yuv420p needs an even width and height, got " +
                            size_text(width, height) + "; crop the frame view by one pixel");
  }
  if (!std::isfinite(options.fps) || options.fps <= 0 || options.fps > kMaxFps) {
    return invalid_argument(who + "fps must be in (0, 1000], got " + std::to_string(options.fps));
  }
  if (options.crf < 0 || options.crf > 51) {
    return invalid_argument(who + "crf must be in [0, 51], got " + std::to_string(options.crf));
  }
  auto impl = std::make_unique<Impl>(path, width, height, options);
  VAS_RETURN_IF_ERROR(impl->open());
  return std::unique_ptr<VideoWriter>(new VideoWriter(std::move(impl)));
}

VideoWriter::VideoWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

VideoWriter::~VideoWriter() {
  if (!impl_->closed()) (void)impl_->close();  // nobody to report to; close() explicitly to see
}

Status VideoWriter::write(const ImageView& frame) { return impl_->write(frame); }
Status VideoWriter::close() { return impl_->close(); }
int64_t VideoWriter::frames_written() const { return impl_->frames_written(); }

}  // namespace vas
