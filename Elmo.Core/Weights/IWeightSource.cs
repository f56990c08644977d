using Elmo.Kernels.Gemm;

namespace Elmo.Core;

/// <summary>Somewhere bilm-tf datasets can be read from by name, with their shape checked.</summary>
internal interface IWeightSource
{
    /// <summary>Reads dataset <paramref name="name"/>, which must have exactly <paramref name="shape"/>, into <paramref name="destination"/>.</summary>
    void ReadInto(string name, int[] shape, Span<float> destination);

    /// <summary>Reads a dataset into a new array.</summary>
    float[] Read(string name, int[] shape)
    {
        var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
        ReadInto(name, shape, data);
        return data;
    }

    /// <summary>Reads a dataset viewed as a <paramref name="rows"/> × <paramref name="columns"/> matrix and packs it for the GEMM.</summary>
    PackedMatrix ReadPacked(string name, int[] shape, int rows, int columns) => new(Read(name, shape), rows, columns);
}
