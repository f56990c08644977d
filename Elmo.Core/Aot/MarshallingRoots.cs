using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Elmo.Core;

/// <summary>
/// Native AOT: PureHDF sizes the HDF5 integer types it writes (a variable-length string's bytes, integer datasets)
/// with <see cref="Marshal.SizeOf(Type)"/>, which an AOT binary answers only for types whose marshalling data was
/// compiled in. The compiler compiles it in for every type it sees passed to <c>Marshal.SizeOf</c> as a constant,
/// so <see cref="Sizes"/> names them; <c>Elmo.Core.rd.xml</c> roots it (nothing calls it).
/// </summary>
internal static class MarshallingRoots
{
    /// <summary>The sizes of the primitive types PureHDF may size (1, 1, 2, 2, 4, 4, 8, 8, 2, 4, 8 bytes).</summary>
    /// <returns>Their sizes in bytes, in the order of the summary.</returns>
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Every type is a constant primitive, for which the AOT compiler emits the marshalling data: that is the point of this method.")]
    internal static int[] Sizes() =>
    [
        Marshal.SizeOf(typeof(byte)), Marshal.SizeOf(typeof(sbyte)), Marshal.SizeOf(typeof(ushort)), Marshal.SizeOf(typeof(short)),
        Marshal.SizeOf(typeof(uint)), Marshal.SizeOf(typeof(int)), Marshal.SizeOf(typeof(ulong)), Marshal.SizeOf(typeof(long)),
        Marshal.SizeOf(typeof(Half)), Marshal.SizeOf(typeof(float)), Marshal.SizeOf(typeof(double)),
    ];
}
