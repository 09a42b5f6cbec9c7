#include "io/video_reader.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <utility>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>
#include <libswscale/swscale.h>
}

#include "core/log.h"
#include "io/ffmpeg_log.h"

namespace vas {
namespace {

// Decoder errors in a row, with no frame in between, before read() gives up on the stream.
constexpr int kMaxConsecutiveErrors = 100;
// Budget for the RTSP TEARDOWN and socket close when the reader is destroyed.
constexpr int64_t kCloseTimeoutUs = 1000 * 1000;
// A hole in the file between demuxed packets larger than this is data the demuxer skipped to
// resynchronise. Containers put chunk headers, JUNK or free boxes and index entries between
// packets; Megamind.avi (XviD from VirtualDub) has one JUNK run of 11 KB, so the bar sits well
// above that.
constexpr int64_t kMaxPacketGapBytes = 24 * 1024;

// FFmpeg's messages (concealed errors, damaged headers) go through vasdk's log sink, so an
// application that routes vasdk logging (vas_set_log_callback) sees them there instead of as
// raw lines on stderr. Errors become warnings: the reader reports damage itself, in stats().
void ffmpeg_log_to_vasdk(void* avcl, int level, const char* fmt, va_list args) {
  if (level > av_log_get_level()) return;
  const LogLevel ours = level <= AV_LOG_WARNING ? LogLevel::kWarn
                        : level <= AV_LOG_INFO  ? LogLevel::kInfo
                                                : LogLevel::kDebug;
  if (!log_enabled(ours)) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2(avcl, level, fmt, args, line, sizeof(line), &print_prefix);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) log(ours, "ffmpeg: " + text);
}

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  if (av_strerror(err, buf, sizeof(buf)) < 0) return "FFmpeg error " + std::to_string(err);
  return buf;
}

// The size a file's container declares for itself, from its top-level chunks: RIFF (AVI,
// including OpenDML's AVIX chunks) and ISO-BMFF boxes (MP4, MOV). -1 when the format has no
// such framing or the header cannot be read. A file shorter than this was cut.
int64_t declared_file_size(const std::string& path, const char* format_name) {
  const std::string name = format_name ? format_name : "";
  const bool riff = name == "avi";
  const bool bmff = name.find("mp4") != std::string::npos || name.find("mov") != std::string::npos;
  if (!riff && !bmff) return -1;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return -1;
  int64_t at = 0;
  int64_t end = -1;
  for (int chunks = 0; chunks < 100000; ++chunks) {
    unsigned char h[16];
    if (fseeko(f, at, SEEK_SET) != 0 || std::fread(h, 1, 8, f) != 8) break;
    int64_t size = 0;
    if (riff) {
      if (std::memcmp(h, "RIFF", 4) != 0) break;
      size = 8 + (int64_t{h[4]} | int64_t{h[5]} << 8 | int64_t{h[6]} << 16 | int64_t{h[7]} << 24);
      size += size & 1;
    } else {
      size = int64_t{h[0]} << 24 | int64_t{h[1]} << 16 | int64_t{h[2]} << 8 | int64_t{h[3]};
      if (size == 1) {  // 64-bit size after the type
        if (std::fread(h + 8, 1, 8, f) != 8) break;
        size = 0;
        for (int i = 8; i < 16; ++i) size = size << 8 | h[i];
      } else if (size == 0) {
        break;  // the last box runs to the end of the file, whatever that is
      }
      if (size < 8) break;
    }
    at += size;
    end = at;
  }
  std::fclose(f);
  return end;
}

bool is_keyframe(const AVFrame& f) {
#ifdef AV_FRAME_FLAG_KEY
  return (f.flags & AV_FRAME_FLAG_KEY) != 0 || f.pict_type == AV_PICTURE_TYPE_I;
#else
  return f.key_frame != 0 || f.pict_type == AV_PICTURE_TYPE_I;
#endif
}

// yuvj* formats are yuv* with full range; naming the range explicitly keeps swscale from
// warning that the deprecated formats were used.
AVPixelFormat unjpeg_format(AVPixelFormat f, bool* full_range) {
  switch (f) {
    case AV_PIX_FMT_YUVJ420P:
      *full_range = true;
      return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
      *full_range = true;
      return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
      *full_range = true;
      return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
      *full_range = true;
      return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P:
      *full_range = true;
      return AV_PIX_FMT_YUV411P;
    default:
      return f;
  }
}

