// Reads what an engine needs to know about an ONNX file without a protobuf library: the op
// types of the main graph and the element types of its initializers. Used to report a model's
// precision (fp32, fp16, int8 QDQ, w8a16) independently of the backend.
#pragma once

#include <cstddef>
#include <string>

namespace vas {

struct OnnxSummary {
  bool parsed = false;
  bool has_quant_ops = false;    // QuantizeLinear/DequantizeLinear/QLinear*/…Integer
  bool has_16bit_quant = false;  // int16/uint16 zero points (w8a16)
  size_t float_initializers = 0;
  size_t half_initializers = 0;
};

OnnxSummary scan_onnx(const void* data, size_t size);

// "int8", "w8a16", "fp16" or "fp32".
std::string precision_of(const OnnxSummary& s);

}  // namespace vas
