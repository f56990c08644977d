namespace Elmo.Kernels.Gemm;

/// <summary>How a <see cref="PackedMatrix"/> stores its values. Arithmetic is fp32 in every case.</summary>
public enum WeightPrecision
{
    /// <summary>float32: the values as given. The default, and the only exact mode.</summary>
    Fp32 = 0,

    /// <summary>bfloat16 (the upper 16 bits of a float32, rounded to nearest even): half the bytes, ~3 significant
    /// digits. Widened to float32 (exactly) inside the product; accumulation stays float32.</summary>
    Bf16 = 1,

    /// <summary>int8 with one float32 scale per column of B (per output row of the layer's weight matrix, W = B^T):
    /// a quarter of the bytes. Each value is <c>round(v / s) · s</c> with <c>s = max |column| / 127</c>, dequantised to
    /// float32 inside the product; accumulation stays float32.</summary>
    Int8 = 2,
}