struct FormatCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecFreer {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFreer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct SwsFreer {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct AvFreer {
  void operator()(uint8_t* p) const { av_free(p); }
};

// What the conversion context was built for; a change in any field rebuilds it.
struct SwsKey {
  int width = 0;
  int height = 0;
  int format = AV_PIX_FMT_NONE;
  int colorspace = AVCOL_SPC_UNSPECIFIED;
  bool full_range = false;
  bool operator==(const SwsKey& o) const {
    return width == o.width && height == o.height && format == o.format &&
           colorspace == o.colorspace && full_range == o.full_range;
  }
};

}  // namespace

// FFmpeg logs at INFO by default, which prints banners and per-stream notes. Lower it once, and
// only when the application has not chosen a level of its own.
void route_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(&ffmpeg_log_to_vasdk);
  });
}

std::string redact_url(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t path = url.find('/', host);
  const size_t at = url.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at == std::string::npos || at < host) return url;
  return url.substr(0, host) + "***@" + url.substr(at + 1);
}

std::string url_scheme(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  std::string s = url.substr(0, scheme);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const char* end_reason(const VideoReaderStats& s) {
  if (s.truncated) return "truncated";
  if (s.damaged > 0 || s.rejected_packets > 0 || s.skipped_bytes > 0 || s.missing_frames > 0)
    return "damaged";
  return "complete";
}

class VideoReader::Impl {
 public:
  Impl(std::string url, const VideoReaderOptions& options)
      : url_(std::move(url)), name_(redact_url(url_)), options_(options) {}

  ~Impl() {
    // Give the demuxer a short, fresh budget for closing (e.g. RTSP TEARDOWN).
    if (network_) deadline_us_ = av_gettime_relative() + kCloseTimeoutUs;
    format_.reset();
  }

  Status open();
  Status read(Frame* out);
  Status read(Pool& pool, VideoFrame* out);
  const VideoInfo& info() const { return info_; }
  int64_t skipped_packets() const { return stats_.damaged + stats_.rejected_packets; }
  const VideoReaderStats& stats() const { return stats_; }

 private:
  static int interrupt_callback(void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (self->cancel_requested()) {
      self->cancelled_ = true;
      return 1;
    }
    if (self->deadline_us_ > 0 && av_gettime_relative() > self->deadline_us_) {
      self->timed_out_ = true;
      return 1;
    }
    return 0;
  }
  bool cancel_requested() const {
    return options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed);
  }
  Status cancelled_status() const {
    return Status(StatusCode::kCancelled, "video_reader '" + name_ + "': interrupted");
  }
  void arm_deadline(int timeout_ms) {
    timed_out_ = false;
    deadline_us_ = (network_ && timeout_ms > 0)
                       ? av_gettime_relative() + static_cast<int64_t>(timeout_ms) * 1000
                       : 0;
  }
  // Socket-level timeouts surface as protocol errors (RTSP reports "invalid data"), so an error
  // at or after the deadline counts as a timeout whatever its code.
  bool is_timeout(int err) const {
    return timed_out_ || err == AVERROR_EXIT || err == AVERROR(ETIMEDOUT) ||
           (deadline_us_ > 0 && av_gettime_relative() >= deadline_us_);
  }

  Status open_error(const std::string& what, int err) const;
  Status read_packet();
  // Positions and times of demuxed packets: gaps the demuxer skipped, and how far the stream
  // got against the end the container declares.
  void note_packet(const AVPacket& p);
  // At the end of the input: sets stats_.truncated when the stream stopped short.
  void judge_end();
  // A decode error: frames are unreliable until the next clean keyframe.
  void taint() { tainted_ = true; }
  // Makes frame_ hold the next decoded frame (frame_ready_), unless one is already waiting.
  Status decode();
  // (Re)builds sws_ for frame_ and the output format.
  Status prepare_converter();
  // Converts frame_ into the given planes, fills the index and pts, and releases frame_.
  void convert(uint8_t* const dst[4], const int dst_stride[4], int64_t* index, int64_t* pts_us,
               bool* damaged);
  Status end_of_stream() const {
    return Status(StatusCode::kEndOfStream, "video_reader '" + name_ + "': end of stream");
  }

  std::string url_;
  std::string name_;  // url_ without credentials, for messages
  VideoReaderOptions options_;
  VideoInfo info_;
  bool network_ = false;

  std::unique_ptr<AVFormatContext, FormatCloser> format_;
  std::unique_ptr<AVCodecContext, CodecFreer> decoder_;
  std::unique_ptr<AVPacket, PacketFreer> packet_;
  std::unique_ptr<AVFrame, FrameFreer> frame_;
  std::unique_ptr<SwsContext, SwsFreer> sws_;
  SwsKey sws_key_;
  std::unique_ptr<uint8_t, AvFreer> buffer_;  // output pixels, reused across frames
  size_t buffer_size_ = 0;

  int stream_index_ = -1;
  AVRational time_base_{0, 1};
  int64_t start_pts_ = AV_NOPTS_VALUE;
  int64_t next_index_ = 0;
  VideoReaderStats stats_;
  int consecutive_errors_ = 0;
  bool packet_pending_ = false;  // packet_ holds data the decoder has not taken yet
  bool flushing_ = false;        // demuxer hit EOF and the decoder was sent the flush packet
  bool ended_ = false;
  Status stalled_;              // the read timeout fired: every later read fails the same way
  bool frame_ready_ = false;    // frame_ holds a decoded frame that no read() has returned yet
  bool frame_damaged_ = false;  // the ready frame was flagged or follows a decode error
  bool tainted_ = false;        // a decode error since the last clean keyframe
  int64_t pending_packet_bytes_ = 0;  // size of the packet handed to the decoder last
  // Files: byte ranges covered by demuxed packets, start -> end, merged across small gaps.
  std::map<int64_t, int64_t> covered_;
  std::array<int64_t, 64> recent_pos_{};  // positions of the latest packets (a ring)
  size_t recent_next_ = 0;
  bool last_packet_corrupt_ = false;       // the last demuxed packet was short or flagged corrupt
  int64_t video_end_ = AV_NOPTS_VALUE;     // latest pts + duration of a video packet (time_base_)
  int64_t declared_end_ = AV_NOPTS_VALUE;  // the container's end of the video (time_base_)
  int64_t end_tolerance_ = 0;              // how far short of it still counts as complete
  int64_t frame_ticks_ = 0;                // one frame interval (time_base_), 0 if unknown
  int64_t declared_size_ = -1;             // the container's own size of the file, -1 unknown
  int64_t file_size_ = -1;

  int64_t deadline_us_ = 0;  // av_gettime_relative() limit for blocking I/O; 0 means none
  bool timed_out_ = false;
  bool cancelled_ = false;  // the interrupt callback stopped FFmpeg because of options_.cancel
};

