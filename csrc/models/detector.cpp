#include "models/detector.h"

#include <algorithm>
#include <fstream>

#include "core/config_reader.h"
#include "core/cpu_time.h"

namespace vas {
namespace {

std::string default_card_path(const std::string& model_path) {
  const auto slash = model_path.rfind('/');
  const auto dot = model_path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return model_path + ".json";
  }
  return model_path.substr(0, dot) + ".json";
}

}  // namespace

Result<DetectorOptions> parse_detector_options(const std::string& json_text) {
  DetectorOptions o;
  if (json_text.empty()) return o;
  VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(json_text, "detector option string"));
  ConfigObject r(doc, "", "");
  EngineOptions& e = o.engine;
  r.opt("backend", &e.backend);
  r.opt("ort_library", &e.library_path);
  // Upper bounds keep a typo from asking for absurd threads or tensor sizes.
  r.opt("threads", &e.threads, in_range(0, 256));
  r.opt("spinning", &e.spinning);
  r.opt("optimization", &e.optimization);
  r.opt("providers", &e.providers);
  r.opt("warmup_runs", &e.warmup_runs, in_range(0, 1000));
  o.memory_pattern_set = r.opt("memory_pattern", &e.memory_pattern);
  r.opt("arena", &e.arena);
  // OpenVINO backend ("backend": "openvino"); values are checked when the engine is created.
  r.opt("openvino_library", &e.openvino_library);
  r.opt("precision_hint", &e.precision_hint);
  r.opt("performance_hint", &e.performance_hint);
  r.opt("streams", &e.streams, in_range(0, 256));
  r.opt("infer_requests", &e.infer_requests, in_range(0, 256));
  r.opt("card", &o.card_path);
  r.opt("key_file", &o.key.file);
  r.opt("key_env", &o.key.env);
  r.opt("input_width", &o.input_width, in_range(0, 16384));
  r.opt("input_height", &o.input_height, in_range(0, 16384));
  r.opt("score_threshold", &o.score_threshold, at_most(1));  // < 0: the card's
  r.opt("nms_iou", &o.nms_iou, at_most(1));
  r.opt("classes", &o.classes);
  r.opt("class_agnostic_nms", &o.class_agnostic_nms);
  r.opt("max_detections", &o.max_detections, at_least(1));
  VAS_RETURN_IF_ERROR(r.finish().with_context("detector options"));
  return o;
}

Result<std::unique_ptr<Detector>> Detector::create(const std::string& model_path,
                                                   const DetectorOptions& options) {
  if (!std::ifstream(model_path).good()) {
    return not_found("model file '" + model_path + "' does not exist or cannot be read");
  }
  std::unique_ptr<Detector> d(new Detector());
  d->options_ = options;
  // A pack holds the model and its card; an encrypted one is decrypted in memory only, and its
  // plain bytes are wiped once the engine has read them.
  OpenedPack pack;
  const bool packed = is_model_pack(model_path);
  if (packed) {
    if (!options.card_path.empty()) {
      return invalid_config("detector option 'card': model pack '" + model_path +
                            "' holds its own card");
    }
    VAS_ASSIGN_OR_RETURN(pack, open_model_pack(model_path, options.key));
    VAS_ASSIGN_OR_RETURN(d->card_,
                         parse_model_card(pack.card_json, "model pack '" + model_path + "' card"));
  } else {
    const std::string card_path =
        options.card_path.empty() ? default_card_path(model_path) : options.card_path;
    VAS_ASSIGN_OR_RETURN(d->card_, load_model_card(card_path));
  }
  d->spec_ = d->card_.preprocess;
  if (options.input_width > 0) d->spec_.width = options.input_width;
  if (options.input_height > 0) d->spec_.height = options.input_height;
  if (options.score_threshold >= 0) d->card_.score_threshold = options.score_threshold;
  if (options.nms_iou >= 0) d->card_.nms_iou = options.nms_iou;

  const size_t num_classes = d->card_.classes.size();
  d->class_enabled_.assign(num_classes, options.classes.empty());
  for (const auto& name : options.classes) {
    auto it = std::find(d->card_.classes.begin(), d->card_.classes.end(), name);
    if (it == d->card_.classes.end()) {
      return invalid_config("detector option 'classes': model '" + d->card_.name +
                            "' has no class '" + name + "'");
    }
    d->class_enabled_[it - d->card_.classes.begin()] = true;
  }

  EngineOptions engine_options = options.engine;
  // "auto" times the backends at the size this detector will run.
  engine_options.probe_shapes = {{1, 3, d->spec_.height, d->spec_.width}};
  auto engine = packed ? create_engine_from_memory(pack.model.data(), pack.model.size(), model_path,
                                                   engine_options)
                       : create_engine(model_path, engine_options);
  pack.model.reset();
  if (!engine.is_ok()) return engine.status();
  d->engine_ = std::move(engine).value();
  const auto& ins = d->engine_->inputs();
  if (ins.size() != 1 || ins[0].name != d->card_.input_name || ins[0].shape.size() != 4) {
    return invalid_model("model '" + model_path + "' must have one 4-D input named '" +
                         d->card_.input_name + "' as its card says");
  }
  if (ins[0].dtype != DataType::kFloat32) {
    return unsupported("model '" + model_path + "' input is " + data_type_name(ins[0].dtype) +
                       "; only float32 inputs are supported");
  }
  // A fixed-shape model pins the input size.
  const auto& shape = ins[0].shape;
  if ((shape[2] > 0 && shape[2] != d->spec_.height) ||
      (shape[3] > 0 && shape[3] != d->spec_.width)) {
    return invalid_config("model '" + model_path + "' has fixed input " + shape_to_string(shape) +
                          ", which does not match the requested " + std::to_string(d->spec_.width) +
                          "x" + std::to_string(d->spec_.height));
  }
  VAS_ASSIGN_OR_RETURN(d->decoder_, make_decoder(d->card_));
  VAS_RETURN_IF_ERROR(d->decoder_->bind(d->engine_->outputs()));
  d->batch_dim_ = shape[0];
  return d;
}

