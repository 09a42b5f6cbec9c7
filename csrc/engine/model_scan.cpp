#include "engine/model_scan.h"

#include <cstdint>
#include <string_view>

namespace vas {
namespace {

// Minimal protobuf wire-format reader: varints and length-delimited fields only, which is
// all ModelProto -> GraphProto -> NodeProto.op_type / TensorProto.data_type needs.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;

  bool varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
      const uint8_t b = *p++;
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }

  // Calls fn(field, wire_type, sub_reader_or_value) for each field; false on malformed input.
  template <typename Fn>
  bool for_each(Fn&& fn) {
    while (p < end) {
      uint64_t key = 0, v = 0;
      if (!varint(&key)) return false;
      const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
      switch (wire) {
        case 0:
          if (!varint(&v)) return false;
          fn(field, wire, Reader{nullptr, nullptr}, v);
          break;
        case 1:
          if (end - p < 8) return false;
          p += 8;
          break;
        case 2: {
          if (!varint(&v) || v > static_cast<uint64_t>(end - p)) return false;
          fn(field, wire, Reader{p, p + v}, v);
          p += v;
          break;
        }
        case 5:
          if (end - p < 4) return false;
          p += 4;
          break;
        default:
          return false;
      }
    }
    return true;
  }
};

constexpr int kModelGraph = 7, kGraphNode = 1, kGraphInitializer = 5, kNodeOpType = 4,
              kTensorDataType = 2;
// onnx.TensorProto.DataType
constexpr uint64_t kFloat = 1, kUInt16 = 4, kInt16 = 5, kFloat16 = 10;

bool is_quant_op(std::string_view op) {
  return op == "QuantizeLinear" || op == "DequantizeLinear" || op.substr(0, 7) == "QLinear" ||
         op == "ConvInteger" || op == "MatMulInteger" || op == "DynamicQuantizeLinear";
}

}  // namespace

OnnxSummary scan_onnx(const void* data, size_t size) {
  OnnxSummary s;
  const auto* bytes = static_cast<const uint8_t*>(data);
  Reader model{bytes, bytes + size};
  bool ok = model.for_each([&](int field, int wire, Reader graph, uint64_t) {
    if (field != kModelGraph || wire != 2) return;
    graph.for_each([&](int gfield, int gwire, Reader item, uint64_t) {
      if (gwire != 2) return;
      if (gfield == kGraphNode) {
        item.for_each([&](int nfield, int nwire, Reader str, uint64_t) {
          if (nfield == kNodeOpType && nwire == 2) {
            std::string_view op(reinterpret_cast<const char*>(str.p), str.end - str.p);
            s.has_quant_ops |= is_quant_op(op);
          }
        });
      } else if (gfield == kGraphInitializer) {
        item.for_each([&](int tfield, int twire, Reader, uint64_t v) {
          if (tfield != kTensorDataType || twire != 0) return;
          if (v == kFloat) ++s.float_initializers;
          if (v == kFloat16) ++s.half_initializers;
          if (v == kUInt16 || v == kInt16) s.has_16bit_quant = true;
        });
      }
    });
  });
  s.parsed = ok;
  return s;
}

std::string precision_of(const OnnxSummary& s) {
  if (s.has_quant_ops) return s.has_16bit_quant ? "w8a16" : "int8";
  if (s.half_initializers > s.float_initializers) return "fp16";
  return "fp32";
}

}  // namespace vas