Status VideoReader::Impl::open_error(const std::string& what, int err) const {
  const std::string prefix = "video_reader: " + what + " '" + name_ + "': ";
  if (cancelled_ || cancel_requested())
    return Status(StatusCode::kCancelled, prefix + "interrupted");
  if (is_timeout(err)) {
    return Status(StatusCode::kTimeout, prefix + "no answer within " +
                                            std::to_string(options_.open_timeout_ms) +
                                            " ms (FFmpeg: " + av_error_text(err) + ")");
  }
  const std::string msg = prefix + av_error_text(err);
  if (err == AVERROR(ENOENT) || err == AVERROR_HTTP_NOT_FOUND) return not_found(msg);
  // Empty, truncated or corrupt data (and data that is no container at all) is an I/O problem
  // of this input, not a missing feature.
  if (err == AVERROR_INVALIDDATA || err == AVERROR_EOF) {
    return io_error(msg + " (empty, truncated or corrupt, or not a video)");
  }
  if (err == AVERROR_PROTOCOL_NOT_FOUND || err == AVERROR_DEMUXER_NOT_FOUND ||
      err == AVERROR_DECODER_NOT_FOUND || err == AVERROR_PATCHWELCOME) {
    return unsupported(msg);
  }
  return io_error(msg);
}

