using System.Globalization;
using System.IO.Hashing;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Elmo.Kernels.Gemm;

namespace Elmo.Core;

/// <summary>
/// What a run of <c>elmo embed</c> computes, recorded in every part of a split run and in every checkpoint: the input
/// (size and hash of its bytes, sentences), the model (a hash of its options and weights), the settings that change
/// the values or the layout, and the tool's version. Two parts merge, and a checkpoint resumes, only when these agree.
/// </summary>
/// <param name="Input">The input's fingerprint: <c>BYTES bytes, siphash128 HASH</c>.</param>
/// <param name="Sentences">Sentences in the whole input.</param>
/// <param name="Model">The model's fingerprint.</param>
/// <param name="Settings">The settings, as one canonical line.</param>
/// <param name="Version">The tool's version (without build metadata).</param>
internal sealed record RunIdentity(string Input, long Sentences, string Model, string Settings, string Version)
{
    private static readonly ConditionalWeakTable<ElmoModel, string> ModelFingerprints = new();

    /// <summary>The version of Elmo.Core that writes parts and checkpoints.</summary>
    public static string ToolVersion { get; } = (typeof(RunIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0").Split('+')[0];

    /// <summary>The identity of the run <paramref name="settings"/> describe over an input of this fingerprint.</summary>
    /// <param name="model">The model.</param>
    /// <param name="input">The input.</param>
    /// <param name="settings">The settings.</param>
    /// <param name="fingerprint">The input's fingerprint.</param>
    /// <param name="sentences">Sentences in the whole input.</param>
    /// <param name="warmState">The warm state the session starts from (warm mode).</param>
    /// <returns>The identity.</returns>
    public static RunIdentity Of(ElmoModel model, CorpusInput input, EmbedSettings settings, InputFingerprint fingerprint, long sentences, LstmState? warmState) =>
        new(fingerprint.ToString(), sentences, ModelFingerprint(model), SettingsText(input, settings, warmState), ToolVersion);

    /// <summary>
    /// A hash of the model: its options and its weight file's bytes, or, for a model built in memory (the demo), its
    /// options and its unpacked weights (character embedding and biases); and the weights' precision when not float32.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <returns><c>xxh128 HEX</c>.</returns>
    public static string ModelFingerprint(ElmoModel model) => ModelFingerprints.GetValue(model, m =>
    {
        var hash = new XxHash128();
        Section(hash, Encoding.UTF8.GetBytes(m.Options.ToJson()));
        if (m.WeightsPath is string path)
        {
            using var weights = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            hash.Append(BitConverter.GetBytes(weights.Length));
            var buffer = new byte[1 << 20];
            for (int n; (n = weights.Read(buffer)) > 0;) hash.Append(buffer.AsSpan(0, n));
        }
        else
        {
            var w = m.Weights;
            Section(hash, MemoryMarshal.AsBytes(w.CharEmbedding.AsSpan()));
            foreach (var c in w.Convolutions) Section(hash, MemoryMarshal.AsBytes(c.Bias.AsSpan()));
            foreach (var h in w.Highways) Section(hash, MemoryMarshal.AsBytes(h.Bias.AsSpan()));
            if (w.ProjectionBias is { } pb) Section(hash, MemoryMarshal.AsBytes(pb.AsSpan()));
            foreach (var direction in w.Lstm)
            {
                foreach (var layer in direction) Section(hash, MemoryMarshal.AsBytes(layer.Bias.AsSpan()));
            }
        }
        // The weights' precision in memory (--precision bf16/int8) changes the vectors, not the file.
        string precision = m.Weights.Precision == WeightPrecision.Fp32 ? "" : $", {m.Weights.Precision.ToString().ToLowerInvariant()} weights";
        return "xxh128 " + Convert.ToHexStringLower(hash.GetCurrentHash()) + precision;
    });

    /// <summary>The settings that decide the values and the layout, in one canonical line (batching only where it changes the values: stateful, a layer-normalised mix; warm and stateless results do not depend on it).</summary>
    private static string SettingsText(CorpusInput input, EmbedSettings settings, LstmState? warmState)
    {
        var s = new StringBuilder();
        s.Append(settings.Layout.ToString().ToLowerInvariant());
        if (settings.Mix is { } mix)
        {
            s.Append(CultureInfo.InvariantCulture, $" {string.Join(",", mix.Weights.Select(w => w.ToString("R", CultureInfo.InvariantCulture)))} gamma {mix.Gamma.ToString("R", CultureInfo.InvariantCulture)}");
            // A layer-normalised mix depends on which sentences share a batch.
            if (mix.LayerNorm) s.Append(CultureInfo.InvariantCulture, $" layer-norm batch {settings.BatchSize} {(settings.SortByLength ? "sorted" : "in order")}");
        }
        s.Append(", ").Append(settings.Mode.ToString().ToLowerInvariant());
        // Stateful: each row carries its states to the same row of the next batch, so the batch size decides the values.
        if (settings.Mode == StateMode.Stateful) s.Append(CultureInfo.InvariantCulture, $" batch {settings.BatchSize}");
        if (settings.Mode == StateMode.Warm && warmState is not null)
        {
            var hash = new XxHash128();
            foreach (var a in warmState.Hidden) hash.Append(MemoryMarshal.AsBytes(a.AsSpan()));
            foreach (var a in warmState.Cell) hash.Append(MemoryMarshal.AsBytes(a.AsSpan()));
            s.Append(" (state xxh128 ").Append(Convert.ToHexStringLower(hash.GetCurrentHash())).Append(')');
        }
        s.Append(settings.UseSentenceKeys ? ", sentence keys" : settings.ForgetSentences ? ", index keys, no sentence_to_index" : ", index keys, sentence_to_index");
        s.Append(", input ").Append(input.Format == InputFormat.JsonLines ? "jsonl" : "text");
        if (input.SkipBlank) s.Append(" skipping blank lines");
        return s.ToString();
    }

    private static void Section(XxHash128 hash, ReadOnlySpan<byte> data)
    {
        hash.Append(BitConverter.GetBytes((long)data.Length));
        hash.Append(data);
    }
}
