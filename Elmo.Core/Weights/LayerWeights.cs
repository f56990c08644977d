using Elmo.Kernels.Gemm;

namespace Elmo.Core;

/// <summary>One convolution of the character CNN: kernel <c>(width · char_dim) × filters</c>, packed, and its bias.</summary>
internal sealed record ConvolutionWeights(int Width, PackedMatrix Kernel, float[] Bias);

/// <summary>One highway layer: <c>[W_transform | W_carry]</c> packed side by side (<c>F × 2F</c>) and <c>[b_transform | b_carry]</c>.</summary>
internal sealed record HighwayWeights(PackedMatrix TransformAndCarry, float[] Bias);

/// <summary>
/// One LSTM layer of one direction. Gate columns stay in TensorFlow's order <c>[i | j | f | o]</c>;
/// the forget bias of 1.0 that TensorFlow adds at run time is already folded into <see cref="Bias"/>.
/// </summary>
/// <param name="Input">Rows of <c>W_0</c> acting on the layer input (<c>input_dim × 4C</c>).</param>
/// <param name="Recurrent">Rows of <c>W_0</c> acting on the previous output (<c>P × 4C</c>).</param>
/// <param name="Bias">Gate bias (4C), forget block +1.</param>
/// <param name="Projection"><c>W_P_0</c> (<c>C × P</c>).</param>
internal sealed record LstmLayerWeights(PackedMatrix Input, PackedMatrix Recurrent, float[] Bias, PackedMatrix Projection);