Status VideoReader::Impl::open() {
  const std::string scheme = url_scheme(url_);
  network_ = !scheme.empty() && scheme != "file";

  AVFormatContext* ctx = avformat_alloc_context();
  if (ctx == nullptr) return Status(StatusCode::kOutOfMemory, "video_reader: out of memory");
  // Every protocol polls this callback while it waits (connect, reads, RTSP replies), so it
  // enforces the deadlines exactly; only a blocking DNS lookup cannot be cut short.
  ctx->interrupt_callback.callback = &Impl::interrupt_callback;
  ctx->interrupt_callback.opaque = this;

  AVDictionary* opts = nullptr;
  if (network_) {
    if (options_.analyze_ms > 0) {
      av_dict_set_int(&opts, "analyzeduration", int64_t{options_.analyze_ms} * 1000, 0);
    }
    // Socket-level timeouts (microseconds) back up the callback for code that does not poll it.
    // They cover open and reads alike, so they get the larger budget and never fire first.
    if (options_.open_timeout_ms > 0 && options_.read_timeout_ms > 0) {
      const int64_t us =
          int64_t{std::max(options_.open_timeout_ms, options_.read_timeout_ms)} * 1000;
      av_dict_set_int(&opts, "timeout", us, 0);
      av_dict_set_int(&opts, "rw_timeout", us, 0);
    }
    if (scheme == "rtsp" || scheme == "rtsps") {
      av_dict_set(&opts, "rtsp_transport", options_.rtsp_tcp ? "tcp" : "udp", 0);
    }
  }
  arm_deadline(options_.open_timeout_ms);
  int err = avformat_open_input(&ctx, url_.c_str(), nullptr, &opts);
  av_dict_free(&opts);
  if (err < 0) return open_error("cannot open", err);  // FFmpeg freed ctx
  format_.reset(ctx);

  err = avformat_find_stream_info(ctx, nullptr);
  // Probing returns OK with what it has when interrupted, but the I/O context keeps the error.
  if (err >= 0 && (timed_out_ || cancelled_)) err = AVERROR_EXIT;
  if (err < 0) return open_error("cannot read stream info of", err);
  deadline_us_ = 0;  // the rest of open() does no I/O

  // The first real video stream; cover art is stored as a one-frame "video" stream.
  AVStream* stream = nullptr;
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    AVStream* s = ctx->streams[i];
    if (stream == nullptr && s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      stream = s;
    } else if (network_ || (s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      s->discard = AVDISCARD_ALL;  // lets the demuxer skip packets nobody reads
    }
    // Files keep their other streams: their packets are dropped unread, but their positions
    // tell a gap the demuxer skipped (garbage) from the audio between two video packets.
  }
  if (stream == nullptr) {
    return unsupported("video_reader: '" + name_ + "' has no video stream (format " +
                       ctx->iformat->name + ", " + std::to_string(ctx->nb_streams) + " streams)");
  }
  stream_index_ = stream->index;
  time_base_ = stream->time_base;
  start_pts_ = stream->start_time;

  const AVCodecParameters* par = stream->codecpar;
  const char* codec_name = avcodec_get_name(par->codec_id);
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (codec == nullptr) {
    return unsupported("video_reader: '" + name_ + "': no decoder for codec " + codec_name);
  }
  decoder_.reset(avcodec_alloc_context3(codec));
  if (!decoder_) return Status(StatusCode::kOutOfMemory, "video_reader: out of memory");
  err = avcodec_parameters_to_context(decoder_.get(), par);
  if (err < 0) return open_error("cannot configure decoder for", err);
  decoder_->thread_count = options_.threads;
  decoder_->pkt_timebase = stream->time_base;
  err = avcodec_open2(decoder_.get(), codec, nullptr);
  if (err < 0) return open_error(std::string("cannot open ") + codec_name + " decoder for", err);

  info_.width = par->width;
  info_.height = par->height;
  const AVRational rate = av_guess_frame_rate(ctx, stream, nullptr);
  info_.fps = (rate.num > 0 && rate.den > 0) ? av_q2d(rate) : 0.0;
  info_.frame_count = stream->nb_frames > 0 ? stream->nb_frames : -1;
  info_.codec = codec_name;
  // The end the container declares: the stream's own duration where it has one (AVI, MP4),
  // else the file's (Matroska), which may include a longer audio track, so it gets more slack.
  if (!network_ && time_base_.num > 0 && time_base_.den > 0) {
    const int64_t start = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
    const int64_t frame = info_.fps > 0 ? av_rescale_q(std::llround(1e6 / info_.fps),
                                                       AVRational{1, 1000000}, time_base_)
                                        : 0;
    frame_ticks_ = frame;
    file_size_ = ctx->pb != nullptr ? avio_size(ctx->pb) : -1;
    const std::string path = url_.rfind("file:", 0) == 0 ? url_.substr(5) : url_;
    declared_size_ = declared_file_size(path, ctx->iformat->name);
    if (stream->duration > 0) {
      declared_end_ = start + stream->duration;
      end_tolerance_ = std::max(frame * 3 / 2, stream->duration / 200);
    } else if (ctx->duration > 0) {
      declared_end_ = start + av_rescale_q(ctx->duration, AVRational{1, AV_TIME_BASE}, time_base_);
      end_tolerance_ = std::max(av_rescale_q(500000, AVRational{1, 1000000}, time_base_),
                                (declared_end_ - start) / 50);
    }
  }
  if (info_.width <= 0 || info_.height <= 0) {
    return io_error("video_reader: '" + name_ + "': cannot determine the frame size of its " +
                    codec_name + " stream (truncated or corrupt?)");
  }
  if (options_.output_format == PixelFormat::kNV12 && (info_.width % 2 || info_.height % 2)) {
    return unsupported("video_reader: '" + name_ + "' is " + std::to_string(info_.width) + "x" +
                       std::to_string(info_.height) +
                       "; NV12 output needs even width and height (use BGR24 or RGB24)");
  }

  packet_.reset(av_packet_alloc());
  frame_.reset(av_frame_alloc());
  if (!packet_ || !frame_) return Status(StatusCode::kOutOfMemory, "video_reader: out of memory");
  return Status::ok();
}

