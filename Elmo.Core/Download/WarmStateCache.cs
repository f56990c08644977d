using System.Text;

namespace Elmo.Core;

/// <summary>
/// Keeps the built-in warm state of a model on disk, so that a process embedding a few sentences in warm mode does
/// not first run the whole warm-up text through the biLM (for the original model, several seconds at batch size 1).
/// The state is stored as <c>DIRECTORY/warm/&lt;key&gt;.hdf5</c> (<see cref="WarmStart.Save"/>'s format), the key
/// covering the architecture, the built-in warm-up text and a fingerprint of the weight file (its size and the
/// FNV-1a hash of its first and last MiB); a loaded state is the saved float32 values exactly. The key is a cache
/// key, not a security check, so it uses no cryptographic library (loading one costs ~12 MB of resident memory).
/// </summary>
public static class WarmStateCache
{
    private const int FingerprintBytes = 1 << 20;

    /// <summary>The cache file for <paramref name="model"/> loaded from <paramref name="weightsPath"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="weightsPath">The weight file the model was loaded from.</param>
    /// <param name="directory">The cache directory (as <see cref="ModelCache.Directory"/>).</param>
    /// <returns>The path (which may not exist yet).</returns>
    public static string PathFor(ElmoModel model, string weightsPath, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weightsPath);
        ArgumentNullException.ThrowIfNull(directory);
        var hash = new Fingerprint();
        hash.Append(Encoding.UTF8.GetBytes(model.Options.ToJson()));
        hash.Append(Encoding.UTF8.GetBytes(string.Join("\n", WarmStart.BuiltInText)));
        using (var weights = new FileStream(weightsPath, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            hash.Append(BitConverter.GetBytes(weights.Length));
            var buffer = new byte[(int)Math.Min(FingerprintBytes, weights.Length)];
            weights.ReadExactly(buffer);
            hash.Append(buffer);
            weights.Position = weights.Length - buffer.Length;
            weights.ReadExactly(buffer);
            hash.Append(buffer);
        }
        return Path.Combine(directory, "warm", hash.ToHex() + ".hdf5");
    }

    /// <summary>Two 64-bit FNV-1a hashes with different offset bases over the same bytes: a 128-bit cache key.</summary>
    private struct Fingerprint()
    {
        private const ulong Prime = 0x100000001b3;
        private ulong _a = 0xcbf29ce484222325;
        private ulong _b = 0x84222325cbf29ce4;

        public void Append(ReadOnlySpan<byte> data)
        {
            ulong a = _a, b = _b;
            foreach (byte x in data)
            {
                a = (a ^ x) * Prime;
                b = (b ^ x) * Prime;
            }
            (_a, _b) = (a, b);
        }

        public readonly string ToHex() => $"{_a:x16}{_b:x16}";
    }

    /// <summary>
    /// The built-in warm state of <paramref name="model"/>: loaded from the cache when it is there, else computed
    /// (<see cref="ElmoModel.BuiltInWarmState"/>) and saved for next time. A cache that cannot be read or written is
    /// passed over: the state is then computed, never wrong.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="weightsPath">The weight file the model was loaded from.</param>
    /// <param name="directory">The cache directory.</param>
    /// <param name="fromCache">Whether the state came from the cache.</param>
    /// <returns>A one-row state.</returns>
    public static LstmState GetOrCompute(ElmoModel model, string weightsPath, string directory, out bool fromCache)
    {
        string path;
        try
        {
            path = PathFor(model, weightsPath, directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            fromCache = false;
            return model.BuiltInWarmState;
        }
        if (File.Exists(path))
        {
            try
            {
                fromCache = true;
                return WarmStart.Load(path, model.Options.Lstm);
            }
            catch (ElmoException)
            {
                // A damaged entry: computed and saved again below.
            }
        }
        fromCache = false;
        var state = model.BuiltInWarmState;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            WarmStart.Save(state, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ElmoException)
        {
            // Not cached this time; the state itself is right.
        }
        return state;
    }
}
