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
};

OnnxSummary scan_onnx(const void* data, size_t size);

// "int8", "w8a16", "fp16" or "fp32".
std::string precision_of(const OnnxSummary& s);

}  // namespace vas