// Fetches the next packet of our stream into packet_, or switches to flushing at end of input.
Status VideoReader::Impl::read_packet() {
  for (;;) {
    arm_deadline(options_.read_timeout_ms);
    int err = av_read_frame(format_.get(), packet_.get());
    if (err >= 0 && (timed_out_ || cancelled_)) {
      // Interrupted demuxers may still hand out what they had buffered (RTSP flushes its RTP
      // queue); the stall is what matters, so report it now instead of after another timeout.
      av_packet_unref(packet_.get());
      err = AVERROR_EXIT;
    }
    const bool timeout = err < 0 && is_timeout(err);
    deadline_us_ = 0;
    if (err < 0 && (cancelled_ || cancel_requested())) return cancelled_status();
    if (err == AVERROR_EOF ||
        (err < 0 && !timeout && format_->pb != nullptr && avio_feof(format_->pb))) {
      // A truncated file ends in a read error at the end of the data; treat it as the end too,
      // and say so in stats().
      if (err != AVERROR_EOF) stats_.truncated = true;
      judge_end();
      flushing_ = true;
      return Status::ok();
    }
    if (err < 0) {
      if (timeout) {
        // Sticky: the demuxer's connection is dead even if the decoder still holds frames.
        stalled_ =
            Status(StatusCode::kTimeout, "video_reader '" + name_ + "': no data within " +
                                             std::to_string(options_.read_timeout_ms) + " ms");
        return stalled_;
      }
      return io_error("video_reader '" + name_ + "': read failed: " + av_error_text(err));
    }
    note_packet(*packet_);
    if (packet_->stream_index == stream_index_) {
      if (packet_->flags & AV_PKT_FLAG_CORRUPT) {
        // Short (the file ended inside it) or damaged by the demuxer: it may still decode, but
        // what comes of it is suspect.
        stats_.skipped_bytes += packet_->size;
        taint();
      }
      pending_packet_bytes_ = packet_->size;
      packet_pending_ = true;
      return Status::ok();
    }
    av_packet_unref(packet_.get());
  }
}

