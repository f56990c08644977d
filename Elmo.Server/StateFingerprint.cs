using System.Buffers.Binary;
using System.Security.Cryptography;
using Elmo.Core;

namespace Elmo.Server;

/// <summary>A short, stable name for a warm state's values.</summary>
internal static class StateFingerprint
{
    /// <summary>
    /// The first 16 hex digits of the SHA-256 of the state's float32 values, little-endian: for each LSTM layer and
    /// direction (forward, then backward) of row 0, h then c.
    /// </summary>
    public static string Of(LstmState state)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int layer = 0; layer < state.Options.Layers; layer++)
        {
            for (int direction = 0; direction < 2; direction++)
            {
                Append(hash, state.GetHidden(0, layer, direction));
                Append(hash, state.GetCell(0, layer, direction));
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private static void Append(IncrementalHash hash, float[] values)
    {
        var bytes = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        hash.AppendData(bytes);
    }
}
