// Reads what an engine needs to know about an ONNX file without a protobuf library: the op
// types of the main graph and the element types of its initializers. Used to report a model's
// precision (fp32, fp16, int8 QDQ, w8a16) independently of the backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vas {

// A graph input or output as declared in the file. elem_type is onnx.TensorProto.DataType;
// dims < 0 are symbolic or unknown.
struct OnnxValueInfo {
  std::string name;
  int elem_type = 0;
  std::vector<int64_t> dims;
};

struct OnnxSummary {
  bool parsed = false;
  std::vector<OnnxValueInfo> inputs;  // excluding initializers listed as inputs (old IR files)
  std::vector<OnnxValueInfo> outputs;
  bool has_quant_ops = false;    // QuantizeLinear/DequantizeLinear/QLinear*/…Integer
  bool has_16bit_quant = false;  // int16/uint16 zero points (w8a16)
  size_t float_initializers = 0;
  size_t half_initializers = 0;
  // metadata_props "vasdk.quant_target" written by `vasdk model quantize` (portable, vnni,
  // arm64); empty for other files.
  std::string quant_target;
};

OnnxSummary scan_onnx(const void* data, size_t size);

// "int8", "w8a16", "fp16" or "fp32".
std::string precision_of(const OnnxSummary& s);

// Metadata key that records which CPUs a quantized model was made for.
constexpr const char* kQuantTargetKey = "vasdk.quant_target";

// Empty when the model runs as accurately on this CPU as where it was made; otherwise a warning
// that names the risk. Full 8-bit weights (targets vnni and arm64) overflow the 16-bit pair sums
// of x86's u8s8 integer kernels on CPUs without VNNI, which changes detections.
std::string int8_cpu_risk(const std::string& model, const OnnxSummary& s, bool cpu_has_vnni);

// AVX-512 VNNI or AVX-VNNI on x86; true elsewhere (ARM64 accumulates int8 products in 32 bits).
bool cpu_has_int8_vnni();

}  // namespace vas