Result<std::unique_ptr<Detector>> Detector::share() const {
  std::unique_ptr<Detector> d(new Detector());
  d->card_ = card_;
  d->options_ = options_;
  d->spec_ = spec_;
  d->engine_ = engine_;
  d->class_enabled_ = class_enabled_;
  d->batch_dim_ = batch_dim_;
  VAS_ASSIGN_OR_RETURN(d->decoder_, make_decoder(d->card_));
  VAS_RETURN_IF_ERROR(d->decoder_->bind(d->engine_->outputs()));
  return d;
}

Status Detector::detect(const ImageView& image, std::vector<Detection>* out) {
  if (out == nullptr) return invalid_argument("detect: output is NULL");
  return run_chunk(&image, 1, out);
}

Status Detector::detect_batch(const std::vector<ImageView>& images,
                              std::vector<std::vector<Detection>>* out) {
  if (out == nullptr) return invalid_argument("detect_batch: output is NULL");
  if (images.empty()) return invalid_argument("detect_batch: no images");
  out->resize(images.size());
  // A fixed batch dimension sets the chunk size (partial chunks are padded); a dynamic one
  // takes the whole list at once.
  const size_t chunk = batch_dim_ > 0 ? static_cast<size_t>(batch_dim_) : images.size();
  for (size_t start = 0; start < images.size(); start += chunk) {
    const size_t n = std::min(chunk, images.size() - start);
    VAS_RETURN_IF_ERROR(run_chunk(&images[start], n, &(*out)[start]));
  }
  return Status::ok();
}

Status Detector::run_chunk(const ImageView* images, size_t n, std::vector<Detection>* outs) {
  const int64_t batch = batch_dim_ > 0 ? batch_dim_ : static_cast<int64_t>(n);
  const size_t item_floats = static_cast<size_t>(3) * spec_.width * spec_.height;
  uint64_t t0 = thread_cpu_ns();
  input_.reshape(DataType::kFloat32, {batch, 3, spec_.height, spec_.width});
  transforms_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Status st =
        preprocessor_.run(images[i], spec_, input_.as<float>() + i * item_floats, &transforms_[i]);
    if (!st.is_ok()) return n > 1 ? st.with_context("image " + std::to_string(i)) : st;
  }
  // Padding items of a fixed-size batch are zeros; their outputs are ignored.
  std::fill(input_.as<float>() + n * item_floats, input_.as<float>() + batch * item_floats, 0.0f);
  // Reused view: its shape vector keeps its capacity, so no allocation per frame.
  input_views_.resize(1);
  input_views_[0].data = input_.data();
  input_views_[0].dtype = input_.dtype();
  input_views_[0].shape = input_.shape();
  uint64_t t1 = thread_cpu_ns();
  cpu_.preprocess += t1 - t0;
  const Status ran = engine_->run(input_views_, &outputs_);
  t0 = thread_cpu_ns();
  cpu_.inference += t0 - t1;
  VAS_RETURN_IF_ERROR(ran);
  DecodeContext ctx;
  ctx.input_width = spec_.width;
  ctx.input_height = spec_.height;
  ctx.score_threshold = card_.score_threshold;
  ctx.class_enabled = &class_enabled_;
  for (size_t i = 0; i < n; ++i) {
    std::vector<Detection>& out = outs[i];
    out.clear();
    VAS_RETURN_IF_ERROR(decoder_->decode(outputs_, static_cast<int>(i), ctx, &out));
    // NMS in network-input space, before clipping, as the reference decoders do.
    nms(&out, card_.nms_iou, !options_.class_agnostic_nms,
        static_cast<size_t>(options_.max_detections));
    const BoxTransform& tf = transforms_[i];
    const float w = static_cast<float>(images[i].width), h = static_cast<float>(images[i].height);
    for (Detection& d : out) {
      d.x1 = std::clamp(tf.to_src_x(d.x1), 0.0f, w);
      d.x2 = std::clamp(tf.to_src_x(d.x2), 0.0f, w);
      d.y1 = std::clamp(tf.to_src_y(d.y1), 0.0f, h);
      d.y2 = std::clamp(tf.to_src_y(d.y2), 0.0f, h);
      for (int j = 0; j < d.num_landmarks; ++j) {
        d.landmarks[2 * j] = tf.to_src_x(d.landmarks[2 * j]);
        d.landmarks[2 * j + 1] = tf.to_src_y(d.landmarks[2 * j + 1]);
      }
    }
  }
  cpu_.postprocess += thread_cpu_ns() - t0;
  return Status::ok();
}

}  // namespace vas
