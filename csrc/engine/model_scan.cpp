#include "engine/model_scan.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <algorithm>
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

constexpr int kModelGraph = 7, kModelMetadata = 14, kEntryKey = 1, kEntryValue = 2, kGraphNode = 1,
              kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12, kNodeOpType = 4,
              kTensorDataType = 2, kTensorName = 8;
// onnx.TensorProto.DataType
constexpr uint64_t kFloat = 1, kUInt16 = 4, kInt16 = 5, kFloat16 = 10;

bool is_quant_op(std::string_view op) {
  return op == "QuantizeLinear" || op == "DequantizeLinear" || op.substr(0, 7) == "QLinear" ||
         op == "ConvInteger" || op == "MatMulInteger" || op == "DynamicQuantizeLinear";
}

std::string str(const Reader& r) {
  return std::string(reinterpret_cast<const char*>(r.p), r.end - r.p);
}

// ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2:
// TensorShapeProto{dim=1: {dim_value=1, dim_param=2}}}}}
OnnxValueInfo value_info(Reader r) {
  OnnxValueInfo v;
  r.for_each([&](int f, int w, Reader sub, uint64_t) {
    if (f == 1 && w == 2) v.name = str(sub);
    if (f != 2 || w != 2) return;
    sub.for_each([&](int tf, int tw, Reader tensor, uint64_t) {
      if (tf != 1 || tw != 2) return;
      tensor.for_each([&](int ef, int ew, Reader shape, uint64_t ev) {
        if (ef == 1 && ew == 0) v.elem_type = static_cast<int>(ev);
        if (ef != 2 || ew != 2) return;
        shape.for_each([&](int df, int dw, Reader dim, uint64_t) {
          if (df != 1 || dw != 2) return;
          int64_t d = -1;
          dim.for_each([&](int vf, int vw, Reader, uint64_t dv) {
            if (vf == 1 && vw == 0) d = static_cast<int64_t>(dv);
          });
          v.dims.push_back(d);
        });
      });
    });
  });
  return v;
}

}  // namespace

OnnxSummary scan_onnx(const void* data, size_t size) {
  OnnxSummary s;
  std::vector<std::string> initializer_names;
  const auto* bytes = static_cast<const uint8_t*>(data);
  Reader model{bytes, bytes + size};
  bool ok = model.for_each([&](int field, int wire, Reader graph, uint64_t) {
    if (field == kModelMetadata && wire == 2) {  // StringStringEntryProto{key=1, value=2}
      std::string key, value;
      graph.for_each([&](int ef, int ew, Reader text, uint64_t) {
        if (ew != 2) return;
        if (ef == kEntryKey) key = str(text);
        if (ef == kEntryValue) value = str(text);
      });
      if (key == kQuantTargetKey) s.quant_target = value;
      return;
    }
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
        item.for_each([&](int tfield, int twire, Reader name, uint64_t v) {
          if (tfield == kTensorName && twire == 2) initializer_names.push_back(str(name));
          if (tfield != kTensorDataType || twire != 0) return;
          if (v == kFloat) ++s.float_initializers;
          if (v == kFloat16) ++s.half_initializers;
          if (v == kUInt16 || v == kInt16) s.has_16bit_quant = true;
        });
      } else if (gfield == kGraphInput) {
        s.inputs.push_back(value_info(item));
      } else if (gfield == kGraphOutput) {
        s.outputs.push_back(value_info(item));
      }
    });
  });
  s.parsed = ok;
  s.inputs.erase(std::remove_if(s.inputs.begin(), s.inputs.end(),
                                [&](const OnnxValueInfo& v) {
                                  return std::find(initializer_names.begin(),
                                                   initializer_names.end(),
                                                   v.name) != initializer_names.end();
                                }),
                 s.inputs.end());
  return s;
}

std::string precision_of(const OnnxSummary& s) {
  if (s.has_quant_ops) return s.has_16bit_quant ? "w8a16" : "int8";
  if (s.half_initializers > s.float_initializers) return "fp16";
  return "fp32";
}

std::string int8_cpu_risk(const std::string& model, const OnnxSummary& s, bool cpu_has_vnni) {
  if (cpu_has_vnni || !s.has_quant_ops || s.has_16bit_quant || s.quant_target.empty() ||
      s.quant_target == "portable") {
    return {};
  }
  return "model '" + model + "' was quantized for target '" + s.quant_target +
         "' (full 8-bit weights), but this CPU has no VNNI: ONNX Runtime's u8s8 kernels "
         "saturate 16-bit sums here and detections may change; re-quantize with --target "
         "portable";
}

bool cpu_has_int8_vnni() {
#if defined(__x86_64__) || defined(__i386__)
  // AVX-VNNI is CPUID.(EAX=7,ECX=1):EAX[4]; clang 14 has no __builtin_cpu_supports name for it.
  static const bool vnni = [] {
    if (__builtin_cpu_supports("avx512vnni")) return true;
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4)) != 0 &&
           __builtin_cpu_supports("avx2");
  }();
  return vnni;
#else
  return true;
#endif
}

}  // namespace vas
