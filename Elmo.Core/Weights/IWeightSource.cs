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

    /// <summary>Whether <see cref="ReadRows"/> reads only the rows asked for (else it reads the whole dataset each time).</summary>
    bool CanReadRows => false;

    /// <summary>
    /// Reads rows <paramref name="row0"/>… of the 2-D dataset <paramref name="name"/> (which must have exactly
    /// <paramref name="shape"/>) into <paramref name="destination"/>, which holds a whole number of rows.
    /// </summary>
    void ReadRows(string name, int[] shape, int row0, Span<float> destination) =>
        Read(name, shape).AsSpan(row0 * shape[1], destination.Length).CopyTo(destination);
}