void VideoReader::Impl::note_packet(const AVPacket& p) {
  if (network_) return;
  last_packet_corrupt_ = (p.flags & AV_PKT_FLAG_CORRUPT) != 0;
  if (p.pos >= 0 && p.size > 0) {
    // Demuxers read interleaved streams out of file order (by time), so a forward jump is not
    // yet a gap: ranges are merged as packets fill them in, and a hole is final once every
    // recent packet lies beyond it.
    auto it = covered_.lower_bound(p.pos);
    int64_t start = p.pos, end = p.pos + p.size;
    if (it != covered_.begin() && std::prev(it)->second >= start - kMaxPacketGapBytes) --it;
    while (it != covered_.end() && it->first <= end + kMaxPacketGapBytes) {
      start = std::min(start, it->first);
      end = std::max(end, it->second);
      it = covered_.erase(it);
    }
    covered_[start] = end;
    recent_pos_[recent_next_++ % recent_pos_.size()] = p.pos;
    const int64_t low = *std::min_element(recent_pos_.begin(), recent_pos_.end());
    while (covered_.size() > 1 && std::next(covered_.begin())->first <= low) {
      auto first = covered_.begin();
      auto second = std::next(first);
      stats_.skipped_bytes += second->first - first->second;
      taint();
      const int64_t merged_end = std::max(first->second, second->second);
      const int64_t merged_start = first->first;
      covered_.erase(first, std::next(second));
      covered_[merged_start] = merged_end;
    }
  }
  if (p.stream_index == stream_index_) {
    const int64_t ts = p.pts != AV_NOPTS_VALUE ? p.pts : p.dts;
    if (ts != AV_NOPTS_VALUE) {
      const int64_t end = ts + std::max<int64_t>(p.duration, 0);
      if (video_end_ == AV_NOPTS_VALUE || end > video_end_) video_end_ = end;
    }
  }
}

void VideoReader::Impl::judge_end() {
  if (network_) return;
  // Holes that no packet came back to fill.
  for (auto it = covered_.begin(); it != covered_.end() && std::next(it) != covered_.end(); ++it)
    stats_.skipped_bytes += std::next(it)->first - it->second;
  covered_.clear();
  if (last_packet_corrupt_) stats_.truncated = true;  // EOF in the middle of a packet
  if (declared_size_ > 0 && file_size_ >= 0 && file_size_ < declared_size_) {
    stats_.truncated = true;  // shorter than its container says
  }
  const bool short_of_end =
      declared_end_ != AV_NOPTS_VALUE &&
      (video_end_ == AV_NOPTS_VALUE || video_end_ < declared_end_ - end_tolerance_);
  if (!short_of_end) return;
  const int64_t got = video_end_ == AV_NOPTS_VALUE ? 0 : video_end_;
  stats_.missing_frames =
      frame_ticks_ > 0 ? std::max<int64_t>(1, (declared_end_ - got) / frame_ticks_) : 1;
  // The stream stopped short of its declared end. In a file whose container framing is
  // whole, that is frames lost in the middle (damage); without framing to check, the data
  // ran out (truncation).
  if (declared_size_ <= 0) stats_.truncated = true;
}

Status VideoReader::Impl::decode() {
  if (cancel_requested()) return cancelled_status();
  if (frame_ready_) return Status::ok();
  if (!stalled_.is_ok()) return stalled_;
  if (ended_) return end_of_stream();
  for (;;) {
    int err = avcodec_receive_frame(decoder_.get(), frame_.get());
    if (err >= 0) {
      consecutive_errors_ = 0;
      const bool flagged =
          frame_->decode_error_flags != 0 || (frame_->flags & AV_FRAME_FLAG_CORRUPT) != 0;
      if (flagged) {
        ++stats_.damaged;
        taint();  // later frames predict from this one
        if (options_.drop_corrupt_frames) {
          // The decoder concealed damage (e.g. msmpeg4 and H.264 after corrupt or lost data):
          // the frame is progress, so it does not count towards the error limit, but it is not
          // shown.
          av_frame_unref(frame_.get());
          continue;
        }
      } else if (is_keyframe(*frame_)) {
        tainted_ = false;  // a clean keyframe predicts from nothing before it
      }
      frame_damaged_ = flagged || tainted_;
      if (frame_damaged_) ++stats_.after_error;
      frame_ready_ = true;
      return Status::ok();
    }
    if (err == AVERROR_EOF || (err == AVERROR(EAGAIN) && flushing_)) {
      ended_ = true;
      return end_of_stream();
    }
    if (err != AVERROR(EAGAIN)) {
      // Frame-threaded decoders report a bad packet here rather than from send.
      ++stats_.rejected_packets;
      taint();
    } else {
      if (!packet_pending_) {
        VAS_RETURN_IF_ERROR(read_packet());
        if (flushing_) {
          avcodec_send_packet(decoder_.get(), nullptr);  // drains the frames it still holds
          continue;
        }
      }
      err = avcodec_send_packet(decoder_.get(), packet_.get());
      // EAGAIN right after receive said EAGAIN breaks the API contract; keep the packet and let
      // the error count below end a loop that would otherwise never finish.
      if (err != AVERROR(EAGAIN)) {
        av_packet_unref(packet_.get());
        packet_pending_ = false;
        if (err >= 0) continue;
        ++stats_.rejected_packets;
        stats_.skipped_bytes += pending_packet_bytes_;
        taint();
      }
    }
    if (++consecutive_errors_ > kMaxConsecutiveErrors) {
      return io_error("video_reader '" + name_ + "': " + std::to_string(consecutive_errors_) +
                      " undecodable packets in a row, last: " + av_error_text(err));
    }
  }
}

