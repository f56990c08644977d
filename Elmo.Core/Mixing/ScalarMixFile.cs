using System.Text.Json;
using System.Text.Json.Nodes;

namespace Elmo.Core;

/// <summary>
/// Saves and loads the parameters of scalar mixes as a small JSON file:
/// <c>{"format": "elmo-scalar-mix", "version": 1, "mixes": [{"weights": [...], "gamma": g, "layer_norm": b,
/// "trainable": b, "l2_coefficient": c}, ...]}</c>. Floats are written in their shortest round-trip form, so a
/// loaded mix computes exactly what the saved one did. Files are written atomically.
/// </summary>
public static class ScalarMixFile
{
    /// <summary>The value of the <c>format</c> field.</summary>
    public const string Format = "elmo-scalar-mix";

    /// <summary>The version written.</summary>
    public const int Version = 1;

    /// <summary>Writes <paramref name="mixes"/> to <paramref name="path"/> (through a temporary file).</summary>
    /// <param name="path">The file.</param>
    /// <param name="mixes">The mixes, in order.</param>
    /// <exception cref="ElmoOutputException">The file cannot be written.</exception>
    public static void Save(string path, IReadOnlyList<ScalarMix> mixes)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(mixes);
        var array = new JsonArray();
        foreach (var mix in mixes)
        {
            ArgumentNullException.ThrowIfNull(mix, nameof(mixes));
            array.Add((JsonNode)new JsonObject
            {
                ["weights"] = new JsonArray(mix.Weights.Select(w => (JsonNode)JsonValue.Create(w)).ToArray()),
                ["gamma"] = mix.Gamma,
                ["layer_norm"] = mix.LayerNorm,
                ["trainable"] = mix.Trainable,
                ["l2_coefficient"] = mix.L2Coefficient,
            });
        }
        var root = new JsonObject { ["format"] = Format, ["version"] = Version, ["mixes"] = array };
        string text = root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        AtomicFile.Write(path, tmp => File.WriteAllText(tmp, text));
    }

    /// <summary>Reads the mixes saved by <see cref="Save"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The mixes, in order.</returns>
    /// <exception cref="ElmoWeightsException">The file is missing, not JSON, or a field is missing or invalid (named in <see cref="ElmoWeightsException.Dataset"/>).</exception>
    public static IReadOnlyList<ScalarMix> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Error(path, null, $"cannot be read: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw Error(path, null, $"is not valid JSON: {e.Message}", e);
        }

        if (root is not JsonObject obj) throw Error(path, null, "must hold a JSON object.");
        if (Get<string>(path, obj, "format", "format") != Format) throw Error(path, "format", $"must be \"{Format}\".");
        int version = Get<int>(path, obj, "version", "version");
        if (version != Version) throw Error(path, "version", $"is {version}; this library reads version {Version}.");
        if (obj["mixes"] is not JsonArray mixes) throw Error(path, "mixes", "must be an array.");

        var result = new List<ScalarMix>();
        for (int k = 0; k < mixes.Count; k++)
        {
            string at = $"mixes[{k}]";
            if (mixes[k] is not JsonObject m) throw Error(path, at, "must be an object.");
            if (m["weights"] is not JsonArray w || w.Count == 0) throw Error(path, at + ".weights", "must be a non-empty array of numbers.");
            var weights = new float[w.Count];
            for (int l = 0; l < w.Count; l++)
            {
                weights[l] = Get<float>(path, w[l], at + $".weights[{l}]");
                if (!float.IsFinite(weights[l])) throw Error(path, at + $".weights[{l}]", "must be finite.");
            }
            float gamma = Get<float>(path, m["gamma"], at + ".gamma");
            if (!float.IsFinite(gamma)) throw Error(path, at + ".gamma", "must be finite.");
            float l2 = Get<float>(path, m["l2_coefficient"], at + ".l2_coefficient");
            if (!float.IsFinite(l2) || l2 < 0) throw Error(path, at + ".l2_coefficient", "must be finite and ≥ 0.");
            result.Add(new ScalarMix(
                weights.Length, weights, gamma,
                layerNorm: Get<bool>(path, m["layer_norm"], at + ".layer_norm"),
                trainable: Get<bool>(path, m["trainable"], at + ".trainable"),
                l2Coefficient: l2));
        }
        return result;
    }

    private static T Get<T>(string path, JsonObject obj, string name, string field) => Get<T>(path, obj[name], field);

    private static T Get<T>(string path, JsonNode? node, string field)
    {
        if (node is JsonValue value && value.TryGetValue(out T? v) && v is not null) return v;
        string expected = typeof(T) == typeof(bool) ? "true or false" : typeof(T) == typeof(string) ? "a string" : "a number";
        throw Error(path, field, node is null ? $"is missing (expected {expected})." : $"must be {expected}.");
    }

    private static ElmoWeightsException Error(string path, string? field, string message, Exception? inner = null) =>
        new($"Scalar mix file '{path}': {(field is null ? "the file" : $"field '{field}'")} {message}", inner)
        {
            FilePath = path,
            Dataset = field,
        };
}
