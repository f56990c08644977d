using System.IO.Hashing;
using System.Text;

namespace Elmo.Core;

/// <summary>
/// Keeps the built-in warm state of a model on disk, so that a process embedding a few sentences in warm mode does
/// not first run the whole warm-up text through the biLM (for the original model, several seconds at batch size 1).
/// The state is stored as <c>DIRECTORY/warm/&lt;key&gt;.hdf5</c> (<see cref="WarmStart.Save"/>'s format), the key
/// covering the architecture, the built-in warm-up text, the engine's arithmetic and every byte of the weight file (XXH128, a fast
/// non-cryptographic hash: about 0.1 s for the 374 MB original weights once they are in the page cache, small next to
/// loading them), so a weight file edited in place, even at the same size, gets a new entry. A loaded state is the
/// saved float32 values exactly. The key is a cache key, not a security check.
/// </summary>
public static class WarmStateCache
{
    /// <summary>
    /// Names the engine's arithmetic (the order and grouping of its float32 operations), part of the key: change it when
    /// the biLM's results change in their last bits, so that states cached by the previous version are not reused.
    /// Issue 16: matrix products summed in blocks of 128, the LSTM bias added after the products (docs/accuracy.md).
    /// </summary>
    private const string Arithmetic = "arithmetic=2: sum blocks of 128, LSTM bias last";

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
        var hash = new XxHash128();
        AppendSection(hash, Encoding.UTF8.GetBytes(model.Options.ToJson()));
        AppendSection(hash, Encoding.UTF8.GetBytes(string.Join("\n", WarmStart.BuiltInText)));
        // The engine's order of float32 operations: a state saved by an engine that rounded differently is stale.
        AppendSection(hash, Encoding.UTF8.GetBytes(Arithmetic));
        // A reduced-precision model has its own warm state.
        if (model.Weights.Precision != Elmo.Kernels.Gemm.WeightPrecision.Fp32) AppendSection(hash, Encoding.UTF8.GetBytes("precision=" + model.Weights.Precision));
        using (var weights = new FileStream(weightsPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan))
        {
            hash.Append(BitConverter.GetBytes(weights.Length));
            var buffer = new byte[1 << 20];
            for (int n; (n = weights.Read(buffer)) > 0;) hash.Append(buffer.AsSpan(0, n));
        }
        return Path.Combine(directory, "warm", Convert.ToHexStringLower(hash.GetCurrentHash()) + ".hdf5");
    }

    /// <summary>Appends a length-prefixed section, so that the boundaries between the parts hashed are part of the key.</summary>
    private static void AppendSection(XxHash128 hash, ReadOnlySpan<byte> data)
    {
        hash.Append(BitConverter.GetBytes((long)data.Length));
        hash.Append(data);
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