Status VideoReader::Impl::prepare_converter() {
  const AVFrame* f = frame_.get();
  const int w = f->width;
  const int h = f->height;
  bool full_range = f->color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat src = unjpeg_format(static_cast<AVPixelFormat>(f->format), &full_range);
  Status error;
  if (w <= 0 || h <= 0 || src == AV_PIX_FMT_NONE) {
    error = io_error("video_reader '" + name_ + "': decoder returned an empty frame");
  }
  const PixelFormat fmt = options_.output_format;
  if (error.is_ok() && fmt == PixelFormat::kNV12 && (w % 2 || h % 2)) {
    error = unsupported("video_reader '" + name_ + "': frame size changed to " + std::to_string(w) +
                        "x" + std::to_string(h) + "; NV12 output needs even width and height");
  }
  const SwsKey key{w, h, src, f->colorspace, full_range};
  if (error.is_ok() && (!sws_ || !(key == sws_key_))) {
    const AVPixelFormat dst = fmt == PixelFormat::kNV12    ? AV_PIX_FMT_NV12
                              : fmt == PixelFormat::kRGB24 ? AV_PIX_FMT_RGB24
                                                           : AV_PIX_FMT_BGR24;
    sws_.reset(sws_getContext(w, h, src, w, h, dst, SWS_BILINEAR, nullptr, nullptr, nullptr));
    if (!sws_) {
      const char* name = av_get_pix_fmt_name(src);
      error = unsupported("video_reader '" + name_ + "': cannot convert pixel format " +
                          (name ? name : "unknown") + " to " + pixel_format_name(fmt));
    } else {
      const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(src);
      if (desc != nullptr && !(desc->flags & AV_PIX_FMT_FLAG_RGB)) {
        // Unspecified colour spaces fall back to BT.601, as players do for SD content.
        const int cs =
            (f->colorspace > 0 && f->colorspace < AVCOL_SPC_NB) ? f->colorspace : SWS_CS_DEFAULT;
        sws_setColorspaceDetails(sws_.get(), sws_getCoefficients(cs), full_range ? 1 : 0,
                                 sws_getCoefficients(SWS_CS_DEFAULT),
                                 fmt == PixelFormat::kNV12 ? 0 : 1, 0, 1 << 16, 1 << 16);
      }
      sws_key_ = key;
    }
  }
  if (!error.is_ok()) {
    // A frame that cannot be converted is dropped, so the next read moves on.
    av_frame_unref(frame_.get());
    frame_ready_ = false;
  }
  return error;
}

void VideoReader::Impl::convert(uint8_t* const dst[4], const int dst_stride[4], int64_t* index,
                                int64_t* pts_us, bool* damaged) {
  *damaged = frame_damaged_;
  const AVFrame* f = frame_.get();
  sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, dst, dst_stride);
  *index = next_index_++;
  ++stats_.decoded;
  int64_t ts = f->best_effort_timestamp;
  if (ts != AV_NOPTS_VALUE && time_base_.num > 0 && time_base_.den > 0) {
    if (start_pts_ != AV_NOPTS_VALUE) ts -= start_pts_;
    *pts_us = av_rescale_q(ts, time_base_, AVRational{1, 1000000});
  } else if (info_.fps > 0) {
    *pts_us = std::llround(static_cast<double>(*index) * 1e6 / info_.fps);
  } else {
    *pts_us = -1;
  }
  av_frame_unref(frame_.get());
  frame_ready_ = false;
}

Status VideoReader::Impl::read(Frame* out) {
  VAS_RETURN_IF_ERROR(decode());
  VAS_RETURN_IF_ERROR(prepare_converter());
  const int w = frame_->width;
  const int h = frame_->height;
  const PixelFormat fmt = options_.output_format;
  const size_t luma = static_cast<size_t>(w) * h;
  const size_t need = fmt == PixelFormat::kNV12 ? luma + luma / 2 : luma * 3;
  if (need > buffer_size_) {
    buffer_.reset(static_cast<uint8_t*>(av_malloc(need)));
    buffer_size_ = buffer_ ? need : 0;
    if (!buffer_) {
      return Status(StatusCode::kOutOfMemory, "video_reader '" + name_ + "': cannot allocate " +
                                                  std::to_string(need) + " bytes for a frame");
    }
  }
  uint8_t* dst[4] = {buffer_.get(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {w * 3, 0, 0, 0};
  if (fmt == PixelFormat::kNV12) {
    dst[1] = buffer_.get() + luma;
    dst_stride[0] = w;
    dst_stride[1] = w;  // interleaved U and V at half resolution: w bytes per row
  }
  ImageView& img = out->image;
  img = ImageView();
  img.format = fmt;
  img.width = w;
  img.height = h;
  for (int p = 0; p < 2; ++p) {
    img.planes[p] = dst[p];
    img.strides[p] = dst_stride[p];
  }
  convert(dst, dst_stride, &out->index, &out->pts_us, &out->damaged);
  img.damaged = out->damaged;
  return Status::ok();
}

Status VideoReader::Impl::read(Pool& pool, VideoFrame* out) {
  VAS_RETURN_IF_ERROR(decode());
  VAS_RETURN_IF_ERROR(prepare_converter());
  // On failure (typically kPoolExhausted) frame_ stays ready for the next call.
  Result<PooledImage> image =
      PooledImage::allocate(pool, options_.output_format, frame_->width, frame_->height);
  if (!image.is_ok()) return image.status().with_context("video_reader '" + name_ + "'");
  VideoFrame frame = VideoFrame::from_pooled(std::move(image).value());
  uint8_t* dst[4] = {nullptr, nullptr, nullptr, nullptr};
  int dst_stride[4] = {0, 0, 0, 0};
  for (int p = 0; p < plane_count(frame.view.format); ++p) {
    dst[p] = const_cast<uint8_t*>(frame.view.planes[p]);
    dst_stride[p] = frame.view.strides[p];
  }
  convert(dst, dst_stride, &frame.index, &frame.pts_us, &frame.view.damaged);
  frame.capture_us = wall_clock_us();
  frame.ts_us = frame.pts_us;
  *out = std::move(frame);
  return Status::ok();
}

Result<std::unique_ptr<VideoReader>> VideoReader::open(const std::string& url,
                                                       const VideoReaderOptions& options) {
  route_ffmpeg_logs();
  if (url.empty()) return invalid_argument("video_reader: url is empty");
  if (url.find('\0') != std::string::npos) {
    return invalid_argument("video_reader: url contains a NUL byte");
  }
  const PixelFormat f = options.output_format;
  if (f != PixelFormat::kBGR24 && f != PixelFormat::kRGB24 && f != PixelFormat::kNV12) {
    return invalid_argument(std::string("video_reader: output_format must be BGR24, RGB24 or "
                                        "NV12, got ") +
                            pixel_format_name(f));
  }
  if (options.threads < 0) {
    return invalid_argument("video_reader: threads must be >= 0, got " +
                            std::to_string(options.threads));
  }
  auto impl = std::make_unique<Impl>(url, options);
  VAS_RETURN_IF_ERROR(impl->open());
  return std::unique_ptr<VideoReader>(new VideoReader(std::move(impl)));
}

VideoReader::VideoReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return impl_->info(); }

Status VideoReader::read(Frame* out) {
  if (out == nullptr) return invalid_argument("video_reader: read() needs a Frame, got NULL");
  return impl_->read(out);
}

Status VideoReader::read(Pool& pool, VideoFrame* out) {
  if (out == nullptr) return invalid_argument("video_reader: read() needs a VideoFrame, got NULL");
  return impl_->read(pool, out);
}

int64_t VideoReader::skipped_packets() const { return impl_->skipped_packets(); }
VideoReaderStats VideoReader::stats() const { return impl_->stats(); }

}  // namespace vas
